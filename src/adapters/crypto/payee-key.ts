import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { GenerateMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DependencyError, errorName } from '../../core/errors';
import type { PayeeKeyer } from '../../core/ports';

/**
 * The payee key of issue 10: HMAC-SHA256 of the card number under a key nobody reads, base64url. The
 * per-payee limit counters are keyed by it, so the card number never becomes a table key, and without
 * the key a stored payee key cannot be brute-forced back to a number (a plain hash could: card numbers
 * are few enough to enumerate).
 *
 * Errors never quote the card number; KMS failures become DependencyError (the caller may retry).
 */

/** AWS: KMS GenerateMac with an HMAC_256 key (env PAYEE_HMAC_KMS_KEY_ID); the key never leaves KMS. */
export class KmsPayeeKeyer implements PayeeKeyer {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async key(cardNo: string): Promise<string> {
    assertCardNo(cardNo);
    let mac: Uint8Array | undefined;
    try {
      const out = await this.kms.send(
        new GenerateMacCommand({
          KeyId: this.keyId,
          MacAlgorithm: 'HMAC_SHA_256',
          Message: Buffer.from(cardNo, 'utf8'),
        }),
      );
      mac = out.Mac;
    } catch (error) {
      // The SDK error names the key and the failure, never the message; keep only its name as the cause.
      throw new DependencyError(`payee key: KMS GenerateMac failed (${errorName(error)})`);
    }
    if (!mac || mac.length === 0) throw new DependencyError('payee key: KMS GenerateMac returned no MAC');
    return Buffer.from(mac).toString('base64url');
  }
}

/** Local mode: HMAC-SHA256 under a local 32-byte key (env LOCAL_PAYEE_HMAC_KEY, base64). */
export class LocalPayeeKeyer implements PayeeKeyer {
  private readonly secret: KeyObject;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('the local payee HMAC key must be 32 bytes');
    this.secret = createSecretKey(Buffer.from(key));
  }

  /** From the base64 form kept in local-secrets. */
  static fromBase64(value: string): LocalPayeeKeyer {
    return new LocalPayeeKeyer(Buffer.from(value, 'base64'));
  }

  async key(cardNo: string): Promise<string> {
    assertCardNo(cardNo);
    return createHmac('sha256', this.secret).update(cardNo, 'utf8').digest('base64url');
  }
}

function assertCardNo(cardNo: string): void {
  if (typeof cardNo !== 'string' || cardNo.length === 0) throw new TypeError('payee key: empty card number');
}
