/**
 * Cross-check against the reference implementation: `openssl dgst -md5 -sign` is MD5withRSA
 * (RSASSA-PKCS1-v1_5 over MD5), which is what the provider's Java demo produces.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPrivateKeyBase64, parsePrivateKey } from '../../../src/lianlian/keys';
import {
  buildSignString,
  md5Sign,
  rsaSignString,
  rsaVerifyString,
  signFields,
  verifyFields,
} from '../../../src/lianlian/sign';
import { MERCHANT, personalApply, type RsaPair, rsaPair } from './fixtures';

const SAMPLES: Record<string, string> = {
  ascii: 'a=1&b=2&sign_type=RSA',
  chinese: buildSignString({
    ...personalApply({
      info_order: '佣金结算 & 奖金=100%',
      notify_url: 'https://merchant.example.com/notify?a=1&b=2',
    }),
    sign_type: 'RSA',
  }),
};

let dir: string;
let k1024: RsaPair;
let k2048: RsaPair;
let counter = 0;

function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${counter++}-${name}`);
  writeFileSync(path, content);
  return path;
}

function opensslSign(text: string, keyPem: string): string {
  const data = file('data.txt', Buffer.from(text, 'utf8'));
  const key = file('key.pem', keyPem);
  return execFileSync('openssl', ['dgst', '-md5', '-sign', key, data]).toString('base64');
}

function opensslVerify(text: string, signatureBase64: string, publicPem: string): boolean {
  const data = file('data.txt', Buffer.from(text, 'utf8'));
  const pub = file('pub.pem', publicPem);
  const sig = file('sig.bin', Buffer.from(signatureBase64, 'base64'));
  try {
    const out = execFileSync('openssl', ['dgst', '-md5', '-verify', pub, '-signature', sig, data], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    return out.includes('Verified OK');
  } catch {
    return false; // openssl exits 1 on "Verification failure"
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lianlian-openssl-'));
  k1024 = rsaPair(1024);
  k2048 = rsaPair(2048);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('MD5withRSA matches openssl dgst -md5 -sign', () => {
  it('openssl 3 is on PATH', () => {
    expect(execFileSync('openssl', ['version']).toString()).toMatch(/^OpenSSL 3\./);
  });

  it('the Chinese sample really contains multi-byte UTF-8', () => {
    const text = SAMPLES.chinese!;
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(text.length);
    expect(text).toContain('acct_name=张三');
  });

  for (const [name, text] of Object.entries(SAMPLES)) {
    for (const bits of [1024, 2048] as const) {
      it(`byte-identical signature (${name}, ${bits}-bit, PKCS#8 and PKCS#1 PEM)`, () => {
        const pair = bits === 1024 ? k1024 : k2048;
        const ours = rsaSignString(text, pair.privateKey);
        for (const type of ['pkcs8', 'pkcs1'] as const) {
          const pem = pair.privateKey.export({ format: 'pem', type }) as string;
          expect(opensslSign(text, pem)).toBe(ours);
        }
        // And via the provider's key form (base64 PKCS#8 DER) parsed by our own loader.
        const loaded = parsePrivateKey(exportPrivateKeyBase64(pair.privateKey));
        expect(rsaSignString(text, loaded)).toBe(ours);
        expect(ours).toHaveLength(bits === 1024 ? 172 : 344);
      });

      it(`our verifier accepts openssl's signature and rejects a tampered one (${name}, ${bits}-bit)`, () => {
        const pair = bits === 1024 ? k1024 : k2048;
        const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
        const theirs = opensslSign(text, pem);
        expect(rsaVerifyString(text, theirs, pair.publicKey)).toBe(true);
        // Tampered text.
        expect(rsaVerifyString(`${text}x`, theirs, pair.publicKey)).toBe(false);
        expect(rsaVerifyString(text.replace('=', '=0'), theirs, pair.publicKey)).toBe(false);
        // Tampered signature: one bit flipped in the middle.
        const raw = Buffer.from(theirs, 'base64');
        raw[raw.length >> 1] = raw[raw.length >> 1]! ^ 0x01;
        expect(rsaVerifyString(text, raw.toString('base64'), pair.publicKey)).toBe(false);
      });
    }
  }

  it('openssl verifies a message signed by signFields, and verifyFields agrees', () => {
    const fields = {
      oid_partner: MERCHANT,
      no_order: 'PO1',
      acct_name: '李四',
      info_order: '退款 100%',
    };
    const signed = signFields(fields, { signType: 'RSA', privateKey: k1024.privateKey });
    const publicPem = k1024.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(opensslVerify(buildSignString(signed), signed.sign, publicPem)).toBe(true);
    expect(opensslVerify(buildSignString({ ...signed, acct_name: '王五' }), signed.sign, publicPem)).toBe(
      false,
    );
    expect(verifyFields(signed, { publicKey: k1024.publicKey }).ok).toBe(true);
  });

  it('MD5 signing matches openssl dgst -md5 over signString + "&key=" + key', () => {
    const text = SAMPLES.chinese!;
    const data = file('md5.txt', Buffer.from(`${text}&key=merchant-md5-key`, 'utf8'));
    const out = execFileSync('openssl', ['dgst', '-md5', '-r', data]).toString();
    expect(md5Sign(text, 'merchant-md5-key')).toBe(out.split(' ')[0]);
  });
});
