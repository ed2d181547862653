import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV } from '../../../src/config/contract';
import { QUERY_PATH } from '../../../src/lianlian/endpoints';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../../../src/lianlian/keys';
import { signFields, verifyFields } from '../../../src/lianlian/sign';
import { ToolError } from '../../../tools/errors';
import { formatQueryOutcome, providerClientFromEnv, queryOrder } from '../../../tools/query-order';

const OID = '201408071000001543';
const merchant = generateKeyPairSync('rsa', { modulusLength: 1024 });
const provider = generateKeyPairSync('rsa', { modulusLength: 1024 });

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

/** A provider on 127.0.0.1 that checks our signature and answers a signed query result. */
async function fakeProvider(): Promise<{
  base: string;
  requests: { path?: string; fields: Record<string, string> }[];
}> {
  const requests: { path?: string; fields: Record<string, string> }[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const fields = JSON.parse(body) as Record<string, string>;
      requests.push({ path: req.url, fields });
      const ours = verifyFields(fields, { publicKey: merchant.publicKey }).ok;
      const answer = ours
        ? signFields(
            {
              ret_code: '0000',
              ret_msg: '交易成功',
              oid_partner: OID,
              no_order: fields.no_order,
              money_order: '10.00',
              result_pay: 'SUCCESS',
              settle_date: '20240101',
            },
            { signType: 'RSA', privateKey: provider.privateKey },
          )
        : { ret_code: '1001', ret_msg: '签名验证失败' };
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((ready) => server?.listen(0, '127.0.0.1', ready));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const env = (base: string): Record<string, string> => ({
  [ENV.apiBase]: base,
  [ENV.oidPartner]: OID,
  [ENV.signType]: 'RSA',
  [ENV.merchantPrivateKey]: exportPrivateKeyBase64(merchant.privateKey),
  [ENV.providerPublicKey]: exportPublicKeyBase64(provider.publicKey),
});

describe('query-order', () => {
  it('sends a signed payout query (type_dc=1) and prints the classified outcome', async () => {
    const { base, requests } = await fakeProvider();

    const outcome = await queryOrder(providerClientFromEnv(env(base)), 'P20240101000001');

    expect(requests).toHaveLength(1);
    expect(requests[0]?.path).toBe(QUERY_PATH);
    expect(requests[0]?.fields).toMatchObject({
      oid_partner: OID,
      no_order: 'P20240101000001',
      type_dc: '1',
    });
    expect(outcome).toMatchObject({ kind: 'found', result: { result_pay: 'SUCCESS', money_order: '10.00' } });
    expect(formatQueryOutcome(outcome)[0]).toBe('found: result_pay=SUCCESS money_order=10.00');
  });

  it('an answer signed by another key is unknown, never found', async () => {
    const { base } = await fakeProvider();
    const wrongProviderKey = exportPublicKeyBase64(
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
    );

    const outcome = await queryOrder(
      providerClientFromEnv({ ...env(base), [ENV.providerPublicKey]: wrongProviderKey }),
      'P1',
    );

    expect(outcome).toMatchObject({ kind: 'unknown', reason: 'bad_signature' });
    expect(formatQueryOutcome(outcome)[0]).toContain('never re-pay');
  });

  it('with the later hosts (LLP_QUERY_URL, no base) queries that URL, without /traderapi/', async () => {
    const { base, requests } = await fakeProvider();
    const { [ENV.apiBase]: _noBase, ...rest } = env(base);
    const client = providerClientFromEnv({
      ...rest,
      [ENV.applyUrl]: `${base}/cardandpay.htm`,
      [ENV.queryUrl]: `${base}/orderquery.htm`,
    });

    const outcome = await queryOrder(client, 'P20240101000001');

    expect(requests.map((r) => r.path)).toEqual(['/orderquery.htm']);
    expect(outcome).toMatchObject({ kind: 'found' });
  });

  it('refuses a query URL that is not absolute http(s), naming the variables', () => {
    const { [ENV.apiBase]: _noBase, ...rest } = env('http://127.0.0.1:9');
    expect(() =>
      providerClientFromEnv({
        ...rest,
        [ENV.applyUrl]: 'http://127.0.0.1:9/a',
        [ENV.queryUrl]: 'queryapi/x',
      }),
    ).toThrow(ENV.queryUrl);
  });

  it('names the missing variable, never a value', () => {
    const full = env('http://127.0.0.1:9');
    for (const name of [ENV.apiBase, ENV.oidPartner, ENV.merchantPrivateKey, ENV.providerPublicKey]) {
      const { [name]: _dropped, ...rest } = full;
      expect(() => providerClientFromEnv(rest), name).toThrow(name);
    }
    expect(() => providerClientFromEnv({ ...full, [ENV.merchantPrivateKey]: 'bm90IGEga2V5' })).toThrow(
      /^(?!.*bm90IGEga2V5)/,
    );
  });

  it('rejects a malformed no_order before calling anyone', async () => {
    await expect(queryOrder(providerClientFromEnv(env('http://127.0.0.1:9')), 'a b')).rejects.toThrow(
      ToolError,
    );
  });
});
