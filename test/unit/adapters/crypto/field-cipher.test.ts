import 'aws-sdk-client-mock-vitest/extend';
import { createCipheriv, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSServiceException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type DataKeySource,
  EnvelopeFieldCipher,
  FieldCipherError,
  FieldKeyUnavailableError,
  KmsDataKeySource,
  LocalDataKeySource,
} from '../../../../src/adapters/crypto/field-cipher';
import { DependencyError } from '../../../../src/core/errors';
import type { PayeeSecret } from '../../../../src/core/model';

const CARD = '6222021234567890123'; // 19 digits
const NAME = '张三丰';
const SECRET: PayeeSecret = { card_no: CARD, acct_name: NAME };
const ORDER = 'PO20240101000001';
const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function localSource(): LocalDataKeySource {
  return new LocalDataKeySource(randomBytes(32));
}

/** Records the decrypt/generate calls a cipher makes, around a real local source. */
function countingSource(inner: DataKeySource = localSource()) {
  const calls = { generate: 0, decrypt: 0 };
  const source: DataKeySource = {
    generate: () => {
      calls.generate += 1;
      return inner.generate();
    },
    decrypt: (edk) => {
      calls.decrypt += 1;
      return inner.decrypt(edk);
    },
  };
  return { source, calls };
}

function edkOf(sealed: string): string {
  return sealed.split('.')[1]!;
}

type CipherFailure = FieldCipherError | FieldKeyUnavailableError;

/**
 * The failure of a seal/open. A key service failure is a DependencyError (retry later), anything else a
 * FieldCipherError (the data is wrong) — never both, never a bare Error.
 */
async function rejectionOf(promise: Promise<unknown>): Promise<CipherFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof FieldKeyUnavailableError) {
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.reason).toBe('key_unavailable');
    return error;
  }
  expect(error).toBeInstanceOf(FieldCipherError);
  expect(error).not.toBeInstanceOf(DependencyError);
  return error as FieldCipherError;
}

/** Every rendering of an error a logger might produce. */
function renderings(error: CipherFailure): string {
  return [error.message, String(error), error.stack ?? '', JSON.stringify(error)].join('\n');
}

function forbiddenFragments(secret: PayeeSecret, sealed?: string): string[] {
  const fragments = [secret.card_no, secret.acct_name];
  for (const value of [secret.card_no, secret.acct_name, JSON.stringify(secret)]) {
    for (const encoding of ['base64', 'base64url', 'hex'] as const) {
      fragments.push(Buffer.from(value, 'utf8').toString(encoding).replace(/=+$/, ''));
    }
  }
  if (sealed) fragments.push(sealed, ...sealed.split('.').slice(1));
  return fragments;
}

function expectNoLeak(error: CipherFailure, secret: PayeeSecret, sealed?: string): void {
  const text = renderings(error);
  for (const fragment of forbiddenFragments(secret, sealed)) expect(text).not.toContain(fragment);
}

