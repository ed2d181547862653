import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_OID_PARTNER } from '../local/test-merchant';
import type { ApplyFields } from '../src/lianlian/messages';
import { formatDtOrder } from '../src/lianlian/time';

/**
 * Helpers for tests that drive the sandbox over real HTTP: keys, apply fields, a merchant notify endpoint
 * whose answers a test scripts per order, raw POSTs (for requests a correct client would never send) and
 * polling. Test-only: nothing in the sandbox server imports it.
 */

export const OID = LOCAL_OID_PARTNER;
export const MD5_KEY = 'sandbox-test-md5-key';
export const CARD_NO = '6222021234567890123';
export const ACCT_NAME = '张三丰';
const ACK = JSON.stringify({ ret_code: '0000', ret_msg: '交易成功' });

export function rsaPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 1024 });
}

let serial = 0;
const run = Date.now().toString(36);

export function newNoOrder(tag = 'T'): string {
  serial += 1;
  return `${tag}${run}${serial.toString().padStart(4, '0')}`;
}

export function applyFields(notifyUrl: string, overrides: Partial<ApplyFields> = {}): ApplyFields {
  return {
    oid_partner: OID,
    api_version: '1.2',
    no_order: newNoOrder(),
    dt_order: formatDtOrder(new Date()),
    money_order: '1.00',
    flag_card: '0',
    card_no: CARD_NO,
    acct_name: ACCT_NAME,
    info_order: '测试代付',
    notify_url: notifyUrl,
    ...overrides,
  };
}

export interface Received {
  readonly at: number;
  readonly contentType: string | undefined;
  readonly raw: string;
  readonly fields: Record<string, string>;
  /** Settles when the connection is over: answered, or dropped by the sender (a timeout, close()). */
  readonly done: Promise<void>;
}

export interface Reply {
  readonly status?: number;
  readonly body?: string;
  readonly delayMs?: number;
  /** Never answer (until the sender gives up or the server closes). */
  readonly hang?: boolean;
}

/** The merchant's notify endpoint; `policies` decides the answer per no_order and per arrival (1-based). */
export interface Merchant {
  readonly url: string;
  readonly received: Received[];
  readonly policies: Map<string, (nth: number) => Reply>;
  of(noOrder: string): Received[];
  /** Resolves at the `nth` (1-based) arrival for `noOrder`, at once if it already came. Real-time guard only. */
  arrival(noOrder: string, nth?: number, timeoutMs?: number): Promise<Received>;
  /** Forgets arrivals and policies, so a test starts from nothing. */
  clear(): void;
  close(): Promise<void>;
}

export async function startMerchant(): Promise<Merchant> {
  const received: Received[] = [];
  const policies = new Map<string, (nth: number) => Reply>();
  const listeners = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const fields = JSON.parse(raw) as Record<string, string>;
      const done = new Promise<void>((resolve) => res.on('close', () => resolve()));
      received.push({ at: Date.now(), contentType: req.headers['content-type'], raw, fields, done });
      for (const listener of [...listeners]) listener();
      const nth = received.filter((r) => r.fields.no_order === fields.no_order).length;
      const reply = policies.get(fields.no_order ?? '')?.(nth) ?? {};
      // A hanging answer is released by the sender's timeout or by close().
      if (reply.hang) return;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json;charset=utf-8' });
        res.end(reply.body ?? ACK);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/llp/notify`,
    received,
    policies,
    of: (noOrder) => received.filter((r) => r.fields.no_order === noOrder),
    arrival: (noOrder, nth = 1, timeoutMs = 5_000) =>
      new Promise<Received>((resolve, reject) => {
        const check = () => {
          const hit = received.filter((r) => r.fields.no_order === noOrder)[nth - 1];
          if (!hit) return;
          listeners.delete(check);
          clearTimeout(guard);
          resolve(hit);
        };
        const guard = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no arrival #${nth} for ${noOrder} within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    clear: () => {
      received.length = 0;
      policies.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; fields: Record<string, string>; ms: number }> {
  const started = Date.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json;charset=utf-8' },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const fields = (await response.json()) as Record<string, string>;
  return { status: response.status, fields, ms: Date.now() - started };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` returns something truthy; fails the test with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 3_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
