import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  classifyApplyAnswer,
  classifyBalanceAnswer,
  classifyQueryAnswer,
  HttpProviderClient,
  type HttpProviderClientOptions,
  UnsendableApplyError,
} from '../../../../src/adapters/provider/http-client';
import { APPLY_PATH, BALANCE_PATH, QUERY_PATH, resolveEndpoints } from '../../../../src/lianlian/endpoints';
import {
  applyRequestSchema,
  balanceRequestSchema,
  queryRequestSchema,
} from '../../../../src/lianlian/messages';
import { formatFen, MAX_BALANCE_FEN } from '../../../../src/lianlian/money';
import { md5Sign, signFields, type VerifyingKeys, verifyFields } from '../../../../src/lianlian/sign';
import {
  corporateApply,
  MERCHANT,
  OTHER_MERCHANT,
  personalApply,
  type RsaPair,
  rsaPair,
} from '../../lianlian/fixtures';

const NO_ORDER = 'PO20260102003000A1';
const PAYBILL = '2026010200001234';
const MD5_KEY = 'client-test-md5-key';
const EXPECT = { oidPartner: MERCHANT, noOrder: NO_ORDER };

let merchant: RsaPair;
let provider: RsaPair;

beforeAll(() => {
  merchant = rsaPair(1024);
  provider = rsaPair(1024);
});

const providerKeys = (): VerifyingKeys => ({ publicKey: provider.publicKey });
const providerSigned = (fields: Record<string, string>) =>
  signFields(fields, { signType: 'RSA', privateKey: provider.privateKey });

const queryAnswer = (overrides: Record<string, string> = {}): Record<string, string> => ({
  ret_code: '0000',
  ret_msg: '交易成功',
  oid_partner: MERCHANT,
  no_order: NO_ORDER,
  dt_order: '20260102003000',
  oid_paybill: PAYBILL,
  money_order: '1234.50',
  result_pay: 'SUCCESS',
  settle_date: '20260102',
  info_order: '佣金结算',
  ...overrides,
});

