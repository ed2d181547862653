import { useEffect, useState } from 'preact/hooks';
import { ApiError, type BatchView, download, type FieldError, getJson, putCsv, seg } from '../api';
import type { ConsoleConfig } from '../config';
import { t } from '../i18n';
import { ErrorBox, fmtTime, Section, Show, StatusAmounts, StatusBadge, useAsync } from '../ui';
import { ReviewActions } from './review';

const BATCH_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** Batch statuses during which items are still being sent or answered: the page follows them. */
const MOVING = new Set(['DISPATCHING', 'DISPATCHED']);
const FINAL_ITEM = new Set(['SUCCESS', 'FAILURE', 'CANCEL', 'REJECTED', 'DENIED', 'VOIDED']);

export function Batches({ go }: { go: (hash: string) => void }) {
  const [batchId, setBatchId] = useState('');
  const [csv, setCsv] = useState<{ name: string; text: string } | undefined>(undefined);
  const [rowErrors, setRowErrors] = useState<readonly FieldError[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [openId, setOpenId] = useState('');
  const upload = async () => {
    if (!csv) return;
    setBusy(true);
    setError(undefined);
    setRowErrors([]);
    try {
      await putCsv<BatchView>(`/batches/${seg(batchId)}`, csv.text);
      go(`#/batches/${seg(batchId)}`);
    } catch (e) {
      const rows = e instanceof ApiError ? e.fields.filter((f) => f.row !== undefined) : [];
      if (rows.length > 0) setRowErrors(rows);
      else setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1>{t.batches}</h1>
      <Section title={t.upload} id="upload">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void upload();
          }}
        >
          <label>
            {t.batchId}
            <input
              id="batch-id"
              value={batchId}
              required
              pattern="[A-Za-z0-9_\-]{1,32}"
              onInput={(e) => setBatchId(e.currentTarget.value)}
            />
          </label>
          <label>
            {t.csvFile}
            <input
              id="batch-file"
              type="file"
              accept=".csv,text/csv"
              required
              onChange={async (e) => {
                const file = e.currentTarget.files?.[0];
                setRowErrors([]);
                setCsv(file ? { name: file.name, text: await file.text() } : undefined);
              }}
            />
          </label>
          <button type="submit" class="primary" disabled={busy || !csv || !BATCH_ID.test(batchId)}>
            {t.upload}
          </button>
        </form>
        {error !== undefined ? <ErrorBox error={error} /> : null}
        {rowErrors.length > 0 && csv ? <RowErrors csv={csv.text} errors={rowErrors} /> : null}
      </Section>
      <Section title={t.openBatch} id="open">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (BATCH_ID.test(openId)) go(`#/batches/${seg(openId)}`);
          }}
        >
          <label>
            {t.batchId}
            <input id="open-batch-id" value={openId} onInput={(e) => setOpenId(e.currentTarget.value)} />
          </label>
          <button type="submit">{t.openBatch}</button>
        </form>
      </Section>
    </>
  );
}

/** The uploaded file's lines with each row's errors right beside its number (rows count from 1 after the header). */
function RowErrors({ csv, errors }: { csv: string; errors: readonly FieldError[] }) {
  const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
  const byRow = new Map<number, FieldError[]>();
  for (const e of errors) byRow.set(e.row ?? 0, [...(byRow.get(e.row ?? 0) ?? []), e]);
  const header = (lines[0] ?? '').split(',');
  const noOrderAt = header.indexOf('no_order');
  return (
    <div class="error" role="alert">
      <p>
        <strong>{t.rowErrors}</strong> ({errors.length})
      </p>
      <table class="row-errors">
        <thead>
          <tr>
            <th scope="col">{t.row}</th>
            <th scope="col">{t.noOrder}</th>
            <th scope="col">{t.field}</th>
            <th scope="col">{t.message}</th>
          </tr>
        </thead>
        <tbody>
          {[...byRow.entries()]
            .sort(([a], [b]) => a - b)
            .flatMap(([row, list]) =>
              list.map((e, i) => (
                <tr key={`${row}-${e.field}-${i}`} data-row={row}>
                  {i === 0 ? <th scope="row" rowSpan={list.length}>{`${t.row} ${row}`}</th> : null}
                  {i === 0 ? (
                    <td rowSpan={list.length}>
                      {noOrderAt >= 0 ? (lines[row]?.split(',')[noOrderAt] ?? '') : ''}
                    </td>
                  ) : null}
                  <td>
                    <code>{e.field}</code>
                  </td>
                  <td>{e.message}</td>
                </tr>
              )),
            )}
        </tbody>
      </table>
    </div>
  );
}

