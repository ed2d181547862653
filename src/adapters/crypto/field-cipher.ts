import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ENV, FIELD_KEY_CONTEXT } from '../../config/contract';
import { DependencyError } from '../../core/errors';
import type { PayeeSecret } from '../../core/model';
import type { FieldCipher } from '../../core/ports';

/**
 * Field-level envelope encryption of the payee's card number and name.
 *
 * Sealed form: `v1.<edk>.<iv>.<tag>.<ct>`, every part unpadded base64url:
 * - edk: the encrypted data key as the DataKeySource made it (KMS CiphertextBlob, or a local wrap);
 * - iv: 12 random bytes; tag: the 16-byte GCM tag;
 * - ct: AES-256-GCM of the UTF-8 JSON `{"card_no":…,"acct_name":…}` with AAD = UTF-8 of the no_order,
 *   so a sealed value moved to another order does not open.
 *
 * One data key seals many values (until it is `maxKeyAgeMs` old or used `maxKeyUses` times), so a busy
 * container calls KMS GenerateDataKey once per few minutes, not once per payout. Opened data keys are kept in
 * a small LRU keyed by the EDK, so opening many values sealed under one key costs one KMS Decrypt.
 * Plaintext data keys are held only in memory, as node:crypto KeyObjects.
 */

/** Where data keys come from. The cipher takes ownership of the returned plaintext buffers (and wipes them). */
export interface DataKeySource {
  generate(): Promise<{ plaintext: Buffer; encrypted: Buffer }>;
  decrypt(encrypted: Buffer): Promise<Buffer>;
}

/**
 * Why a seal/open failed:
 * - `malformed`: the sealed string (or an input) does not have the expected shape;
 * - `rejected`: authentication failed — wrong no_order, tampering, or a data key that does not unwrap;
 * - `key_unavailable`: the key service failed (KMS throttled, access denied, …); retrying may help.
 * Messages never quote the sealed value, the plaintext or key material.
 */
export type FieldCipherFailure = 'malformed' | 'rejected' | 'key_unavailable';

