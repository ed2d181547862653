import { useState } from 'preact/hooks';
import { getJson, type PayoutView, postJson, seg } from '../api';
import type { ConsoleConfig } from '../config';
import { statusName, t } from '../i18n';
import { ErrorBox, fmtTime, Section, Show, StatusBadge, useAsync } from '../ui';
import { ReviewActions } from './review';

const VOIDABLE = new Set(['AWAITING_APPROVAL', 'QUEUED', 'AWAITING_FUNDS']);

export function PayoutDetail({ noOrder, config }: { noOrder: string; config: ConsoleConfig }) {
  const [refresh, setRefresh] = useState(false);
  const [tick, setTick] = useState(0);
  const payout = useAsync(
    () => getJson<PayoutView>(`/payouts/${seg(noOrder)}`, refresh ? { refresh: 'true' } : undefined),
    [noOrder, refresh, tick],
  );
  const reload = () => setTick((n) => n + 1);
  return (
    <>
      <p>
        <a href="#/payouts">← {t.back}</a>
      </p>
      <h1>
        {t.payouts} {noOrder}
      </h1>
      <Show value={payout}>
        {(p) => (
          <>
            <p>
              <StatusBadge status={p.status} />{' '}
              <button
                type="button"
                onClick={() => {
                  setRefresh(true);
                  reload();
                }}
              >
                {t.refresh}
              </button>
            </p>
            <div class="cards">
              <Section title={t.payee} id="payee">
                <dl class="facts">
                  <dt>{t.amount}</dt>
                  <dd class="num">{p.money_order}</dd>
                  <dt>{t.payee}</dt>
                  <dd>{p.acct_name_masked}</dd>
                  <dt>{t.card}</dt>
                  <dd>{p.card_no_masked}</dd>
                  {p.batch_id ? (
                    <>
                      <dt>{t.batchId}</dt>
                      <dd>
                        <a href={`#/batches/${seg(p.batch_id)}`}>{p.batch_id}</a>
                      </dd>
                    </>
                  ) : null}
                </dl>
              </Section>
              <Section title={t.providerIds} id="provider">
                <dl class="facts">
                  <dt>{t.oidPaybill}</dt>
                  <dd>{p.oid_paybill ?? '—'}</dd>
                  <dt>{t.resultPay}</dt>
                  <dd>{p.result_pay ?? '—'}</dd>
                  <dt>{t.settleDate}</dt>
                  <dd>{p.settle_date ?? '—'}</dd>
                  <dt>{t.retCode}</dt>
                  <dd>{p.ret_code ? `${p.ret_code} ${p.ret_msg ?? ''}` : '—'}</dd>
                  <dt>{t.memo}</dt>
                  <dd>{p.memo ?? '—'}</dd>
                </dl>
              </Section>
              <Section title={t.people} id="people">
                <dl class="facts">
                  <dt>{t.createdBy}</dt>
                  <dd>{p.created_by ?? '—'}</dd>
                  <dt>{t.approvedBy}</dt>
                  <dd>{p.approved_by ?? '—'}</dd>
                  <dt>{t.deniedBy}</dt>
                  <dd>{p.denied_by ?? '—'}</dd>
                  <dt>{t.voidedBy}</dt>
                  <dd>{p.voided_by ?? '—'}</dd>
                </dl>
              </Section>
            </div>
            {p.status === 'AWAITING_APPROVAL' || VOIDABLE.has(p.status) ? (
              <ReviewActions
                path={`/payouts/${seg(p.no_order)}`}
                id={p.no_order}
                amount={p.money_order}
                confirmMin={config.approvalConfirmMin}
                actions={p.status === 'AWAITING_APPROVAL' ? ['approve', 'deny', 'void'] : ['void']}
                onDone={reload}
              />
            ) : null}
            <Anomalies payout={p} onDone={reload} />
            <Section title={t.history} id="history">
              <ol class="timeline">
                {p.history.map((h, i) => (
                  <li key={i} class={h.anomaly ? 'anomaly' : undefined}>
                    <time dateTime={h.at}>{fmtTime(h.at)}</time>
                    <span>
                      {statusName(h.from)} → <strong>{statusName(h.to)}</strong> ({h.to})
                    </span>
                    <span class="muted">
                      {h.source}
                      {h.ret_code ? ` · ${h.ret_code}` : ''}
                      {h.result_pay ? ` · ${h.result_pay}` : ''}
                      {h.principal ? ` · ${h.principal}` : ''}
                    </span>
                    {h.note ? <span>{h.note}</span> : null}
                    {h.anomaly ? (
                      <span class="flag">
                        ⚠ {t.anomaly}: {h.anomaly}
                      </span>
                    ) : null}
                  </li>
                ))}
              </ol>
            </Section>
          </>
        )}
      </Show>
    </>
  );
}

function Anomalies({ payout, onDone }: { payout: PayoutView; onDone: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const recorded = payout.history.filter((h) => h.anomaly).length;
  const total = payout.anomalies ?? recorded;
  const acknowledged = payout.anomalies_acknowledged ?? 0;
  if (total === 0) return null;
  return (
    <Section title={`${t.anomalies} (${total})`} id="anomalies">
      {acknowledged >= total ? (
        <p role="status">
          {t.acked} ({acknowledged}/{total})
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setError(undefined);
            postJson(`/payouts/${seg(payout.no_order)}/anomalies/ack`, { note }).then(() => {
              setNote('');
              onDone();
            }, setError);
          }}
        >
          <label>
            {t.ackNote}
            <textarea id="ack-note" value={note} required onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={note.trim() === ''}>
            {t.ack}
          </button>
        </form>
      )}
      {error !== undefined ? <ErrorBox error={error} /> : null}
    </Section>
  );
}
