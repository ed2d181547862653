import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { statusName, t } from './i18n';

/** Count and amount per payout status (today's overview, a batch), with an optional footer row. */
export function StatusAmounts({
  rows,
  caption,
  footer,
}: {
  rows: readonly { readonly status: string; readonly count: number; readonly amount: string }[];
  caption?: string;
  footer?: ComponentChildren;
}) {
  return (
    <table>
      {caption ? <caption class="sr-only">{caption}</caption> : null}
      <thead>
        <tr>
          <th scope="col">{t.status}</th>
          <th scope="col">{t.count}</th>
          <th scope="col">{t.amount}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.status}>
            <td>
              <StatusBadge status={r.status} />
            </td>
            <td class="num">{r.count}</td>
            <td class="num">{r.amount}</td>
          </tr>
        ))}
      </tbody>
      {footer ? <tfoot>{footer}</tfoot> : null}
    </table>
  );
}

/** A status as words and code, coloured as a hint only (never the only signal). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`badge badge-${status.toLowerCase()}`} data-status={status}>
      {statusName(status)} <small>({status})</small>
    </span>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.unavailable) {
    return (
      <p class="notice" role="status">
        {t.unavailable} ({error.status})
      </p>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  const fields = error instanceof ApiError ? error.fields.filter((f) => f.row === undefined) : [];
  return (
    <div class="error" role="alert">
      <strong>{t.error}:</strong> {message}
      {error instanceof ApiError ? <code> [{error.code}]</code> : null}
      {fields.length > 0 ? (
        <ul>
          {fields.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export interface Async<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/** Loads on mount and whenever a dependency changes; `reload` asks again. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function Loading() {
  return (
    <p role="status" aria-live="polite">
      {t.loading}
    </p>
  );
}

export function Section({
  title,
  children,
  id,
}: {
  title: string;
  children: ComponentChildren;
  id?: string;
}) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** Shows one async result: loading, error (or "not available yet"), else the content. */
export function Show<T>({ value, children }: { value: Async<T>; children: (data: T) => ComponentChildren }) {
  if (value.error !== undefined) return <ErrorBox error={value.error} />;
  if (value.data === undefined) return <Loading />;
  return <>{children(value.data)}</>;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // China time, whatever the browser's zone: the business day is China's.
  return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

/** Today's China date, `YYYY-MM-DD`. */
export function chinaToday(now = new Date()): string {
  return new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}
