import { getJson, type Page, type PayoutView } from '../api';
import { t } from '../i18n';
import { formatFen, toFen } from '../money';
import { chinaToday, fmtTime, Section, Show, StatusAmounts, useAsync } from '../ui';
import { ExceptionSummary, type ExceptionsBody } from './exceptions';

interface Balance {
  readonly amt_balance?: string | null;
  readonly amt_unsettle?: string | null;
  readonly queried_at?: string | null;
  readonly in_flight_amount?: string;
  readonly waiting_amount?: string;
}

interface Totals {
  readonly rows: readonly { status: string; count: number; fen: number }[];
  readonly count: number;
  readonly fen: number;
  readonly partial: boolean;
}

/** Pages through today's payouts (up to 10 pages of 200) and sums them per status, in fen. */
async function todayTotals(): Promise<Totals> {
  const by = new Map<string, { count: number; fen: number }>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await getJson<Page<PayoutView>>('/payouts', { from: chinaToday(), limit: '200', cursor });
    for (const p of page.items) {
      const row = by.get(p.status) ?? { count: 0, fen: 0 };
      row.count += 1;
      row.fen += toFen(p.money_order) ?? 0;
      by.set(p.status, row);
    }
    cursor = page.next_cursor ?? undefined;
    pages += 1;
  } while (cursor && pages < 10);
  const rows = [...by.entries()].map(([status, v]) => ({ status, ...v }));
  return {
    rows,
    count: rows.reduce((n, r) => n + r.count, 0),
    fen: rows.reduce((n, r) => n + r.fen, 0),
    partial: cursor !== undefined,
  };
}

export function Overview() {
  const totals = useAsync(todayTotals, []);
  const exceptions = useAsync(() => getJson<ExceptionsBody>('/exceptions'), []);
  const balance = useAsync(() => getJson<Balance>('/balance'), []);
  return (
    <>
      <h1>{t.overview}</h1>
      <div class="cards">
        <Section title={t.today} id="today">
          <Show value={totals}>
            {(d) => (
              <StatusAmounts
                rows={d.rows.map((r) => ({ status: r.status, count: r.count, amount: formatFen(r.fen) }))}
                caption={t.today}
                footer={
                  <tr>
                    <th scope="row">
                      {t.total}
                      {d.partial ? ' (≥)' : ''}
                    </th>
                    <td class="num">{d.count}</td>
                    <td class="num">{formatFen(d.fen)}</td>
                  </tr>
                }
              />
            )}
          </Show>
        </Section>
        <Section title={t.balance} id="balance">
          <Show value={balance}>
            {(b) => (
              <dl class="facts">
                <dt>{t.amtBalance}</dt>
                <dd class="num">{b.amt_balance ?? '—'}</dd>
                <dt>{t.amtUnsettle}</dt>
                <dd class="num">{b.amt_unsettle ?? '—'}</dd>
                <dt>{t.inFlight}</dt>
                <dd class="num">{b.in_flight_amount ?? '—'}</dd>
                <dt>{t.waiting}</dt>
                <dd class="num">{b.waiting_amount ?? '—'}</dd>
                <dt>{t.queriedAt}</dt>
                <dd>{fmtTime(b.queried_at)}</dd>
              </dl>
            )}
          </Show>
        </Section>
        <Section title={t.exceptions} id="exc">
          <Show value={exceptions}>{(e) => <ExceptionSummary body={e} />}</Show>
        </Section>
      </div>
    </>
  );
}
