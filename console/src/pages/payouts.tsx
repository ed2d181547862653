import { useState } from 'preact/hooks';
import { download, getJson, type Page, type PayoutView, seg } from '../api';
import { t } from '../i18n';
import { ErrorBox, fmtTime, Show, StatusBadge, useAsync } from '../ui';

export const ALL_STATUSES = [
  'PENDING',
  'ACCEPTED',
  'UNKNOWN',
  'WAITING',
  'PROCESSING',
  'SUCCESS',
  'FAILURE',
  'CANCEL',
  'REJECTED',
  'AWAITING_APPROVAL',
  'DENIED',
  'VOIDED',
  'QUEUED',
  'AWAITING_FUNDS',
] as const;

export function PayoutTable({ items }: { items: readonly PayoutView[] }) {
  if (items.length === 0) return <p>{t.noItems}</p>;
  return (
    <table class="list">
      <thead>
        <tr>
          <th scope="col">{t.noOrder}</th>
          <th scope="col">{t.status}</th>
          <th scope="col">{t.amount}</th>
          <th scope="col">{t.payee}</th>
          <th scope="col">{t.created}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((p) => (
          <tr key={p.no_order}>
            <td>
              <a href={`#/payouts/${seg(p.no_order)}`}>{p.no_order}</a>
            </td>
            <td>
              <StatusBadge status={p.status} />
            </td>
            <td class="num">{p.money_order}</td>
            <td>
              {p.acct_name_masked} · {p.card_no_masked}
            </td>
            <td>{fmtTime(p.created_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface Filters {
  status: string;
  from: string;
  to: string;
  batch_id: string;
}

export function Payouts({ query }: { query: URLSearchParams }) {
  const initial: Filters = {
    status: query.get('status') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    batch_id: query.get('batch_id') ?? '',
  };
  const [form, setForm] = useState<Filters>(initial);
  const [applied, setApplied] = useState<Filters>(initial);
  // The cursors of the pages seen so far: "previous" is not in the contract, so we go back by memory.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [exportError, setExportError] = useState<unknown>(undefined);
  const cursor = cursors[cursors.length - 1];
  const page = useAsync(
    () => getJson<Page<PayoutView>>('/payouts', { ...applied, limit: '50', cursor }),
    [applied, cursor],
  );
  const set = (k: keyof Filters) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <>
      <h1>{t.payouts}</h1>
      <form
        class="filters"
        aria-label={t.filters}
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(form);
          setCursors([undefined]);
        }}
      >
        <label>
          {t.status}
          <select value={form.status} onChange={set('status')}>
            <option value="">{t.any}</option>
            {ALL_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t.from}
          <input type="date" value={form.from} onInput={set('from')} />
        </label>
        <label>
          {t.to}
          <input type="date" value={form.to} onInput={set('to')} />
        </label>
        <label>
          {t.batchId}
          <input value={form.batch_id} onInput={set('batch_id')} pattern="[A-Za-z0-9_-]{1,32}" />
        </label>
        <button type="submit">{t.search}</button>
        <button
          type="button"
          onClick={() => {
            setExportError(undefined);
            download('/payouts/export.csv', 'payouts.csv', { ...applied }).catch(setExportError);
          }}
        >
          {t.export}
        </button>
      </form>
      {exportError !== undefined ? <ErrorBox error={exportError} /> : null}
      <Show value={page}>
        {(p) => (
          <>
            <PayoutTable items={p.items} />
            <nav class="pager" aria-label={t.pages}>
              <button type="button" disabled={cursors.length === 1} onClick={() => setCursors([undefined])}>
                {t.first}
              </button>
              <button
                type="button"
                disabled={!p.next_cursor}
                onClick={() => p.next_cursor && setCursors([...cursors, p.next_cursor])}
              >
                {t.next}
              </button>
            </nav>
          </>
        )}
      </Show>
    </>
  );
}