describe('classifyApplyAnswer', () => {
  const accepted = () =>
    providerSigned({
      ret_code: '0000',
      ret_msg: '交易成功',
      oid_partner: MERCHANT,
      no_order: NO_ORDER,
      oid_paybill: PAYBILL,
    });

  it('signed 0000 → accepted with the provider bill number', () => {
    expect(classifyApplyAnswer(accepted(), providerKeys(), EXPECT)).toEqual({
      kind: 'accepted',
      retCode: '0000',
      retMsg: '交易成功',
      oidPaybill: PAYBILL,
    });
  });

  it('signed 0000 without the optional echo fields is still accepted (they are a guess, spec §3)', () => {
    const outcome = classifyApplyAnswer(providerSigned({ ret_code: '0000' }), providerKeys(), EXPECT);
    expect(outcome).toMatchObject({ kind: 'accepted', retCode: '0000' });
    expect(outcome.kind === 'accepted' && outcome.oidPaybill).toBeFalsy();
  });

  it('0000 with a bad signature → unknown bad_signature', () => {
    const tampered = { ...accepted(), oid_paybill: '9999999999999999' };
    expect(classifyApplyAnswer(tampered, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
      retCode: '0000',
    });
    // Signed by someone else's key (here: the merchant's own key).
    const forged = signFields(
      { ret_code: '0000', oid_partner: MERCHANT, no_order: NO_ORDER },
      { signType: 'RSA', privateKey: merchant.privateKey },
    );
    expect(classifyApplyAnswer(forged, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });
  });

  it('0000 with a signature but no key to check it, or an MD5 downgrade → unknown bad_signature', () => {
    expect(classifyApplyAnswer(accepted(), {}, EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });
    const base = { ret_code: '0000', oid_partner: MERCHANT, no_order: NO_ORDER, sign_type: 'MD5' };
    const downgraded = { ...base, sign: md5Sign('no_order=x', '') };
    expect(classifyApplyAnswer(downgraded, { ...providerKeys(), md5Key: '' }, EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });
  });

  it('0000 unsigned → unknown unsigned_success', () => {
    const answers: Record<string, string>[] = [
      { ret_code: '0000', ret_msg: '交易成功', no_order: NO_ORDER },
      { ret_code: '0000', sign_type: 'RSA', sign: '' },
    ];
    for (const answer of answers) {
      expect(classifyApplyAnswer(answer, providerKeys(), EXPECT)).toMatchObject({
        kind: 'unknown',
        reason: 'unsigned_success',
        retCode: '0000',
      });
    }
  });

  it('signed 0000 naming another no_order or merchant → unknown mismatch', () => {
    for (const other of [{ no_order: 'PO-SOMEONE-ELSE' }, { oid_partner: OTHER_MERCHANT }]) {
      const answer = providerSigned({
        ret_code: '0000',
        oid_partner: MERCHANT,
        no_order: NO_ORDER,
        ...other,
      });
      expect(classifyApplyAnswer(answer, providerKeys(), EXPECT)).toMatchObject({
        kind: 'unknown',
        reason: 'mismatch',
        retCode: '0000',
      });
    }
  });

  it.each([
    '1001',
    '1004',
    '1005',
    '1008',
    '1009',
    '1012',
    '3001',
    '5501',
    '5502',
    '5503',
    '5504',
    '5505',
    '9104',
    '9910',
    '9911',
    '9912',
    '9913',
  ])('unsigned %s → rejected', (code) => {
    expect(classifyApplyAnswer({ ret_code: code, ret_msg: '失败' }, providerKeys(), EXPECT)).toEqual({
      kind: 'rejected',
      retCode: code,
      retMsg: '失败',
    });
  });

  it('the real-traffic unsigned 5503 answer → rejected', () => {
    expect(
      classifyApplyAnswer({ ret_code: '5503', ret_msg: '商户提现权限不足' }, providerKeys(), EXPECT),
    ).toEqual({ kind: 'rejected', retCode: '5503', retMsg: '商户提现权限不足' });
  });

  it.each(['1002', '2005', '9999', '8901'])('unsigned %s → unknown (query, never failed)', (code) => {
    expect(classifyApplyAnswer({ ret_code: code }, providerKeys(), EXPECT)).toEqual({
      kind: 'unknown',
      reason: 'code',
      retCode: code,
      retMsg: undefined,
      knownCode: true,
    });
  });

  it('unsigned unknown code 7777 → unknown with knownCode false', () => {
    expect(classifyApplyAnswer({ ret_code: '7777', ret_msg: '?' }, providerKeys(), EXPECT)).toEqual({
      kind: 'unknown',
      reason: 'code',
      retCode: '7777',
      retMsg: '?',
      knownCode: false,
    });
  });

  it('a signed error whose signature fails → unknown bad_signature, not rejected', () => {
    const signed = providerSigned({ ret_code: '5503', ret_msg: '商户提现权限不足' });
    const tampered = { ...signed, ret_msg: 'changed' };
    expect(classifyApplyAnswer(tampered, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
      retCode: '5503',
    });
    // The untampered signed error is a plain rejection.
    expect(classifyApplyAnswer(signed, providerKeys(), EXPECT)).toMatchObject({
      kind: 'rejected',
      retCode: '5503',
    });
  });

  it('an answer without a well-formed ret_code → unknown unparsable', () => {
    const answers: Record<string, string>[] = [{}, { ret_msg: 'x' }, { ret_code: '00000' }, { ret_code: '' }];
    for (const answer of answers) {
      expect(classifyApplyAnswer(answer, providerKeys(), EXPECT)).toEqual({
        kind: 'unknown',
        reason: 'unparsable',
      });
    }
  });
});

