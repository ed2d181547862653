import { getJson, type Page, type PayoutView, seg } from '../api';
import type { ConsoleConfig } from '../config';
import { t } from '../i18n';
import { fmtTime, Show, useAsync } from '../ui';
import { ReviewActions } from './review';

export function Approvals({ config }: { config: ConsoleConfig }) {
  const list = useAsync(
    () => getJson<Page<PayoutView>>('/payouts', { status: 'AWAITING_APPROVAL', limit: '50' }),
    [],
  );
  return (
    <>
      <h1>{t.approvals}</h1>
      <Show value={list}>
        {(p) =>
          p.items.length === 0 ? (
            <p>{t.noneWaiting}</p>
          ) : (
            <ul class="approvals">
              {p.items.map((o) => (
                <li key={o.no_order} class="card" data-no-order={o.no_order}>
                  <h2>
                    <a href={`#/payouts/${seg(o.no_order)}`}>{o.no_order}</a>
                  </h2>
                  <dl class="facts">
                    <dt>{t.amount}</dt>
                    <dd class="num">{o.money_order}</dd>
                    <dt>{t.payee}</dt>
                    <dd>
                      {o.acct_name_masked} · {o.card_no_masked}
                    </dd>
                    <dt>{t.createdBy}</dt>
                    <dd>{o.created_by ?? '—'}</dd>
                    <dt>{t.created}</dt>
                    <dd>{fmtTime(o.created_at)}</dd>
                  </dl>
                  <ReviewActions
                    path={`/payouts/${seg(o.no_order)}`}
                    id={o.no_order}
                    amount={o.money_order}
                    confirmMin={config.approvalConfirmMin}
                    actions={['approve', 'deny']}
                    onDone={list.reload}
                  />
                </li>
              ))}
            </ul>
          )
        }
      </Show>
    </>
  );
}