describe('EnvelopeFieldCipher with LocalDataKeySource', () => {
  it('seals and opens a payee secret', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const sealed = await cipher.seal(SECRET, ORDER);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    await expect(cipher.open(sealed, ORDER)).resolves.toEqual(SECRET);
  });

  it('opens in another container (fresh cipher, same master key)', async () => {
    const master = randomBytes(32);
    const sealed = await new EnvelopeFieldCipher(new LocalDataKeySource(master)).seal(SECRET, ORDER);
    const other = new EnvelopeFieldCipher(new LocalDataKeySource(Buffer.from(master)));
    await expect(other.open(sealed, ORDER)).resolves.toEqual(SECRET);
  });

  it.each([
    '张三',
    '欧阳娜娜',
    '买买提·艾力',
    '𠀀𪚥 (supplementary plane)',
    '深圳市某某科技有限公司',
    'O\'Brien "quoted" \\ back\nslash',
    '',
  ])('round-trips the name %j exactly', async (name) => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const secret = { card_no: '6217000010001234567', acct_name: name };
    const sealed = await cipher.seal(secret, ORDER);
    const opened = await cipher.open(sealed, ORDER);
    expect(opened).toEqual(secret);
    expect(Buffer.from(opened.acct_name, 'utf8')).toEqual(Buffer.from(name, 'utf8'));
  });

  it('returns only card_no and acct_name', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const extra = { ...SECRET, cvv: '123' } as PayeeSecret;
    const opened = await cipher.open(await cipher.seal(extra, ORDER), ORDER);
    expect(Object.keys(opened).sort()).toEqual(['acct_name', 'card_no']);
  });

  it('leaves no trace of the card number or the name in the sealed string', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const sealed = await cipher.seal(SECRET, ORDER);
    for (const fragment of forbiddenFragments(SECRET)) expect(sealed).not.toContain(fragment);
    // Trailing 4 digits are what masks show; not even those in the clear.
    expect(sealed).not.toContain(CARD.slice(-8));
  });

  it('uses a fresh IV per seal (same input, different ciphertexts)', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const a = await cipher.seal(SECRET, ORDER);
    const b = await cipher.seal(SECRET, ORDER);
    expect(edkOf(a)).toBe(edkOf(b));
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    expect(a).not.toBe(b);
  });

  it('is bound to the no_order: opening under another order fails', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const sealed = await cipher.seal(SECRET, ORDER);
    for (const other of [`${ORDER}2`, ORDER.slice(0, -1), ORDER.toLowerCase(), ` ${ORDER}`]) {
      const error = await rejectionOf(cipher.open(sealed, other));
      expect(error.reason).toBe('rejected');
      expect(error.name).toBe('FieldCipherError');
      expectNoLeak(error, SECRET, sealed);
    }
  });

  it('rejects every single-character change of the sealed string', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const sealed = await cipher.seal(SECRET, ORDER);
    let tried = 0;
    for (let i = 0; i < sealed.length; i++) {
      const original = sealed[i]!;
      const shifted = B64U[(B64U.indexOf(original) + 1) % B64U.length]!;
      for (const replacement of new Set([shifted, original === 'A' ? 'B' : 'A', '.', '=', '+'])) {
        if (replacement === original) continue;
        const tampered = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
        const error = await rejectionOf(cipher.open(tampered, ORDER));
        expectNoLeak(error, SECRET, sealed);
        tried += 1;
      }
    }
    // Also dropping or adding a character anywhere.
    for (let i = 0; i < sealed.length; i++) {
      await rejectionOf(cipher.open(sealed.slice(0, i) + sealed.slice(i + 1), ORDER));
      await rejectionOf(cipher.open(`${sealed.slice(0, i)}A${sealed.slice(i)}`, ORDER));
      tried += 2;
    }
    expect(tried).toBeGreaterThan(sealed.length * 5);
    // The untouched value still opens: nothing above poisoned the key cache.
    await expect(cipher.open(sealed, ORDER)).resolves.toEqual(SECRET);
  });

  it.each([
    ['empty', ''],
    ['wrong version', 'v2.AAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['too few parts', 'v1.AAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['too many parts', 'v1.AAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA.AAAA'],
    ['short iv', 'v1.AAAA.AAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['short tag', 'v1.AAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAA'],
    ['empty ciphertext', 'v1.AAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.'],
    ['padding', 'v1.AAA=.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['standard base64 alphabet', 'v1.AA+/.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA'],
    ['huge', `v1.${'A'.repeat(10_000)}.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA`],
  ])('rejects a malformed value (%s) without calling the key source', async (_label, value) => {
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source);
    const error = await rejectionOf(cipher.open(value, ORDER));
    expect(error.reason).toBe('malformed');
    if (value.length > 4) expect(error.message).not.toContain(value);
    expect(calls.decrypt).toBe(0);
  });

  it('rejects non-string sealed values and an empty no_order', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    await rejectionOf(cipher.open(undefined as unknown as string, ORDER));
    await rejectionOf(cipher.open(42 as unknown as string, ORDER));
    await rejectionOf(cipher.seal(SECRET, ''));
    await rejectionOf(cipher.open(await cipher.seal(SECRET, ORDER), ''));
    await rejectionOf(cipher.seal({ card_no: 123 } as unknown as PayeeSecret, ORDER));
  });

  it('refuses to seal what it could not open again (oversized name)', async () => {
    const cipher = new EnvelopeFieldCipher(localSource());
    const long = { card_no: CARD, acct_name: '名'.repeat(500) };
    await expect(cipher.open(await cipher.seal(long, ORDER), ORDER)).resolves.toEqual(long);
    const huge = { card_no: CARD, acct_name: '名'.repeat(3000) };
    const error = await rejectionOf(cipher.seal(huge, ORDER));
    expect(error.reason).toBe('malformed');
    expect(error.message).not.toContain('名');
  });

  it('does not open a value sealed under another master key', async () => {
    const sealed = await new EnvelopeFieldCipher(localSource()).seal(SECRET, ORDER);
    const error = await rejectionOf(new EnvelopeFieldCipher(localSource()).open(sealed, ORDER));
    expect(error.reason).toBe('rejected');
    expectNoLeak(error, SECRET, sealed);
  });

  it('never puts plaintext, key material or the sealed value into any error', async () => {
    const secret = { card_no: '6228480402564890018', acct_name: '李四光' };
    const { source } = countingSource();
    const cipher = new EnvelopeFieldCipher(source);
    const sealed = await cipher.seal(secret, ORDER);
    const [, edk, iv, tag, ct] = sealed.split('.') as [string, string, string, string, string];
    const flippedCt = Buffer.from(ct, 'base64url');
    flippedCt[0]! ^= 1;
    const attempts = [
      cipher.open(sealed, 'OTHER'),
      cipher.open(`v1.${edk}.${iv}.${tag}.${flippedCt.toString('base64url')}`, ORDER),
      cipher.open(`v1.${edk}.${iv}.${Buffer.alloc(16).toString('base64url')}.${ct}`, ORDER),
      cipher.open(`v1.${Buffer.alloc(60).toString('base64url')}.${iv}.${tag}.${ct}`, ORDER),
      cipher.open(sealed.replace('v1.', 'v9.'), ORDER),
    ];
    for (const attempt of attempts) expectNoLeak(await rejectionOf(attempt), secret, sealed);
  });

  it('rejects a well-authenticated payload that is not a payee secret', async () => {
    // A source whose data key we know, so the test can forge a validly encrypted but wrong payload.
    const key = randomBytes(32);
    const source: DataKeySource = {
      generate: async () => ({ plaintext: Buffer.from(key), encrypted: Buffer.from('edk') }),
      decrypt: async () => Buffer.from(key),
    };
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(ORDER));
    const ct = Buffer.concat([c.update('{"card_no":1}', 'utf8'), c.final()]);
    const forged = ['v1', Buffer.from('edk'), iv, c.getAuthTag(), ct]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
    const error = await rejectionOf(new EnvelopeFieldCipher(source).open(forged, ORDER));
    expect(error.reason).toBe('malformed');
  });
});

