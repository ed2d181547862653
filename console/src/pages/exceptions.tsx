import { getJson, type PayoutView } from '../api';
import { t } from '../i18n';
import { Section, Show, useAsync } from '../ui';
import { PayoutTable } from './payouts';

/**
 * GET /exceptions: one queue per kind of trouble, each with a count and a first page. Read loosely (an
 * object of queues or a list of them) so the page survives small shape changes of a young route.
 */
export type ExceptionsBody = Record<string, unknown>;

interface Queue {
  readonly kind: string;
  readonly count: number;
  readonly items: readonly PayoutView[];
}

export function queuesOf(body: ExceptionsBody): Queue[] {
  const source: unknown = Array.isArray(body)
    ? body
    : Array.isArray(body.queues)
      ? body.queues
      : body.exceptions && typeof body.exceptions === 'object'
        ? body.exceptions
        : body;
  const entries: [string, unknown][] = Array.isArray(source)
    ? source.map((q, i) => [String((q as { kind?: string }).kind ?? i), q])
    : Object.entries(source as Record<string, unknown>);
  const queues: Queue[] = [];
  for (const [kind, value] of entries) {
    if (!value || typeof value !== 'object') continue;
    const v = value as { count?: unknown; items?: unknown };
    const items = Array.isArray(v.items) ? (v.items as PayoutView[]) : [];
    queues.push({ kind, count: typeof v.count === 'number' ? v.count : items.length, items });
  }
  return queues;
}

export function ExceptionSummary({ body }: { body: ExceptionsBody }) {
  const queues = queuesOf(body);
  if (queues.length === 0) return <p>{t.noItems}</p>;
  return (
    <dl class="facts">
      {queues.map((q) => (
        <>
          <dt key={`${q.kind}-k`}>
            <a href="#/exceptions">{t.queue[q.kind] ?? q.kind}</a>
          </dt>
          <dd key={`${q.kind}-v`} class="num">
            {q.count}
          </dd>
        </>
      ))}
    </dl>
  );
}

export function Exceptions() {
  const value = useAsync(() => getJson<ExceptionsBody>('/exceptions'), []);
  return (
    <>
      <h1>{t.exceptions}</h1>
      <Show value={value}>
        {(body) => {
          const queues = queuesOf(body);
          if (queues.length === 0) return <p>{t.noItems}</p>;
          return queues.map((q) => (
            <Section key={q.kind} title={`${t.queue[q.kind] ?? q.kind} (${q.count})`} id={`q-${q.kind}`}>
              <PayoutTable items={q.items} />
            </Section>
          ));
        }}
      </Show>
    </>
  );
}