/** The data itself is wrong (`malformed`, `rejected`): retrying cannot help. */
export class FieldCipherError extends Error {
  override readonly name = 'FieldCipherError';
  constructor(
    message: string,
    readonly reason: Exclude<FieldCipherFailure, 'key_unavailable'>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The key service failed. A DependencyError, so the caller answers "retry later" (503) instead of an
 * internal error, and nothing was sealed or opened.
 */
export class FieldKeyUnavailableError extends DependencyError {
  override readonly name = 'FieldKeyUnavailableError';
  readonly reason = 'key_unavailable' as const;
}

export interface EnvelopeFieldCipherOptions {
  /** A data key seals new values until it is this old (ms). Default 5 minutes. */
  maxKeyAgeMs?: number;
  /** … or until it has sealed this many values. Default 10 000. */
  maxKeyUses?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  clock?: () => number;
  /** How many opened data keys to keep (LRU). Default 64. */
  cacheSize?: number;
}

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Generous bounds: a KMS CiphertextBlob for an AES_256 data key is ~184 bytes; card+name JSON < 1 KiB. */
const MAX_EDK_BYTES = 1024;
const MAX_SEALED_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface SealingKey {
  readonly key: KeyObject;
  readonly edk: string;
  readonly createdAt: number;
  uses: number;
}

export class EnvelopeFieldCipher implements FieldCipher {
  private readonly maxKeyAgeMs: number;
  private readonly maxKeyUses: number;
  private readonly clock: () => number;
  private readonly cacheSize: number;
  private current: SealingKey | undefined;
  private pendingGenerate: Promise<SealingKey> | undefined;
  /** EDK (base64url) → opened data key; Map iteration order is insertion order, which gives the LRU. */
  private readonly opened = new Map<string, Promise<KeyObject>>();

  constructor(
    private readonly source: DataKeySource,
    options: EnvelopeFieldCipherOptions = {},
  ) {
    this.maxKeyAgeMs = positive(options.maxKeyAgeMs ?? 5 * 60_000, 'maxKeyAgeMs');
    this.maxKeyUses = positive(options.maxKeyUses ?? 10_000, 'maxKeyUses');
    this.cacheSize = positive(options.cacheSize ?? 64, 'cacheSize');
    this.clock = options.clock ?? Date.now;
  }

  async seal(secret: PayeeSecret, noOrder: string): Promise<string> {
    requireNoOrder(noOrder);
    if (typeof secret?.card_no !== 'string' || typeof secret?.acct_name !== 'string') {
      throw new FieldCipherError('payee secret must have string card_no and acct_name', 'malformed');
    }
    const sealing = await this.sealingKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealing.key, iv);
    cipher.setAAD(Buffer.from(noOrder, 'utf8'));
    const json = JSON.stringify({ card_no: secret.card_no, acct_name: secret.acct_name });
    const ct = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    const sealed = [VERSION, sealing.edk, b64u(iv), b64u(tag), b64u(ct)].join('.');
    // Never produce what open() would refuse as malformed.
    if (sealed.length > MAX_SEALED_CHARS) {
      throw new FieldCipherError('payee data is too long to seal', 'malformed');
    }
    return sealed;
  }

  async open(sealed: string, noOrder: string): Promise<PayeeSecret> {
    requireNoOrder(noOrder);
    const parts = parseSealed(sealed);
    const key = await this.openedKey(parts.edk, parts.edkBytes);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(noOrder, 'utf8'));
      decipher.setAuthTag(parts.tag);
      plaintext = Buffer.concat([decipher.update(parts.ct), decipher.final()]);
    } catch (cause) {
      throw new FieldCipherError(
        'sealed payee data failed authentication (wrong no_order or tampered)',
        'rejected',
        { cause },
      );
    }
    try {
      const value: unknown = JSON.parse(plaintext.toString('utf8'));
      if (isPayeeSecret(value)) return { card_no: value.card_no, acct_name: value.acct_name };
    } catch {
      // fall through: the message must not carry the parser's error, which may quote the plaintext
    } finally {
      plaintext.fill(0);
    }
    throw new FieldCipherError('sealed payee data has an unexpected payload', 'malformed');
  }

  /** The key new values are sealed with; rotated by age and use count. Concurrent callers share one generate. */
  private async sealingKey(): Promise<SealingKey> {
    for (;;) {
      const current = this.current;
      if (current && current.uses < this.maxKeyUses && this.clock() - current.createdAt < this.maxKeyAgeMs) {
        current.uses += 1;
        return current;
      }
      if (!this.pendingGenerate) {
        const pending = this.generateKey();
        this.pendingGenerate = pending;
        pending.then(
          (fresh) => {
            this.current = fresh;
            this.pendingGenerate = undefined;
          },
          () => {
            this.pendingGenerate = undefined;
          },
        );
      }
      // The handler above has made the fresh key current by the time this resumes. A freshly generated key
      // is used regardless of the clock (no generate loop on a clock jump); a caller that finds it already
      // used up by the others (tiny maxKeyUses) goes round once more.
      const fresh = await this.pendingGenerate;
      if (fresh.uses < this.maxKeyUses) {
        fresh.uses += 1;
        return fresh;
      }
    }
  }

  private async generateKey(): Promise<SealingKey> {
    let generated: { plaintext: Buffer; encrypted: Buffer };
    try {
      generated = await this.source.generate();
    } catch (cause) {
      throw asCipherError(cause, 'could not generate a data key');
    }
    const key = toKeyObject(generated.plaintext);
    if (generated.encrypted.length === 0 || generated.encrypted.length > MAX_EDK_BYTES) {
      throw new FieldKeyUnavailableError('data key source returned an unusable encrypted key');
    }
    const edk = b64u(generated.encrypted);
    // A value sealed here and opened in the same container needs no Decrypt.
    this.remember(edk, Promise.resolve(key));
    return { key, edk, createdAt: this.clock(), uses: 0 };
  }

  private openedKey(edk: string, edkBytes: Buffer): Promise<KeyObject> {
    const cached = this.opened.get(edk);
    if (cached) {
      this.opened.delete(edk);
      this.opened.set(edk, cached);
      return cached;
    }
    const pending = this.decryptKey(edkBytes);
    this.remember(edk, pending);
    // A failure is not cached: the next open retries (KMS throttling is transient).
    pending.catch(() => {
      if (this.opened.get(edk) === pending) this.opened.delete(edk);
    });
    return pending;
  }

  private async decryptKey(edkBytes: Buffer): Promise<KeyObject> {
    let plaintext: Buffer;
    try {
      plaintext = await this.source.decrypt(edkBytes);
    } catch (cause) {
      throw asCipherError(cause, 'could not decrypt the data key');
    }
    return toKeyObject(plaintext);
  }

  private remember(edk: string, key: Promise<KeyObject>): void {
    this.opened.delete(edk);
    this.opened.set(edk, key);
    while (this.opened.size > this.cacheSize) {
      const oldest = this.opened.keys().next().value;
      if (oldest === undefined) break;
      this.opened.delete(oldest);
    }
  }
}

