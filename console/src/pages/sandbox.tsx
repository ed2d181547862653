import { t } from '../i18n';
import { fmtTime, Section, Show, useAsync } from '../ui';

/** Local mode only: served by the local front (local/console.ts), not by the payout API. */
interface SandboxData {
  readonly scenarios: readonly { name: string; amount: string; retCode: string; description: string }[];
  readonly notifications: readonly {
    no_order: string;
    result_pay: string;
    attempt: number;
    at: string;
    status?: number;
    answer?: string;
    error?: string;
  }[];
}

export function SandboxPage() {
  const data = useAsync(async () => {
    const response = await fetch(`${import.meta.env.BASE_URL}sandbox.json`, { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()) as SandboxData;
  }, []);
  return (
    <>
      <h1>{t.sandbox}</h1>
      <Show value={data}>
        {(d) => (
          <>
            <Section title={t.scenarios} id="scenarios">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t.scenarioAmount}</th>
                    <th scope="col">name</th>
                    <th scope="col">ret_code</th>
                    <th scope="col">{t.description}</th>
                  </tr>
                </thead>
                <tbody>
                  {d.scenarios.map((s) => (
                    <tr key={s.name}>
                      <td class="num">{s.amount}</td>
                      <td>
                        <code>{s.name}</code>
                      </td>
                      <td>{s.retCode}</td>
                      <td>{s.description}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
            <Section title={t.notifications} id="notifications">
              {d.notifications.length === 0 ? (
                <p>{t.noItems}</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t.at}</th>
                      <th scope="col">{t.noOrder}</th>
                      <th scope="col">result_pay</th>
                      <th scope="col">{t.attempt}</th>
                      <th scope="col">{t.answer}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.notifications.map((n) => (
                      <tr key={`${n.no_order}-${n.attempt}-${n.at}`}>
                        <td>{fmtTime(n.at)}</td>
                        <td>
                          <a href={`#/payouts/${encodeURIComponent(n.no_order)}`}>{n.no_order}</a>
                        </td>
                        <td>{n.result_pay}</td>
                        <td class="num">{n.attempt}</td>
                        <td>
                          {n.status ?? ''} {n.answer ?? n.error ?? ''}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Section>
          </>
        )}
      </Show>
    </>
  );
}