describe('classifyQueryAnswer', () => {
  it('signed 0000 with a result → found, carrying the fields', () => {
    const answer = providerSigned(queryAnswer());
    const outcome = classifyQueryAnswer(answer, providerKeys(), EXPECT);
    expect(outcome.kind).toBe('found');
    if (outcome.kind === 'found') {
      expect(outcome.result).toMatchObject({
        result_pay: 'SUCCESS',
        money_order: '1234.50',
        no_order: NO_ORDER,
        oid_paybill: PAYBILL,
      });
    }
  });

  it('signed 0000 with bank_name outside the signature → found', () => {
    const answer = { ...providerSigned(queryAnswer({ memo: '' })), bank_name: '中国工商银行' };
    expect(classifyQueryAnswer(answer, providerKeys(), EXPECT)).toMatchObject({
      kind: 'found',
      result: { bank_name: '中国工商银行' },
    });
  });

  it('8901 → not_found, signed or not', () => {
    expect(classifyQueryAnswer({ ret_code: '8901', ret_msg: '无此订单' }, providerKeys(), EXPECT)).toEqual({
      kind: 'not_found',
      retCode: '8901',
      retMsg: '无此订单',
    });
    expect(classifyQueryAnswer(providerSigned({ ret_code: '8901' }), providerKeys(), EXPECT)).toMatchObject({
      kind: 'not_found',
    });
  });

  it('a signed 8901 whose signature fails is not believed', () => {
    const tampered = { ...providerSigned({ ret_code: '0000', no_order: NO_ORDER }), ret_code: '8901' };
    expect(classifyQueryAnswer(tampered, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });
  });

  it('0000 with missing or malformed money_order → unknown unparsable', () => {
    const { money_order: _m, ...noMoney } = queryAnswer();
    expect(classifyQueryAnswer(providerSigned(noMoney), providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'unparsable',
      retCode: '0000',
    });
    for (const money of ['1234.5', '1.0E7']) {
      expect(
        classifyQueryAnswer(providerSigned(queryAnswer({ money_order: money })), providerKeys(), EXPECT),
      ).toMatchObject({ kind: 'unknown', reason: 'unparsable' });
    }
  });

  it('0000 unsigned → unknown unsigned_success; tampered → bad_signature', () => {
    expect(classifyQueryAnswer(queryAnswer(), providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'unsigned_success',
    });
    const tampered = { ...providerSigned(queryAnswer({ result_pay: 'FAILURE' })), result_pay: 'SUCCESS' };
    expect(classifyQueryAnswer(tampered, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });
  });

  it('0000 for another order or merchant → unknown mismatch', () => {
    const others: Record<string, string>[] = [{ no_order: 'PO-OTHER' }, { oid_partner: OTHER_MERCHANT }];
    for (const other of others) {
      expect(classifyQueryAnswer(providerSigned(queryAnswer(other)), providerKeys(), EXPECT)).toMatchObject({
        kind: 'unknown',
        reason: 'mismatch',
      });
    }
  });

  it('other codes → unknown code, knownCode telling catalogue codes from strangers', () => {
    expect(classifyQueryAnswer({ ret_code: '9999' }, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'code',
      knownCode: true,
    });
    expect(classifyQueryAnswer({ ret_code: '7777' }, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      reason: 'code',
      knownCode: false,
    });
    expect(classifyQueryAnswer({ ret_code: 'toString' }, providerKeys(), EXPECT)).toMatchObject({
      kind: 'unknown',
      knownCode: false,
    });
  });

  it('no ret_code → unknown unparsable', () => {
    expect(classifyQueryAnswer({ ret_msg: 'x' }, providerKeys(), EXPECT)).toEqual({
      kind: 'unknown',
      reason: 'unparsable',
    });
  });
});

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: string;
  readonly body: Record<string, unknown>;
}

type Handler = (request: Recorded, res: ServerResponse) => void;