/**
 * Local mode (no AWS): data keys are random and wrapped with AES-256-GCM under a 32-byte master key.
 * Wrapped form: iv(12) ‖ tag(16) ‖ ciphertext(32) = 60 bytes.
 */
export class LocalDataKeySource implements DataKeySource {
  private static readonly WRAP_AAD = Buffer.from(`local-wrap:${FIELD_KEY_CONTEXT.purpose}`, 'utf8');
  private readonly master: KeyObject;

  constructor(masterKey: Buffer) {
    if (!Buffer.isBuffer(masterKey) || masterKey.length !== KEY_BYTES) {
      throw new FieldCipherError(`${ENV.localFieldKey} must be ${KEY_BYTES} bytes`, 'malformed');
    }
    this.master = createSecretKey(Buffer.from(masterKey));
  }

  /** From the LOCAL_FIELD_KEY environment value: base64 of exactly 32 bytes. */
  static fromBase64(b64: string | undefined): LocalDataKeySource {
    const text = (b64 ?? '').trim();
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
    if (!bytes || bytes.length !== KEY_BYTES) {
      throw new FieldCipherError(
        `${ENV.localFieldKey} must be the base64 of exactly ${KEY_BYTES} random bytes (e.g. \`openssl rand -base64 32\`)`,
        'malformed',
      );
    }
    try {
      return new LocalDataKeySource(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  async generate(): Promise<{ plaintext: Buffer; encrypted: Buffer }> {
    const plaintext = randomBytes(KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.master, iv);
    cipher.setAAD(LocalDataKeySource.WRAP_AAD);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, encrypted: Buffer.concat([iv, cipher.getAuthTag(), ct]) };
  }

  async decrypt(encrypted: Buffer): Promise<Buffer> {
    if (encrypted.length !== IV_BYTES + TAG_BYTES + KEY_BYTES) {
      throw new FieldCipherError('encrypted data key has the wrong length', 'rejected');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.master, encrypted.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(LocalDataKeySource.WRAP_AAD);
      decipher.setAuthTag(encrypted.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(encrypted.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (cause) {
      throw new FieldCipherError(
        'encrypted data key does not unwrap under the local master key',
        'rejected',
        {
          cause,
        },
      );
    }
  }
}

/** AWS: data keys from KMS GenerateDataKey / Decrypt, bound to FIELD_KEY_CONTEXT. The client is injected. */
export class KmsDataKeySource implements DataKeySource {
  private readonly kms: KMSClient;
  private readonly keyId: string;

  constructor(options: { kms: KMSClient; keyId: string }) {
    if (!options.keyId) throw new FieldCipherError(`${ENV.fieldKeyKmsKeyId} is not set`, 'malformed');
    this.kms = options.kms;
    this.keyId = options.keyId;
  }

  async generate(): Promise<{ plaintext: Buffer; encrypted: Buffer }> {
    let out: { Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array } | undefined;
    try {
      out = await this.kms.send(
        new GenerateDataKeyCommand({
          KeyId: this.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: { ...FIELD_KEY_CONTEXT },
        }),
      );
    } catch (cause) {
      throw kmsError('GenerateDataKey', cause);
    }
    if (!out?.Plaintext || !out.CiphertextBlob) {
      throw new FieldKeyUnavailableError('KMS GenerateDataKey returned no key');
    }
    return { plaintext: Buffer.from(out.Plaintext), encrypted: Buffer.from(out.CiphertextBlob) };
  }

  async decrypt(encrypted: Buffer): Promise<Buffer> {
    let out: { Plaintext?: Uint8Array } | undefined;
    try {
      out = await this.kms.send(
        new DecryptCommand({
          CiphertextBlob: encrypted,
          KeyId: this.keyId,
          EncryptionContext: { ...FIELD_KEY_CONTEXT },
        }),
      );
    } catch (cause) {
      throw kmsError('Decrypt', cause);
    }
    if (!out?.Plaintext) throw new FieldKeyUnavailableError('KMS Decrypt returned no plaintext');
    return Buffer.from(out.Plaintext);
  }
}

// ---------------------------------------------------------------------------------------------------------

interface SealedParts {
  readonly edk: string;
  readonly edkBytes: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ct: Buffer;
}

function parseSealed(sealed: unknown): SealedParts {
  const malformed = () => new FieldCipherError('sealed payee data is malformed', 'malformed');
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_CHARS) throw malformed();
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw malformed();
  const [, edk, iv, tag, ct] = parts as [string, string, string, string, string];
  const edkBytes = fromB64uStrict(edk);
  const ivBytes = fromB64uStrict(iv);
  const tagBytes = fromB64uStrict(tag);
  const ctBytes = fromB64uStrict(ct);
  if (
    !edkBytes ||
    edkBytes.length > MAX_EDK_BYTES ||
    ivBytes?.length !== IV_BYTES ||
    tagBytes?.length !== TAG_BYTES ||
    !ctBytes
  ) {
    throw malformed();
  }
  return { edk, edkBytes, iv: ivBytes, tag: tagBytes, ct: ctBytes };
}

/**
 * Canonical unpadded base64url only. Node's decoder is lenient (it ignores stray characters and the unused
 * low bits of the last character), so a re-encode must give back the exact input — otherwise two different
 * strings would open to the same value and a one-character change could go unnoticed.
 */
function fromB64uStrict(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.length > 0 && b64u(bytes) === text ? bytes : undefined;
}

function b64u(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function toKeyObject(plaintext: Buffer): KeyObject {
  try {
    if (!Buffer.isBuffer(plaintext) || plaintext.length !== KEY_BYTES) {
      throw new FieldKeyUnavailableError(`data key must be ${KEY_BYTES} bytes`);
    }
    return createSecretKey(Buffer.from(plaintext));
  } finally {
    if (Buffer.isBuffer(plaintext)) plaintext.fill(0);
  }
}

function isPayeeSecret(value: unknown): value is PayeeSecret {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.card_no === 'string' && typeof record.acct_name === 'string';
}

function requireNoOrder(noOrder: string): void {
  if (typeof noOrder !== 'string' || noOrder.length === 0) {
    throw new FieldCipherError('no_order is required to seal or open payee data', 'malformed');
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function asCipherError(cause: unknown, message: string): FieldCipherError | FieldKeyUnavailableError {
  if (cause instanceof FieldCipherError || cause instanceof FieldKeyUnavailableError) return cause;
  return new FieldKeyUnavailableError(message, { cause });
}

/** KMS answers that mean "this ciphertext is not ours" rather than "try again later". */
const KMS_REJECTIONS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** Names only the operation and the SDK error name: the SDK's message may echo request details. */
function kmsError(operation: string, cause: unknown): FieldCipherError | FieldKeyUnavailableError {
  const name = cause instanceof Error ? cause.name : 'unknown error';
  const message = `KMS ${operation} of a field data key failed: ${name}`;
  return KMS_REJECTIONS.has(name)
    ? new FieldCipherError(message, 'rejected', { cause })
    : new FieldKeyUnavailableError(message, { cause });
}
