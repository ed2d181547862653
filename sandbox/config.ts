import { LOCAL_OID_PARTNER } from '../local/test-merchant';
import { ENV } from '../src/config/contract';
import { KeyFormatError, parsePrivateKey, parsePublicKey } from '../src/lianlian/keys';
import { oidPartner as oidPartnerSchema } from '../src/lianlian/messages';
import type { SandboxOptions } from './types';

/**
 * A made-up 18-digit merchant number, so a sandbox default can never be mistaken for the provider's
 * published demo merchant (201408071000001539) or for a real one.
 */
export const DEFAULT_OID_PARTNER = LOCAL_OID_PARTNER;
export const DEFAULT_PORT = 8089;
/** setTimeout's limit: longer delays would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** The environment the CLI reads; documented in docs/sandbox.md. */
export const SANDBOX_ENV = {
  host: 'SANDBOX_HOST',
  port: 'SANDBOX_PORT',
  oidPartner: ENV.oidPartner,
  merchantPublicKey: 'SANDBOX_MERCHANT_PUBLIC_KEY',
  md5Key: 'SANDBOX_MD5_KEY',
  providerPrivateKey: 'SANDBOX_PROVIDER_PRIVATE_KEY',
  notifyIntervalMs: 'SANDBOX_NOTIFY_INTERVAL_MS',
  notifyMaxAttempts: 'SANDBOX_NOTIFY_MAX_ATTEMPTS',
  notifyTimeoutMs: 'SANDBOX_NOTIFY_TIMEOUT_MS',
  stepMs: 'SANDBOX_STEP_MS',
  applyDelayMs: 'SANDBOX_APPLY_DELAY_MS',
  notFoundForMs: 'SANDBOX_NOT_FOUND_FOR_MS',
  dropNotifications: 'SANDBOX_DROP_NOTIFICATIONS',
  signBankName: 'SANDBOX_SIGN_BANK_NAME',
  balance: 'SANDBOX_BALANCE',
  /** Only for `npm run sandbox -- topup`: the running sandbox to talk to (else host and port). */
  url: 'SANDBOX_URL',
} as const;

export class SandboxConfigError extends Error {
  override readonly name = 'SandboxConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Sandbox options from the environment. Fails on the first malformed variable, naming it but never
 * quoting its value (keys are secrets). An empty variable counts as unset, as env files tend to leave them.
 */
export function optionsFromEnv(env: Env): SandboxOptions & { port: number } {
  const text = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const n = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new SandboxConfigError(
        max === Number.MAX_SAFE_INTEGER
          ? `${name} must be a whole number of at least ${min}`
          : `${name} must be a whole number from ${min} to ${max}`,
      );
    }
    return n;
  };
  const bool = (name: string): boolean | undefined => {
    const value = text(name)?.trim().toLowerCase();
    if (value === undefined) return undefined;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    throw new SandboxConfigError(`${name} must be true or false`);
  };
  const key = <T>(name: string, parse: (input: string, label: string) => T): T | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    try {
      return parse(value, name);
    } catch (error) {
      // KeyFormatError messages carry the label, never the key material.
      if (error instanceof KeyFormatError) throw new SandboxConfigError(error.message);
      throw new SandboxConfigError(`${name} is not a usable RSA key`);
    }
  };

  const yuan = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const fen = parseYuan(value.trim());
    if (fen === undefined) {
      throw new SandboxConfigError(`${name} must be yuan with at most 2 decimals, e.g. 100000000.00`);
    }
    return fen;
  };

  // parsePublicKey quietly derives a public key from a private one (PEM or base64 DER): a secret pasted
  // into the public-key variable is a mistake to stop at, not one to work around.
  const merchantKeyText = text(SANDBOX_ENV.merchantPublicKey);
  if (merchantKeyText !== undefined && isPrivateKey(merchantKeyText)) {
    throw new SandboxConfigError(
      `${SANDBOX_ENV.merchantPublicKey} holds a private key: give the merchant's public key`,
    );
  }
  const oidPartner = text(SANDBOX_ENV.oidPartner) ?? DEFAULT_OID_PARTNER;
  if (!oidPartnerSchema.safeParse(oidPartner).success) {
    throw new SandboxConfigError(`${SANDBOX_ENV.oidPartner} must be 18 digits`);
  }
  const options: SandboxOptions & { port: number } = {
    oidPartner,
    host: text(SANDBOX_ENV.host) ?? '127.0.0.1',
    port: int(SANDBOX_ENV.port, 0, 65_535) ?? DEFAULT_PORT,
    merchantPublicKey: key(SANDBOX_ENV.merchantPublicKey, parsePublicKey),
    md5Key: text(SANDBOX_ENV.md5Key),
    providerPrivateKey: key(SANDBOX_ENV.providerPrivateKey, parsePrivateKey),
    notifyIntervalMs: int(SANDBOX_ENV.notifyIntervalMs, 0, MAX_TIMER_MS),
    notifyMaxAttempts: int(SANDBOX_ENV.notifyMaxAttempts, 1),
    notifyTimeoutMs: int(SANDBOX_ENV.notifyTimeoutMs, 1, MAX_TIMER_MS),
    stepMs: int(SANDBOX_ENV.stepMs, 0, MAX_TIMER_MS),
    applyDelayMs: int(SANDBOX_ENV.applyDelayMs, 0, MAX_TIMER_MS),
    notFoundForMs: int(SANDBOX_ENV.notFoundForMs, 0, MAX_TIMER_MS),
    dropNotifications: bool(SANDBOX_ENV.dropNotifications),
    signBankName: bool(SANDBOX_ENV.signBankName),
    balanceFen: yuan(SANDBOX_ENV.balance),
  };
  // Unset variables leave the server's own defaults in force.
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as typeof options;
}

const YUAN = /^(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,2}))?$/;

/**
 * A yuan amount typed by a person (`100`, `0`, `1234.5`, `1234.50`) as fen, in integer arithmetic; zero
 * is allowed (a drained account), at most 13 integer digits (what the balance answer can carry).
 */
export function parseYuan(input: string): number | undefined {
  const match = YUAN.exec(input);
  if (!match) return undefined;
  return Number.parseInt(match[1] ?? '0', 10) * 100 + Number.parseInt((match[2] ?? '').padEnd(2, '0'), 10);
}

function isPrivateKey(input: string): boolean {
  try {
    parsePrivateKey(input);
    return true;
  } catch {
    return false;
  }
}
