import type {
  ApplyOutcome,
  BalanceOutcome,
  BalanceQuery,
  ProviderClient,
  QueryOutcome,
  UnknownReason,
} from '../../core/ports';
import { classifyRetCode } from '../../lianlian/codes';
import type { ProviderEndpoints } from '../../lianlian/endpoints';
import {
  type ApplyFields,
  applyFieldsSchema,
  applyResponseSchema,
  type BalanceApiVersion,
  balanceAnswerSchema,
  balanceApiVersion,
  fieldErrors,
  parseWireBody,
  queryResultSchema,
} from '../../lianlian/messages';
import { parseWireBalance } from '../../lianlian/money';
import {
  type SigningKeys,
  signFields,
  type VerifyingKeys,
  verifyFields,
  verifyQueryResponse,
} from '../../lianlian/sign';

/** The provider's HTTP API behind the core's ProviderClient and BalanceQuery ports. */

export interface HttpProviderClientOptions {
  /**
   * Where apply and query go: one base in the 2014 layout or each URL on its own (the later hosts split
   * them, spec §12). Build it with `resolveEndpoints`.
   */
  readonly endpoints: ProviderEndpoints;
  readonly oidPartner: string;
  readonly signing: SigningKeys;
  readonly verifying: VerifyingKeys;
  /** `api_version` of the balance query (spec §11): default `1.0`, as in the official demos. */
  readonly balanceApiVersion?: BalanceApiVersion;
  /** Default 10 s: the provider's own notification timeout is 5 s, and Lambda's budget is finite. */
  readonly timeoutMs?: number;
  readonly fetchImpl?: typeof fetch;
}

type Transport = { ok: true; fields: Record<string, string> } | { ok: false; reason: UnknownReason };

/**
 * Apply fields that must never be signed (spec §13: `&`/`=` in free text, or any other format the wire
 * schema refuses). The merchant API refuses them first, so reaching this is a bug in the caller. Nothing
 * was sent. Names the fields, never their values (they include the payee's).
 */
export class UnsendableApplyError extends Error {
  override readonly name = 'UnsendableApplyError';
  constructor(readonly fields: readonly string[]) {
    super(`apply not sent: invalid field(s) ${fields.join(', ')}`);
  }
}

/**
 * HTTP client for apply, query and the balance query. It never throws transport errors at callers: every
 * answer becomes a classified outcome, and anything it cannot prove is `unknown`. The only throws are
 * UnsendableApplyError, raised before sending, and a RangeError from the constructor for a
 * balanceApiVersion other than 1.0 / 1.1.
 */
export class HttpProviderClient implements ProviderClient, BalanceQuery {
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly balanceApiVersion: BalanceApiVersion;

  constructor(private readonly options: HttpProviderClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetchImpl ?? fetch;
    // Checked here, not at the first query: a typo in the configuration should stop the start, not every
    // balance query after it.
    const version = balanceApiVersion.safeParse(options.balanceApiVersion ?? '1.0');
    if (!version.success) throw new RangeError('balanceApiVersion must be "1.0" or "1.1"');
    this.balanceApiVersion = version.data;
  }

  /** Throws UnsendableApplyError, before anything is sent, for fields the wire schema refuses. */
  async apply(fields: ApplyFields): Promise<ApplyOutcome> {
    // Defence in depth: a value with `&` or `=` would let the signature be re-read as other fields.
    const checked = applyFieldsSchema.safeParse(fields);
    if (!checked.success) throw new UnsendableApplyError(fieldErrors(checked.error).map((e) => e.field));
    const body = signFields({ ...fields }, this.options.signing);
    const answer = await this.post(this.options.endpoints.applyUrl, body);
    if (!answer.ok) return { kind: 'unknown', reason: answer.reason };
    return classifyApplyAnswer(answer.fields, this.options.verifying, {
      oidPartner: this.options.oidPartner,
      noOrder: fields.no_order,
    });
  }

  async query(noOrder: string, dtOrder?: string): Promise<QueryOutcome> {
    // type_dc=1 is mandatory: without it the provider searches receipts and answers 8901 (trap §10.1).
    const body = signFields(
      {
        oid_partner: this.options.oidPartner,
        no_order: noOrder,
        type_dc: '1',
        query_version: '1.1',
        ...(dtOrder ? { dt_order: dtOrder } : {}),
      },
      this.options.signing,
    );
    const answer = await this.post(this.options.endpoints.queryUrl, body);
    if (!answer.ok) return { kind: 'unknown', reason: answer.reason };
    return classifyQueryAnswer(answer.fields, this.options.verifying, {
      oidPartner: this.options.oidPartner,
      noOrder,
    });
  }

  /**
   * The merchant's balance (spec §11). Without a configured balance URL nothing is sent and the answer is
   * `unknown` / `not_configured`: the one shape every caller already handles, and never a zero.
   */
  async balance(): Promise<BalanceOutcome> {
    const url = this.options.endpoints.balanceUrl;
    if (url === undefined) return { kind: 'unknown', reason: 'not_configured' };
    const body = signFields(
      { oid_partner: this.options.oidPartner, api_version: this.balanceApiVersion },
      this.options.signing,
    );
    const answer = await this.post(url, body);
    if (!answer.ok) return { kind: 'unknown', reason: answer.reason };
    return classifyBalanceAnswer(answer.fields, this.options.verifying, {
      oidPartner: this.options.oidPartner,
    });
  }