describe('data key reuse and rotation', () => {
  it('calls source.generate once for 100 seals', async () => {
    const source = localSource();
    const generate = vi.spyOn(source, 'generate');
    const decrypt = vi.spyOn(source, 'decrypt');
    const cipher = new EnvelopeFieldCipher(source);
    for (let i = 0; i < 100; i++) await cipher.seal(SECRET, `PO${i}`);
    expect(generate).toHaveBeenCalledTimes(1);
    expect(decrypt).not.toHaveBeenCalled();
  });

  it('reuses one data key for 100 seals', async () => {
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source);
    const sealed: string[] = [];
    for (let i = 0; i < 100; i++) sealed.push(await cipher.seal(SECRET, `PO${i}`));
    expect(calls.generate).toBe(1);
    expect(new Set(sealed.map(edkOf)).size).toBe(1);
    // Opening in the same container needs no decrypt: the generated key is already cached.
    await expect(cipher.open(sealed[42]!, 'PO42')).resolves.toEqual(SECRET);
    expect(calls.decrypt).toBe(0);
  });

  it('makes one generate call for concurrent first seals', async () => {
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source);
    const sealed = await Promise.all(Array.from({ length: 50 }, (_, i) => cipher.seal(SECRET, `PO${i}`)));
    expect(calls.generate).toBe(1);
    expect(new Set(sealed.map(edkOf)).size).toBe(1);
  });

  it('rotates the data key once it is older than maxKeyAgeMs', async () => {
    let now = 1_000_000;
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source, { maxKeyAgeMs: 60_000, clock: () => now });
    const first = await cipher.seal(SECRET, 'PO1');
    now += 59_999;
    const second = await cipher.seal(SECRET, 'PO2');
    expect(calls.generate).toBe(1);
    expect(edkOf(second)).toBe(edkOf(first));
    now += 2;
    const third = await cipher.seal(SECRET, 'PO3');
    expect(calls.generate).toBe(2);
    expect(edkOf(third)).not.toBe(edkOf(first));
    // Values sealed under the retired key still open.
    await expect(cipher.open(first, 'PO1')).resolves.toEqual(SECRET);
  });

  it('uses the default age limit of 5 minutes', async () => {
    let now = 0;
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source, { clock: () => now });
    await cipher.seal(SECRET, 'PO1');
    now = 5 * 60_000 - 1;
    await cipher.seal(SECRET, 'PO2');
    expect(calls.generate).toBe(1);
    now = 5 * 60_000 + 1;
    await cipher.seal(SECRET, 'PO3');
    expect(calls.generate).toBe(2);
  });

  it('rotates the data key after maxKeyUses seals', async () => {
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source, { maxKeyUses: 3 });
    const sealed: string[] = [];
    for (let i = 0; i < 7; i++) sealed.push(await cipher.seal(SECRET, `PO${i}`));
    expect(calls.generate).toBe(3);
    const edks = sealed.map(edkOf);
    expect(new Set(edks.slice(0, 3)).size).toBe(1);
    expect(new Set(edks.slice(3, 6)).size).toBe(1);
    expect(edks[3]).not.toBe(edks[2]);
    expect(edks[6]).not.toBe(edks[5]);
  });

  it('never seals more than maxKeyUses values under one key, even concurrently', async () => {
    const { source, calls } = countingSource();
    const cipher = new EnvelopeFieldCipher(source, { maxKeyUses: 4 });
    const sealed = await Promise.all(Array.from({ length: 20 }, (_, i) => cipher.seal(SECRET, `PO${i}`)));
    const perKey = new Map<string, number>();
    for (const s of sealed) perKey.set(edkOf(s), (perKey.get(edkOf(s)) ?? 0) + 1);
    expect(Math.max(...perKey.values())).toBeLessThanOrEqual(4);
    expect(calls.generate).toBe(5);
  });

  it('does not cache a failed generate: the next seal retries', async () => {
    const inner = localSource();
    let fail = true;
    const source: DataKeySource = {
      generate: () => (fail ? Promise.reject(new Error('throttled')) : inner.generate()),
      decrypt: (edk) => inner.decrypt(edk),
    };
    const cipher = new EnvelopeFieldCipher(source);
    const error = await rejectionOf(cipher.seal(SECRET, ORDER));
    expect(error.reason).toBe('key_unavailable');
    expect((error.cause as Error).message).toBe('throttled');
    fail = false;
    await expect(cipher.open(await cipher.seal(SECRET, ORDER), ORDER)).resolves.toEqual(SECRET);
  });

  it('decrypts the data key once when opening many values sealed under it (new container)', async () => {
    const master = randomBytes(32);
    const sealer = new EnvelopeFieldCipher(new LocalDataKeySource(master));
    const sealed = await Promise.all(Array.from({ length: 50 }, (_, i) => sealer.seal(SECRET, `PO${i}`)));
    const { source, calls } = countingSource(new LocalDataKeySource(master));
    const opener = new EnvelopeFieldCipher(source);
    // Concurrently, too: the in-flight decrypt is shared.
    const opened = await Promise.all(sealed.map((s, i) => opener.open(s, `PO${i}`)));
    expect(opened.every((o) => o.card_no === CARD && o.acct_name === NAME)).toBe(true);
    for (const [i, s] of sealed.entries()) await opener.open(s, `PO${i}`);
    expect(calls.decrypt).toBe(1);
    expect(calls.generate).toBe(0);
  });

  it('keeps a bounded LRU of opened data keys', async () => {
    const master = randomBytes(32);
    const sealer = new EnvelopeFieldCipher(new LocalDataKeySource(master), { maxKeyUses: 1 });
    const [a, b, c] = [
      await sealer.seal(SECRET, 'A'),
      await sealer.seal(SECRET, 'B'),
      await sealer.seal(SECRET, 'C'),
    ];
    const { source, calls } = countingSource(new LocalDataKeySource(master));
    const opener = new EnvelopeFieldCipher(source, { cacheSize: 2 });
    await opener.open(a!, 'A');
    await opener.open(b!, 'B');
    await opener.open(a!, 'A'); // hit; A becomes most recent
    expect(calls.decrypt).toBe(2);
    await opener.open(c!, 'C'); // evicts B (least recently used)
    await opener.open(a!, 'A'); // still cached
    expect(calls.decrypt).toBe(3);
    await opener.open(b!, 'B'); // was evicted
    expect(calls.decrypt).toBe(4);
  });
});

