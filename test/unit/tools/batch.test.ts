import { describe, expect, it } from 'vitest';
import { followBatch, progressLine, submitBatch } from '../../../tools/batch';
import { ToolError } from '../../../tools/errors';

function view(status: string, counts: Record<string, number>) {
  return { batch_id: 'B1', status, item_count: 4, total_amount: '10.00', counts };
}

/** A fetch double answering from a script and recording what was asked. */
function fakeApi(answers: { status: number; body: unknown }[]) {
  const calls: { method: string; url: string; headers: Record<string, string>; body?: string }[] = [];
  const fetchImpl = (async (url: URL, init: RequestInit) => {
    calls.push({
      method: init.method ?? 'GET',
      url: String(url),
      headers: init.headers as Record<string, string>,
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
    });
    const next = answers.shift() ?? { status: 500, body: {} };
    return new Response(JSON.stringify(next.body), { status: next.status });
  }) as unknown as typeof fetch;
  return { calls, target: { baseUrl: 'http://127.0.0.1:3000', principal: 'alice', fetchImpl } };
}

describe('ops batch', () => {
  it('PUTs the CSV as text/csv with the local principal', async () => {
    const api = fakeApi([{ status: 202, body: view('DISPATCHING', { QUEUED: 4 }) }]);
    const accepted = await submitBatch(api.target, 'B1', 'no_order\r\nA1\r\n');
    expect(accepted.status).toBe('DISPATCHING');
    expect(api.calls[0]).toMatchObject({
      method: 'PUT',
      url: 'http://127.0.0.1:3000/batches/B1',
      headers: { 'content-type': 'text/csv; charset=utf-8', 'x-principal': 'alice' },
      body: 'no_order\r\nA1\r\n',
    });
  });

  it('explains a refused batch row by row', async () => {
    const api = fakeApi([
      {
        status: 400,
        body: {
          error: {
            code: 'invalid_request',
            message: 'the batch is invalid; nothing was recorded',
            fields: [{ row: 2, field: 'card_no', message: 'must be 1–32 digits' }],
          },
        },
      },
    ]);
    await expect(submitBatch(api.target, 'B1', 'x')).rejects.toThrow(
      new ToolError(
        'HTTP 400 invalid_request: the batch is invalid; nothing was recorded\n  row 2: card_no: must be 1–32 digits',
      ),
    );
  });

  it('follows until COMPLETED: a line per change when not a terminal', async () => {
    const api = fakeApi([
      { status: 200, body: view('DISPATCHING', { QUEUED: 4 }) },
      { status: 200, body: view('DISPATCHING', { QUEUED: 4 }) },
      { status: 200, body: view('DISPATCHED', { PENDING: 2, SUCCESS: 2 }) },
      { status: 200, body: view('COMPLETED', { SUCCESS: 3, FAILURE: 1 }) },
    ]);
    const out: string[] = [];
    const last = await followBatch(api.target, 'B1', {
      tty: false,
      write: (t) => out.push(t),
      sleep: async () => {},
    });
    expect(last.status).toBe('COMPLETED');
    expect(out).toEqual([
      `[${'-'.repeat(30)}]   0% 0/4 DISPATCHING (QUEUED 4)\n`,
      `[${'#'.repeat(15)}${'-'.repeat(15)}]  50% 2/4 DISPATCHED (PENDING 2, SUCCESS 2)\n`,
      `[${'#'.repeat(30)}] 100% 4/4 COMPLETED (SUCCESS 3, FAILURE 1)\n`,
    ]);
  });

  it('redraws one line on a terminal and ends it with a newline', async () => {
    const api = fakeApi([
      { status: 200, body: view('DISPATCHING', { QUEUED: 4 }) },
      { status: 200, body: view('VOIDED', { VOIDED: 4 }) },
    ]);
    const out: string[] = [];
    await followBatch(api.target, 'B1', { tty: true, write: (t) => out.push(t), sleep: async () => {} });
    expect(out).toHaveLength(3);
    expect(out[0]?.startsWith('\r\x1b[2K[')).toBe(true);
    expect(out[2]).toBe('\n');
  });

  it('counts only items that are over in the bar', () => {
    expect(progressLine(view('DISPATCHING', { PENDING: 4 }))).toContain(' 0/4 ');
  });
});