  private async post(url: string, body: Record<string, string>): Promise<Transport> {
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const name = (error as { name?: string }).name;
      return { ok: false, reason: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' };
    }
    if (response.status < 200 || response.status > 299) return { ok: false, reason: 'http_status' };
    const parsed = parseWireBody(text);
    if (!parsed.ok) return { ok: false, reason: 'unparsable' };
    return { ok: true, fields: parsed.fields };
  }
}

interface Expect {
  readonly oidPartner: string;
  readonly noOrder: string;
}

/** Exported for the sandbox's self-tests and for the bench: the pure half of the client. */
export function classifyApplyAnswer(
  fields: Record<string, string>,
  keys: VerifyingKeys,
  expect: Expect,
): ApplyOutcome {
  const parsed = applyResponseSchema.safeParse(fields);
  if (!parsed.success) return { kind: 'unknown', reason: 'unparsable' };
  const { ret_code: retCode, ret_msg: retMsg } = parsed.data;
  const hasSign = fields.sign !== undefined && fields.sign !== '';
  // A signature that is present is always checked, whatever the code: a failed check proves nothing.
  if (hasSign && !verifyFields(fields, keys).ok)
    return { kind: 'unknown', reason: 'bad_signature', retCode, retMsg };
  const info = classifyRetCode(retCode);
  if (info.conclusion === 'accepted') {
    // 0000 is only believed with a valid signature that names our merchant and order.
    if (!hasSign) return { kind: 'unknown', reason: 'unsigned_success', retCode, retMsg };
    if (
      (fields.oid_partner !== undefined && fields.oid_partner !== expect.oidPartner) ||
      (fields.no_order !== undefined && fields.no_order !== expect.noOrder)
    ) {
      return { kind: 'unknown', reason: 'mismatch', retCode, retMsg };
    }
    return { kind: 'accepted', retCode: '0000', retMsg, oidPaybill: fields.oid_paybill || undefined };
  }
  if (info.conclusion === 'rejected') return { kind: 'rejected', retCode, retMsg };
  // 8901 in answer to an apply, 1002, 2005, 9999 and codes outside the catalogue: unknown.
  return { kind: 'unknown', reason: 'code', retCode, retMsg, knownCode: info.known };
}

export function classifyQueryAnswer(
  fields: Record<string, string>,
  keys: VerifyingKeys,
  expect: Expect,
): QueryOutcome {
  const retCode = fields.ret_code;
  const retMsg = fields.ret_msg;
  if (retCode === undefined) return { kind: 'unknown', reason: 'unparsable' };
  const hasSign = fields.sign !== undefined && fields.sign !== '';
  if (hasSign && !verifyQueryResponse(fields, keys).ok) {
    return { kind: 'unknown', reason: 'bad_signature', retCode, retMsg };
  }
  if (retCode === '8901') return { kind: 'not_found', retCode, retMsg };
  if (retCode !== '0000') {
    return { kind: 'unknown', reason: 'code', retCode, retMsg, knownCode: classifyRetCode(retCode).known };
  }
  if (!hasSign) return { kind: 'unknown', reason: 'unsigned_success', retCode, retMsg };
  const parsed = queryResultSchema.safeParse(fields);
  if (!parsed.success) return { kind: 'unknown', reason: 'unparsable', retCode, retMsg };
  if (parsed.data.oid_partner !== expect.oidPartner || parsed.data.no_order !== expect.noOrder) {
    return { kind: 'unknown', reason: 'mismatch', retCode, retMsg };
  }
  return { kind: 'found', result: parsed.data };
}

/**
 * A balance answer (spec §11), verified like every other: a present signature is checked whatever the
 * code, a 0000 is only believed signed, and both figures must be yuan with exactly 2 decimals. Anything
 * else is `unknown`, never a zero balance.
 */
export function classifyBalanceAnswer(
  fields: Record<string, string>,
  keys: VerifyingKeys,
  expect: { readonly oidPartner: string },
): BalanceOutcome {
  const retCode = fields.ret_code;
  const retMsg = fields.ret_msg;
  if (retCode === undefined) return { kind: 'unknown', reason: 'unparsable' };
  const hasSign = fields.sign !== undefined && fields.sign !== '';
  if (hasSign && !verifyFields(fields, keys).ok) {
    return { kind: 'unknown', reason: 'bad_signature', retCode, retMsg };
  }
  if (retCode !== '0000') {
    return { kind: 'unknown', reason: 'code', retCode, retMsg, knownCode: classifyRetCode(retCode).known };
  }
  if (!hasSign) return { kind: 'unknown', reason: 'unsigned_success', retCode, retMsg };
  const parsed = balanceAnswerSchema.safeParse(fields);
  if (!parsed.success) return { kind: 'unknown', reason: 'unparsable', retCode, retMsg };
  const { oid_partner: oidPartner, amt_balance: balance, amt_unsettle: unsettled } = parsed.data;
  if (oidPartner !== undefined && oidPartner !== '' && oidPartner !== expect.oidPartner) {
    return { kind: 'unknown', reason: 'mismatch', retCode, retMsg };
  }
  const balanceFen = parseWireBalance(balance);
  const unsettledFen = parseWireBalance(unsettled);
  // The schema already checked both; this only narrows the types.
  if (!balanceFen.ok || !unsettledFen.ok) return { kind: 'unknown', reason: 'unparsable', retCode, retMsg };
  return {
    kind: 'known',
    balanceFen: balanceFen.fen,
    unsettledFen: unsettledFen.fen,
    ...(retMsg !== undefined ? { retMsg } : {}),
  };
}