describe('LocalDataKeySource', () => {
  it('builds from base64 of 32 bytes', async () => {
    const source = LocalDataKeySource.fromBase64(randomBytes(32).toString('base64'));
    const { plaintext, encrypted } = await source.generate();
    expect(plaintext).toHaveLength(32);
    expect(encrypted).toHaveLength(60);
    expect(encrypted.includes(plaintext)).toBe(false);
    await expect(source.decrypt(encrypted)).resolves.toEqual(plaintext);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['not base64', 'not base64 at all!'],
    ['empty', ''],
    ['undefined', undefined],
  ])('refuses a master key of %s, naming LOCAL_FIELD_KEY but not the value', (_label, value) => {
    let error: unknown;
    try {
      LocalDataKeySource.fromBase64(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('LOCAL_FIELD_KEY');
    if (value) expect((error as Error).message).not.toContain(value);
  });

  it('refuses a raw master key that is not 32 bytes', () => {
    expect(() => new LocalDataKeySource(randomBytes(31))).toThrow(/LOCAL_FIELD_KEY/);
  });

  it('rejects a wrapped key that was tampered with', async () => {
    const source = localSource();
    const { encrypted } = await source.generate();
    encrypted[encrypted.length - 1]! ^= 1;
    const error = await rejectionOf(source.decrypt(encrypted));
    expect(error.reason).toBe('rejected');
  });
});

describe('EnvelopeFieldCipher with KmsDataKeySource', () => {
  const kmsMock = mockClient(KMSClient);
  const KEY_ID = 'alias/field';
  const CONTEXT = { purpose: 'lianlian-payout/payee-fields' };
  /** A fake KMS: GenerateDataKey returns a random key and a random 184-byte blob; Decrypt maps it back. */
  let issued: Map<string, Buffer>;
  /** Set to make the next call of that operation fail. */
  let failNext: { generate?: Error; decrypt?: Error };

  beforeEach(() => {
    kmsMock.reset();
    issued = new Map();
    failNext = {};
    kmsMock.on(GenerateDataKeyCommand).callsFake(() => {
      const failure = failNext.generate;
      failNext.generate = undefined;
      if (failure) throw failure;
      const plaintext = randomBytes(32);
      const blob = randomBytes(184);
      issued.set(blob.toString('hex'), plaintext);
      return {
        KeyId: 'arn:aws:kms:ap-east-1:111122223333:key/abc',
        Plaintext: plaintext,
        CiphertextBlob: blob,
      };
    });
    kmsMock.on(DecryptCommand).callsFake((input) => {
      const failure = failNext.decrypt;
      failNext.decrypt = undefined;
      if (failure) throw failure;
      const plaintext = issued.get(Buffer.from(input.CiphertextBlob!).toString('hex'));
      if (!plaintext) {
        throw new InvalidCiphertextException({ $metadata: {}, message: 'invalid ciphertext' });
      }
      return { KeyId: 'arn:aws:kms:ap-east-1:111122223333:key/abc', Plaintext: Buffer.from(plaintext) };
    });
  });

  function kmsCipher(): EnvelopeFieldCipher {
    return new EnvelopeFieldCipher(
      new KmsDataKeySource({ kms: new KMSClient({ region: 'ap-east-1' }), keyId: KEY_ID }),
    );
  }

  it('sends exactly GenerateDataKey { KeyId, KeySpec AES_256, field context } once for many seals', async () => {
    const cipher = kmsCipher();
    for (let i = 0; i < 10; i++) await cipher.seal(SECRET, `PO${i}`);
    expect(kmsMock).toHaveReceivedCommandWith(GenerateDataKeyCommand, {
      KeyId: 'alias/field',
      KeySpec: 'AES_256',
      EncryptionContext: { purpose: 'lianlian-payout/payee-fields' },
    });
    expect(kmsMock).toHaveReceivedCommandTimes(GenerateDataKeyCommand, 1);
    // Exactly these fields, nothing else (no NumberOfBytes, no grant tokens).
    expect(kmsMock.commandCalls(GenerateDataKeyCommand)[0]!.args[0].input).toEqual({
      KeyId: KEY_ID,
      KeySpec: 'AES_256',
      EncryptionContext: CONTEXT,
    });
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('opens in a new container with one Decrypt { CiphertextBlob, KeyId, field context }', async () => {
    const sealed = await Promise.all(Array.from({ length: 5 }, (_, i) => kmsCipher().seal(SECRET, `PO${i}`)));
    // Five different containers sealed: five keys.
    expect(kmsMock).toHaveReceivedCommandTimes(GenerateDataKeyCommand, 5);
    const single = await kmsCipher().seal(SECRET, 'ONE');
    const blob = Buffer.from(edkOf(single), 'base64url');
    expect(blob).toHaveLength(184);
    kmsMock.resetHistory();

    const opener = kmsCipher();
    for (let round = 0; round < 3; round++) await expect(opener.open(single, 'ONE')).resolves.toEqual(SECRET);
    expect(kmsMock).toHaveReceivedCommandExactlyOnceWith(DecryptCommand, {
      CiphertextBlob: blob,
      KeyId: 'alias/field',
      EncryptionContext: { purpose: 'lianlian-payout/payee-fields' },
    });
    const input = kmsMock.commandCalls(DecryptCommand)[0]!.args[0].input;
    expect(input).toEqual({ CiphertextBlob: blob, KeyId: KEY_ID, EncryptionContext: CONTEXT });
    expect(Buffer.from(input.CiphertextBlob!).equals(blob)).toBe(true);

    for (const [i, s] of sealed.entries()) await expect(opener.open(s, `PO${i}`)).resolves.toEqual(SECRET);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 6);
    expect(kmsMock).not.toHaveReceivedCommand(GenerateDataKeyCommand);
  });

  it('has the documented sealed size (19-digit card, 3-character Chinese name)', async () => {
    const kmsSealed = await kmsCipher().seal(SECRET, ORDER);
    const localSealed = await new EnvelopeFieldCipher(localSource()).seal(SECRET, ORDER);
    // v1 + 4 dots + edk + iv(16) + tag(22) + ct(57 bytes JSON → 76)
    expect(kmsSealed.length).toBe(2 + 4 + 246 + 16 + 22 + 76);
    expect(localSealed.length).toBe(2 + 4 + 80 + 16 + 22 + 76);
  });

  it('surfaces a KMS failure on Decrypt as a dependency error with the cause, and retries next time', async () => {
    const sealed = await kmsCipher().seal(SECRET, ORDER);
    const denied = new KMSServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'User: arn:aws:sts::111122223333:assumed-role/apply is not authorized to perform: kms:Decrypt',
    });
    failNext.decrypt = denied;
    const opener = kmsCipher();
    const error = await rejectionOf(opener.open(sealed, ORDER));
    expect(error.cause).toBe(denied);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.reason).toBe('key_unavailable');
    expect(error.message).toContain('AccessDeniedException');
    expectNoLeak(error, SECRET, sealed);
    // The failure was not cached: the next open calls KMS again and succeeds.
    await expect(opener.open(sealed, ORDER)).resolves.toEqual(SECRET);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 2);
  });

  it('surfaces a KMS failure on GenerateDataKey as a dependency error with the cause', async () => {
    const throttled = new KMSServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: {},
      message: 'Rate exceeded',
    });
    failNext.generate = throttled;
    const cipher = kmsCipher();
    const error = await rejectionOf(cipher.seal(SECRET, ORDER));
    expect(error.cause).toBe(throttled);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error.reason).toBe('key_unavailable');
    expectNoLeak(error, SECRET);
    await expect(cipher.seal(SECRET, ORDER)).resolves.toMatch(/^v1\./);
  });

  it('reports a ciphertext KMS does not recognise as rejected', async () => {
    const sealed = await kmsCipher().seal(SECRET, ORDER);
    const parts = sealed.split('.');
    const blob = Buffer.from(parts[1]!, 'base64url');
    blob[10]! ^= 0xff;
    parts[1] = blob.toString('base64url');
    const error = await rejectionOf(kmsCipher().open(parts.join('.'), ORDER));
    expect(error.reason).toBe('rejected');
    expect(error.cause).toBeInstanceOf(InvalidCiphertextException);
  });

  it('refuses a KMS answer without key material', async () => {
    kmsMock.on(GenerateDataKeyCommand).resolves({ CiphertextBlob: randomBytes(184) });
    const error = await rejectionOf(kmsCipher().seal(SECRET, ORDER));
    expect(error.reason).toBe('key_unavailable');
  });

  it('needs a key id', () => {
    expect(() => new KmsDataKeySource({ kms: new KMSClient({}), keyId: '' })).toThrow(/FIELD_KEY_KMS_KEY_ID/);
  });
});