export function BatchDetail({ batchId, config }: { batchId: string; config: ConsoleConfig }) {
  const batch = useAsync(() => getJson<BatchView>(`/batches/${seg(batchId)}`), [batchId]);
  const [reportError, setReportError] = useState<unknown>(undefined);
  const status = batch.data?.status;
  // Follow the batch while its items are being sent: one read a second, stopped as soon as it settles.
  useEffect(() => {
    if (!status || !MOVING.has(status)) return;
    const timer = setInterval(batch.reload, 1000);
    return () => clearInterval(timer);
  }, [status, batch.reload]);
  return (
    <>
      <p>
        <a href="#/batches">← {t.back}</a>
      </p>
      <h1>
        {t.batches} {batchId}
      </h1>
      <Show value={batch}>
        {(b) => {
          const counts = b.counts ?? {};
          const finished = Object.entries(counts)
            .filter(([s]) => FINAL_ITEM.has(s))
            .reduce((n, [, c]) => n + c, 0);
          return (
            <>
              <p>
                <StatusBadge status={b.status} />
              </p>
              <label class="progress">
                {t.progress}: {finished} / {b.item_count}
                <progress id="batch-progress" max={b.item_count || 1} value={finished} />
              </label>
              <dl class="facts">
                <dt>{t.itemCount}</dt>
                <dd class="num">{b.item_count}</dd>
                <dt>{t.amount}</dt>
                <dd class="num">{b.total_amount}</dd>
                <dt>{t.createdBy}</dt>
                <dd>{b.created_by ?? '—'}</dd>
                <dt>{t.approvedBy}</dt>
                <dd>{b.approved_by ?? '—'}</dd>
                <dt>{t.created}</dt>
                <dd>{fmtTime(b.created_at)}</dd>
              </dl>
              <StatusAmounts
                rows={Object.entries(counts).map(([s, c]) => ({
                  status: s,
                  count: c,
                  amount: b.amounts?.[s as keyof BatchView['amounts']] ?? '—',
                }))}
              />
              {/* Void stops the items not yet sent: possible until every item is sent (DISPATCHED). */}
              {b.status === 'AWAITING_APPROVAL' || b.status === 'DISPATCHING' ? (
                <ReviewActions
                  path={`/batches/${seg(b.batch_id)}`}
                  id={b.batch_id}
                  amount={b.total_amount}
                  confirmMin={config.approvalConfirmMin}
                  actions={b.status === 'AWAITING_APPROVAL' ? ['approve', 'deny', 'void'] : ['void']}
                  onDone={batch.reload}
                />
              ) : null}
              <p class="buttons">
                <a class="button" href={`#/payouts?batch_id=${seg(b.batch_id)}`}>
                  {t.items}
                </a>
                <button
                  type="button"
                  onClick={() => {
                    setReportError(undefined);
                    download(`/batches/${seg(b.batch_id)}/report.csv`, `${b.batch_id}.csv`).catch(
                      setReportError,
                    );
                  }}
                >
                  {t.report}
                </button>
              </p>
              {reportError !== undefined ? <ErrorBox error={reportError} /> : null}
            </>
          );
        }}
      </Show>
    </>
  );
}