describe('classifyBalanceAnswer (spec §11)', () => {
  const balanceAnswer = (overrides: Record<string, string> = {}) =>
    providerSigned({
      ret_code: '0000',
      ret_msg: '交易成功',
      amt_balance: '1234.50',
      amt_unsettle: '20.01',
      ...overrides,
    });
  const classify = (fields: Record<string, string>, keys = providerKeys()) =>
    classifyBalanceAnswer(fields, keys, { oidPartner: MERCHANT });

  it('signed 0000 → known, both figures in fen; a zero balance is a real balance', () => {
    expect(classify(balanceAnswer())).toEqual({
      kind: 'known',
      balanceFen: 123_450,
      unsettledFen: 2_001,
      retMsg: '交易成功',
    });
    expect(classify(balanceAnswer({ amt_balance: '0.00', amt_unsettle: '0.00' }))).toMatchObject({
      kind: 'known',
      balanceFen: 0,
      unsettledFen: 0,
    });
  });

  it('a tampered figure, another key, or no key for the sign_type → unknown bad_signature', () => {
    expect(classify({ ...balanceAnswer(), amt_balance: '999999.00' })).toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
      retCode: '0000',
    });
    const forged = signFields(
      { ret_code: '0000', amt_balance: '1.00', amt_unsettle: '0.00' },
      { signType: 'RSA', privateKey: merchant.privateKey },
    );
    expect(classify(forged)).toMatchObject({ kind: 'unknown', reason: 'bad_signature' });
    expect(classify(balanceAnswer(), {})).toMatchObject({ kind: 'unknown', reason: 'bad_signature' });
    // A signed error answer that fails verification is a bad signature too, not its code.
    expect(classify({ ...providerSigned({ ret_code: '1001' }), ret_code: '3001' })).toMatchObject({
      reason: 'bad_signature',
    });
  });

  it('unsigned 0000 → unknown unsigned_success, never the figures it claims', () => {
    const unsigned = { ret_code: '0000', amt_balance: '1234.50', amt_unsettle: '0.00' };
    expect(classify(unsigned)).toEqual({ kind: 'unknown', reason: 'unsigned_success', retCode: '0000' });
    expect(classify({ ...unsigned, sign_type: 'RSA', sign: '' })).toMatchObject({
      reason: 'unsigned_success',
    });
  });

  it.each([['1234.5'], ['1.0E7'], ['-1.00'], ['']])(
    'a signed 0000 with amt_balance %j → unknown unparsable (never zero)',
    (amount) => {
      expect(classify(balanceAnswer({ amt_balance: amount }))).toMatchObject({
        kind: 'unknown',
        reason: 'unparsable',
      });
    },
  );

  it('a signed 0000 missing a figure, or with "&name=" in a value → unknown unparsable', () => {
    const noUnsettle = providerSigned({ ret_code: '0000', amt_balance: '1.00' });
    expect(classify(noUnsettle)).toMatchObject({ kind: 'unknown', reason: 'unparsable' });
    expect(classify(balanceAnswer({ ret_msg: 'ok&amt_balance=9.00' }))).toMatchObject({
      kind: 'unknown',
      reason: 'unparsable',
    });
  });

  it('a signed 0000 naming another merchant → unknown mismatch', () => {
    expect(classify(balanceAnswer({ oid_partner: OTHER_MERCHANT }))).toMatchObject({
      kind: 'unknown',
      reason: 'mismatch',
    });
    expect(classify(balanceAnswer({ oid_partner: MERCHANT }))).toMatchObject({ kind: 'known' });
  });

  it('non-0000 answers (signed or not) → unknown code, with the code', () => {
    expect(classify({ ret_code: '1001', ret_msg: '签名验证失败' })).toEqual({
      kind: 'unknown',
      reason: 'code',
      retCode: '1001',
      retMsg: '签名验证失败',
      knownCode: true,
    });
    expect(classify(providerSigned({ ret_code: '9999' }))).toMatchObject({ reason: 'code', retCode: '9999' });
    expect(classify({ ret_code: 'ZZ99' })).toMatchObject({ reason: 'code', knownCode: false });
    expect(classify({ ret_msg: 'no code' })).toEqual({ kind: 'unknown', reason: 'unparsable' });
  });

  it('property: a verified answer reports exactly the signed figures; any change to one is bad_signature', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_BALANCE_FEN }),
        fc.integer({ min: 0, max: MAX_BALANCE_FEN }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (balance, unsettled, delta) => {
          const signed = balanceAnswer({
            amt_balance: formatFen(balance),
            amt_unsettle: formatFen(unsettled),
          });
          expect(classify(signed)).toMatchObject({
            kind: 'known',
            balanceFen: balance,
            unsettledFen: unsettled,
          });
          const moved = formatFen(balance + delta <= MAX_BALANCE_FEN ? balance + delta : balance - delta);
          expect(classify({ ...signed, amt_balance: moved })).toMatchObject({ reason: 'bad_signature' });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('HttpProviderClient against a local HTTP server', () => {
  let server: Server;
  let base: string;
  let closedBase: string;
  let handler: Handler;
  let requests: Recorded[];

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
    res.end(JSON.stringify(body));
  };

  /** A provider that accepts applies and finds queried orders, signing its answers. */
  const happyProvider: Handler = (request, res) => {
    const noOrder = String(request.body.no_order);
    if (request.url.endsWith(APPLY_PATH)) {
      json(
        res,
        200,
        providerSigned({
          ret_code: '0000',
          ret_msg: '交易成功',
          oid_partner: MERCHANT,
          no_order: noOrder,
          oid_paybill: PAYBILL,
        }),
      );
    } else {
      json(res, 200, providerSigned(queryAnswer({ no_order: noOrder })));
    }
  };

  const client = (overrides: Partial<HttpProviderClientOptions> = {}) =>
    new HttpProviderClient({
      endpoints: resolveEndpoints({ base }),
      oidPartner: MERCHANT,
      signing: { signType: 'RSA', privateKey: merchant.privateKey },
      verifying: providerKeys(),
      timeoutMs: 2_000,
      ...overrides,
    });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          // recorded as-is; the assertions on `raw` will say why
        }
        const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body };
        requests.push(recorded);
        handler(recorded, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // A port that was just free and is now closed: connections to it are refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedBase = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });

  beforeEach(() => {
    requests = [];
    handler = happyProvider;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('apply: POSTs signed all-string JSON to {base}/traderapi/cardandpay.htm and reads the answer', async () => {
    const apply = personalApply();
    const outcome = await client().apply(apply);
    expect(outcome).toEqual({ kind: 'accepted', retCode: '0000', retMsg: '交易成功', oidPaybill: PAYBILL });

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/traderapi/cardandpay.htm');
    expect(request!.headers['content-type']).toBe('application/json;charset=utf-8');
    const body = request!.body;
    for (const value of Object.values(body)) expect(typeof value).toBe('string');
    expect(body).toEqual({ ...apply, sign_type: 'RSA', sign: expect.any(String) });
    expect(body.acct_name).toBe('张三'); // UTF-8 intact
    expect(applyRequestSchema.safeParse(body).success).toBe(true);
    // The request's signature verifies with the merchant public key (and not with the provider's).
    const fields = body as Record<string, string>;
    expect(verifyFields(fields, { publicKey: merchant.publicKey })).toEqual({ ok: true, signType: 'RSA' });
    expect(verifyFields(fields, { publicKey: provider.publicKey }).ok).toBe(false);
  });

  it('apply: a corporate apply carries its branch fields, all signed', async () => {
    const apply = corporateApply();
    await client().apply(apply);
    const body = requests[0]!.body as Record<string, string>;
    expect(body).toMatchObject({ flag_card: '1', bank_code: '01020000', brabank_name: '上海分行营业部' });
    expect(verifyFields(body, { publicKey: merchant.publicKey }).ok).toBe(true);
  });

  it('query: POSTs to {base}/traderapi/orderquery.htm with type_dc 1, signed', async () => {
    const outcome = await client().query(NO_ORDER, '20260102003000');
    expect(outcome).toMatchObject({ kind: 'found', result: { result_pay: 'SUCCESS', no_order: NO_ORDER } });

    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/traderapi/orderquery.htm');
    expect(request!.headers['content-type']).toBe('application/json;charset=utf-8');
    const body = request!.body as Record<string, string>;
    for (const value of Object.values(body)) expect(typeof value).toBe('string');
    expect(body).toMatchObject({
      oid_partner: MERCHANT,
      no_order: NO_ORDER,
      type_dc: '1',
      dt_order: '20260102003000',
      sign_type: 'RSA',
    });
    expect(queryRequestSchema.safeParse(body).success).toBe(true);
    expect(verifyFields(body, { publicKey: merchant.publicKey }).ok).toBe(true);
  });

  it('query without dt_order leaves it out of the body', async () => {
    await client().query(NO_ORDER);
    const body = requests[0]!.body;
    expect(body).not.toHaveProperty('dt_order');
    expect(body.type_dc).toBe('1');
  });

  it('a base URL with a path prefix and trailing slashes is joined cleanly', async () => {
    await client({ endpoints: resolveEndpoints({ base: `${base}/sandbox//` }) }).apply(personalApply());
    await client({ endpoints: resolveEndpoints({ base: `${base}/sandbox/` }) }).query(NO_ORDER);
    expect(requests.map((r) => r.url)).toEqual([`/sandbox${APPLY_PATH}`, `/sandbox${QUERY_PATH}`]);
  });

  it('later-host layout (spec §12): apply and query each go to their own URL, without /traderapi/', async () => {
    // Two hosts in production (traderapi.… and queryapi.…); two path prefixes on one local server here.
    const endpoints = resolveEndpoints({
      applyUrl: `${base}/traderapi-host/cardandpay.htm`,
      queryUrl: `${base}/queryapi-host/orderquery.htm`,
    });

    handler = (request, res) =>
      request.url.endsWith('/cardandpay.htm')
        ? json(res, 200, providerSigned({ ret_code: '0000', oid_partner: MERCHANT, no_order: NO_ORDER }))
        : json(res, 200, providerSigned(queryAnswer()));
    await expect(client({ endpoints }).apply(personalApply())).resolves.toMatchObject({ kind: 'accepted' });
    await expect(client({ endpoints }).query(NO_ORDER)).resolves.toMatchObject({ kind: 'found' });
    expect(requests.map((r) => r.url)).toEqual([
      '/traderapi-host/cardandpay.htm',
      '/queryapi-host/orderquery.htm',
    ]);
    expect(requests[1]!.body.type_dc).toBe('1');
  });

  it('MD5 deployments sign with the MD5 key', async () => {
    handler = (_request, res) =>
      json(res, 200, signFields({ ret_code: '0000' }, { signType: 'MD5', md5Key: MD5_KEY }));
    const outcome = await client({
      signing: { signType: 'MD5', md5Key: MD5_KEY },
      verifying: { md5Key: MD5_KEY },
    }).apply(personalApply());
    expect(outcome.kind).toBe('accepted');
    const body = requests[0]!.body as Record<string, string>;
    expect(body.sign_type).toBe('MD5');
    expect(body.sign).toMatch(/^[0-9a-f]{32}$/);
    expect(verifyFields(body, { md5Key: MD5_KEY }).ok).toBe(true);
  });

  it('unsigned 0000 from the server → unknown unsigned_success; unsigned 5503 → rejected', async () => {
    handler = (_request, res) => json(res, 200, { ret_code: '0000', ret_msg: '交易成功' });
    expect(await client().apply(personalApply())).toMatchObject({
      kind: 'unknown',
      reason: 'unsigned_success',
    });
    handler = (_request, res) => json(res, 200, { ret_code: '5503', ret_msg: '商户提现权限不足' });
    expect(await client().apply(personalApply())).toMatchObject({ kind: 'rejected', retCode: '5503' });
  });

  it('the server answering later than timeoutMs → unknown timeout', async () => {
    // The answers are held until both calls have resolved: a client that waited for them could never
    // resolve, so this proves the timeout without measuring wall time.
    const held: { request: Recorded; res: ServerResponse }[] = [];
    handler = (request, res) => {
      held.push({ request, res });
    };
    const fast = client({ timeoutMs: 200 });
    await expect(fast.apply(personalApply())).resolves.toEqual({ kind: 'unknown', reason: 'timeout' });
    await expect(fast.query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'timeout' });
    expect(held).toHaveLength(2);
    for (const { request, res } of held) happyProvider(request, res);
  });

  it('headers sent but the body stalls past timeoutMs → unknown timeout', async () => {
    handler = (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.write('{"ret_code":"00');
    };
    await expect(client({ timeoutMs: 200 }).apply(personalApply())).resolves.toEqual({
      kind: 'unknown',
      reason: 'timeout',
    });
  });

  it('HTTP 502 → unknown http_status, even with a valid signed 0000 body', async () => {
    handler = (request, res) => {
      const noOrder = String(request.body.no_order);
      json(res, 502, providerSigned({ ret_code: '0000', oid_partner: MERCHANT, no_order: noOrder }));
    };
    await expect(client().apply(personalApply())).resolves.toEqual({
      kind: 'unknown',
      reason: 'http_status',
    });
    await expect(client().query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'http_status' });
    handler = (_request, res) => json(res, 404, { ret_code: '8901' });
    await expect(client().query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'http_status' });
  });

  it('an HTML body → unknown unparsable', async () => {
    handler = (_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    };
    await expect(client().apply(personalApply())).resolves.toEqual({ kind: 'unknown', reason: 'unparsable' });
    await expect(client().query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'unparsable' });
  });

  it('a JSON body with a number value → unknown unparsable', async () => {
    handler = (_request, res) => json(res, 200, { ret_code: '0000', money_order: 1234.5 });
    await expect(client().query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'unparsable' });
  });

  it('a "__proto__" key added to a signed answer is not believed; one the provider signed is (defect 10)', async () => {
    const raw =
      (text: string): Handler =>
      (_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
        res.end(text);
      };
    const signed = JSON.stringify(providerSigned(queryAnswer()));
    handler = raw(`{"__proto__":"injected",${signed.slice(1)}`);
    await expect(client().query(NO_ORDER)).resolves.toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });

    const covered: Record<string, string> = Object.assign(Object.create(null), queryAnswer());
    Object.defineProperty(covered, '__proto__', { value: 'covered', enumerable: true });
    const coveredBody = JSON.stringify(providerSigned(covered));
    expect(coveredBody).toContain('"__proto__":"covered"');
    handler = raw(coveredBody);
    await expect(client().query(NO_ORDER)).resolves.toMatchObject({ kind: 'found' });

    const accepted = JSON.stringify(
      providerSigned({ ret_code: '0000', oid_partner: MERCHANT, no_order: NO_ORDER }),
    );
    handler = raw(`{"__proto__":"injected",${accepted.slice(1)}`);
    await expect(client().apply(personalApply())).resolves.toMatchObject({
      kind: 'unknown',
      reason: 'bad_signature',
    });
  });

  it('property: an apply with "&" or "=" in free text is never sent (defect 3, spec §13)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('info_order', 'acct_name', 'brabank_name', 'platform'),
        fc
          .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('&', '='), fc.string({ maxLength: 8 }))
          .map(([a, d, b]) => `${a}${d}${b}`),
        async (field, value) => {
          let calls = 0;
          const counting = client({
            fetchImpl: (() => {
              calls += 1;
              return Promise.reject(new Error('must not be called'));
            }) as typeof fetch,
          });
          const error = await counting.apply(corporateApply({ [field]: value })).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(UnsendableApplyError);
          expect((error as UnsendableApplyError).fields).toContain(field);
          // Names the field, never the value (it may be the payee's name).
          expect((error as Error).message).not.toContain(value);
          expect(calls).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('connection refused (closed port) → unknown network', async () => {
    const refused = client({ endpoints: resolveEndpoints({ base: closedBase }) });
    await expect(refused.apply(personalApply())).resolves.toEqual({ kind: 'unknown', reason: 'network' });
    await expect(refused.query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'network' });
  });

  it('never throws, even when the fetch implementation itself throws', async () => {
    const throwing = client({
      fetchImpl: (() => {
        throw new TypeError('boom');
      }) as typeof fetch,
    });
    await expect(throwing.apply(personalApply())).resolves.toEqual({ kind: 'unknown', reason: 'network' });
    const rejecting = client({
      fetchImpl: (() => Promise.reject(new Error('socket hang up'))) as typeof fetch,
    });
    await expect(rejecting.query(NO_ORDER)).resolves.toEqual({ kind: 'unknown', reason: 'network' });
  });
  const balanceProvider =
    (answer: Record<string, string>): Handler =>
    (_request, res) =>
      json(res, 200, answer);

  it('balance: POSTs oid_partner and api_version 1.0, signed, to {base}/traderAcctQuery.htm', async () => {
    handler = balanceProvider(
      providerSigned({ ret_code: '0000', ret_msg: '交易成功', amt_balance: '1234.50', amt_unsettle: '0.00' }),
    );
    await expect(client().balance()).resolves.toEqual({
      kind: 'known',
      balanceFen: 123_450,
      unsettledFen: 0,
      retMsg: '交易成功',
    });
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(BALANCE_PATH);
    expect(request!.headers['content-type']).toBe('application/json;charset=utf-8');
    const body = request!.body as Record<string, string>;
    expect(body).toEqual({
      oid_partner: MERCHANT,
      api_version: '1.0',
      sign_type: 'RSA',
      sign: expect.any(String),
    });
    expect(balanceRequestSchema.safeParse(body).success).toBe(true);
    expect(verifyFields(body, { publicKey: merchant.publicKey }).ok).toBe(true);
  });

  it('balance: api_version is configurable; anything but 1.0 / 1.1 stops the construction', async () => {
    handler = balanceProvider(
      providerSigned({ ret_code: '0000', amt_balance: '1.00', amt_unsettle: '0.00' }),
    );
    await client({ balanceApiVersion: '1.1' }).balance();
    expect(requests[0]!.body.api_version).toBe('1.1');
    expect(() => client({ balanceApiVersion: '1.2' as '1.1' })).toThrow(/balanceApiVersion/);
  });

  it('balance: goes to its own URL in the later-host layout (spec §12)', async () => {
    handler = balanceProvider(
      providerSigned({ ret_code: '0000', amt_balance: '5.00', amt_unsettle: '1.00' }),
    );
    const endpoints = resolveEndpoints({
      applyUrl: `${base}/traderapi-host/cardandpay.htm`,
      queryUrl: `${base}/queryapi-host/orderquery.htm`,
      balanceUrl: `${base}/traderapi-host/traderAcctQuery.htm`,
    });
    await expect(client({ endpoints }).balance()).resolves.toMatchObject({ kind: 'known', balanceFen: 500 });
    expect(requests.map((r) => r.url)).toEqual(['/traderapi-host/traderAcctQuery.htm']);
  });

  it('balance: no balance URL configured → unknown not_configured, and nothing is sent', async () => {
    const endpoints = resolveEndpoints({
      applyUrl: `${base}/traderapi-host/cardandpay.htm`,
      queryUrl: `${base}/queryapi-host/orderquery.htm`,
    });
    expect(endpoints.balanceUrl).toBeUndefined();
    await expect(client({ endpoints }).balance()).resolves.toEqual({
      kind: 'unknown',
      reason: 'not_configured',
    });
    expect(requests).toEqual([]);
  });

  it('balance: a bad signature, an unsigned 0000 and a malformed amount over HTTP are unknown, never zero', async () => {
    const good = providerSigned({ ret_code: '0000', amt_balance: '0.00', amt_unsettle: '0.00' });
    handler = balanceProvider({ ...good, amt_balance: '100.00' });
    await expect(client().balance()).resolves.toMatchObject({ kind: 'unknown', reason: 'bad_signature' });
    handler = balanceProvider({ ret_code: '0000', amt_balance: '100.00', amt_unsettle: '0.00' });
    await expect(client().balance()).resolves.toMatchObject({ kind: 'unknown', reason: 'unsigned_success' });
    handler = balanceProvider(providerSigned({ ret_code: '0000', amt_balance: '100', amt_unsettle: '0.00' }));
    await expect(client().balance()).resolves.toMatchObject({ kind: 'unknown', reason: 'unparsable' });
    handler = balanceProvider({ ret_code: '9999', ret_msg: '系统异常' });
    await expect(client().balance()).resolves.toMatchObject({
      kind: 'unknown',
      reason: 'code',
      retCode: '9999',
    });
    handler = balanceProvider(good);
    await expect(client().balance()).resolves.toMatchObject({ kind: 'known', balanceFen: 0 });
  });

  it('balance: HTTP 502, an HTML body, a timeout and a refused connection → unknown', async () => {
    handler = (_request, res) =>
      json(res, 502, providerSigned({ ret_code: '0000', amt_balance: '1.00', amt_unsettle: '0.00' }));
    await expect(client().balance()).resolves.toEqual({ kind: 'unknown', reason: 'http_status' });
    handler = (_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>502</html>');
    };
    await expect(client().balance()).resolves.toEqual({ kind: 'unknown', reason: 'unparsable' });
    // Held until the client has given up: a client that waited could never resolve.
    const held: ServerResponse[] = [];
    handler = (_request, res) => {
      held.push(res);
    };
    await expect(client({ timeoutMs: 200 }).balance()).resolves.toEqual({
      kind: 'unknown',
      reason: 'timeout',
    });
    for (const res of held) json(res, 200, { ret_code: '9999' });
    const refused = client({ endpoints: resolveEndpoints({ base: closedBase }) });
    await expect(refused.balance()).resolves.toEqual({ kind: 'unknown', reason: 'network' });
  });
});
