import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../../functions/shared/observability';
import { TEST_OID_PARTNER } from '../../support/fakes';

/**
 * The log redactor, as Powertools uses it: a JSON.stringify replacer over the whole record. What it must
 * hide (payee data, keys, signatures) and what it must keep (how an operator finds a record again).
 */

const CARD = '6222020000000000123';
const CARD_16 = '6222000000004321';
const NAME = '测试收款人';
const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAFAKEFAKEFAKEFAKE',
  '-----END PRIVATE KEY-----',
].join('\n');
const BASE64_KEY = `MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGB${'QUJD'.repeat(40)}`;
const SIGNATURE = `${'c2lnbmF0dXJl'.repeat(15)}==`;
const SEQUENCE = '4421584500000000017450439091';
const SHORT_SEQUENCE = '111000000000000000001';

function rendered(record: unknown): string {
  return JSON.stringify(record, redact);
}

describe('redact: what must go', () => {
  it.each([
    ['a card number under card_no', { card_no: CARD }, CARD],
    ['a payee name under acct_name', { acct_name: NAME }, NAME],
    ['a payee name under acctName', { acctName: NAME }, NAME],
    ['a card number nested deep', { a: { b: [{ c: `payee ${CARD}` }] } }, CARD],
    ['a 16-digit card in a message', { message: `apply failed for card ${CARD_16}.` }, CARD_16],
    [
      'a card number grouped by spaces',
      { message: 'card 6222 0200 0000 0000 123 refused' },
      '0200 0000 0000',
    ],
    ['a card number as a JSON number', { value: 6222020000000000 }, '6222020000000000'],
    ['a card number inside a raw body', { body: `{"card_no":"${CARD}","acct_name":"x"}` }, CARD],
    ['the sealed payee', { payee_sealed: 'v1.abc.def.ghi.jkl' }, 'v1.abc'],
    ['a signature under sign', { sign: 'abc123==' }, 'abc123=='],
    ['a signature in a message', { message: `bad sign ${SIGNATURE}` }, SIGNATURE.slice(0, 40)],
    ['a private key under its name', { LLP_MERCHANT_PRIVATE_KEY: 'secret-bytes' }, 'secret-bytes'],
    ['an MD5 key', { md5_key: 'md5secret' }, 'md5secret'],
    ['a PEM block anywhere', { message: `loaded ${PEM}` }, 'MIICdwIBADANBgkqhkiG9w0BAQEF'],
    ['a base64 DER key in a message', { detail: `key ${BASE64_KEY}` }, BASE64_KEY.slice(0, 40)],
    ['an authorization header', { headers: { Authorization: 'Bearer token' } }, 'Bearer token'],
    ['plaintext', { plaintext: 'anything' }, 'anything'],
  ])('%s', (_, record, secret) => {
    const out = rendered(record);
    expect(out).not.toContain(secret);
    expect(out).toMatch(/\[REDACTED/);
  });
});

describe('redact: what must stay', () => {
  it.each([
    ['a stream sequence number', { sequenceNumber: SEQUENCE }],
    ['a stream sequence number in a message', { message: `retry from ${SEQUENCE}` }],
    ['a 21-digit sequence number anywhere', { seq: SHORT_SEQUENCE }],
    ['a SequenceNumber as the stream names it', { SequenceNumber: '000000000000000000017' }],
    ['a request id', { requestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678' }],
    ['an aws request id', { function_request_id: '12345678-1234-1234-1234-123456789012' }],
    ['a no_order', { no_order: '20261130000000000123' }],
    ['a 16-digit no_order', { no_order: '2026113000000012' }],
    ['an oid_paybill', { oid_paybill: '2026113012345678' }],
    ['a dt_order', { dt_order: '20261130012326' }],
    ['an oid_partner', { oid_partner: TEST_OID_PARTNER }],
    ['an event id', { id: '2026113000000012:3' }],
    ['a stream event id', { eventID: 'c4ca4238a0b923820dcc509a6f75849b' }],
    ['a shard id', { shard: 'shardId-00000001414562045508-2bac9cd2' }],
    ['an ISO timestamp', { at: '2026-11-30T01:23:26.123Z' }],
    ['an amount', { money_order: '1234567.89' }],
    ['an amount in fen', { amount_fen: 123456789 }],
    ['the sign type', { sign_type: 'RSA' }],
    ['an error name', { error: { name: 'DependencyError' } }],
  ])('%s', (_, record) => {
    expect(JSON.parse(rendered(record))).toEqual(record);
  });
});

describe('the logger', () => {
  it('runs every record through the redactor', () => {
    const lines: string[] = [];
    // Patched by hand: the config's restoreMocks would undo a spy. Warnings go to stderr.
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      createLogger('redact-test').warn('stream record failed', {
        sequenceNumber: SEQUENCE,
        body: { card_no: CARD, acct_name: NAME },
      });
    } finally {
      process.stderr.write = write;
    }
    const out = lines.join('');
    expect(out).toContain(SEQUENCE);
    expect(out).not.toContain(CARD);
    expect(out).not.toContain(NAME);
  });
});
