import { useState } from 'preact/hooks';
import { postJson } from '../api';
import { t } from '../i18n';
import { sameAmount, toFen } from '../money';
import { ErrorBox } from '../ui';

/**
 * Approve / deny / void for one payout or one batch. At or above the confirmation threshold, approving
 * needs the amount or the id typed again: a large approval is never one stray click.
 */
export function ReviewActions(props: {
  readonly path: string;
  readonly id: string;
  readonly amount: string;
  readonly confirmMin: string;
  readonly actions: readonly ('approve' | 'deny' | 'void')[];
  readonly onDone: () => void;
}) {
  const { path, id, amount, confirmMin, actions, onDone } = props;
  const [reason, setReason] = useState('');
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const large = (toFen(amount) ?? 0) >= (toFen(confirmMin) ?? Number.POSITIVE_INFINITY);
  const confirmed = !large || typed.trim() === id || sameAmount(typed, amount);
  const act = async (action: 'approve' | 'deny' | 'void') => {
    setBusy(true);
    setError(undefined);
    try {
      await postJson(`${path}/${action}`, action === 'approve' ? {} : reason ? { reason } : {});
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const field = `review-${id}`;
  return (
    <div class="review">
      {large && actions.includes('approve') ? (
        <label>
          {t.confirmLarge}
          <input
            id={`${field}-confirm`}
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
            autocomplete="off"
          />
        </label>
      ) : null}
      {actions.some((a) => a !== 'approve') ? (
        <label>
          {t.reason}
          <input id={`${field}-reason`} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
      ) : null}
      <div class="buttons">
        {actions.map((a) => (
          <button
            key={a}
            type="button"
            class={a === 'approve' ? 'primary' : 'danger'}
            disabled={busy || (a === 'approve' && !confirmed) || (a === 'deny' && reason.trim() === '')}
            title={a === 'deny' && reason.trim() === '' ? t.reasonRequired : undefined}
            onClick={() => void act(a)}
          >
            {t[a]}
          </button>
        ))}
      </div>
      {error !== undefined ? <ErrorBox error={error} /> : null}
    </div>
  );
}
