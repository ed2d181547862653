import { createPublicKey, type KeyObject } from 'node:crypto';
import { parsePrivateKey, parsePublicKey } from '../src/lianlian/keys';
import { buildSignString, md5Sign, md5Verify, rsaSignString, rsaVerifyString } from '../src/lianlian/sign';
import { ToolError } from './errors';

export interface SignDebugInput {
  /** The message exactly as sent or received (JSON object of strings). */
  readonly messageJson: string;
  readonly privateKey?: string;
  readonly md5Key?: string;
  readonly publicKey?: string;
  /** A signature to check instead of the message's own `sign`. */
  readonly signature?: string;
}

export interface SignDebugReport {
  readonly signType: string | undefined;
  readonly signString: string;
  readonly signStringBytes: number;
  readonly computed?: string;
  readonly checked?: { readonly signature: string; readonly source: 'message' | '--signature' };
  /** undefined: nothing to check, or no key for the message's sign type. */
  readonly verifies?: boolean;
  readonly notes: readonly string[];
}

export const PAYEE_DATA_WARNING =
  'WARNING: this output contains payee data (card_no, acct_name) exactly as signed. Do not paste it into tickets, chats or e-mail.';

/**
 * Everything needed to answer "why does the provider say 1001?": the exact string that is signed (spec §6),
 * the signature our key makes over it, and whether the signature at hand verifies.
 */
export function signDebug(input: SignDebugInput): SignDebugReport {
  const fields = parseMessage(input.messageJson);
  const notes: string[] = [];
  const privateKey = input.privateKey ? parsePrivateKey(input.privateKey, '--private-key-file') : undefined;
  const md5Key = input.md5Key?.trim() || undefined;
  let publicKey: KeyObject | undefined = input.publicKey
    ? parsePublicKey(input.publicKey, '--public-key-file')
    : undefined;
  if (!publicKey && privateKey) {
    publicKey = createPublicKey(privateKey);
    notes.push('verifying with the public half of --private-key-file (no --public-key-file given)');
  }

  const signType = fields.sign_type;
  if (signType === undefined) {
    notes.push(
      'the message has no sign_type: a signed request always carries it, so this string cannot match one',
    );
  } else if (signType !== 'RSA' && signType !== 'MD5') {
    notes.push(`sign_type "${signType}" is neither RSA nor MD5`);
  }
  const signString = buildSignString(fields);

  let computed: string | undefined;
  if (signType === 'RSA' && privateKey) computed = rsaSignString(signString, privateKey);
  if (signType === 'MD5' && md5Key) computed = md5Sign(signString, md5Key);

  const checked =
    input.signature !== undefined
      ? { signature: input.signature, source: '--signature' as const }
      : fields.sign
        ? { signature: fields.sign, source: 'message' as const }
        : undefined;
  let verifies: boolean | undefined;
  if (checked && signType === 'RSA' && publicKey)
    verifies = rsaVerifyString(signString, checked.signature, publicKey);
  if (checked && signType === 'MD5' && md5Key) verifies = md5Verify(signString, checked.signature, md5Key);
  if (checked && verifies === undefined) {
    notes.push(
      signType === 'MD5'
        ? 'cannot check an MD5 signature without --md5-key-file'
        : 'cannot check an RSA signature without --public-key-file or --private-key-file',
    );
  }
  if (checked && /\s/.test(checked.signature)) {
    notes.push('the signature contains whitespace or line breaks (trap §10.8): the provider rejects that');
  }
  for (const key of Object.keys(fields)) {
    if (key !== key.trim())
      notes.push(`field name ${JSON.stringify(key)} has surrounding spaces (trap §10.7)`);
  }
  return {
    signType,
    signString,
    signStringBytes: Buffer.byteLength(signString, 'utf8'),
    computed,
    checked,
    verifies,
    notes,
  };
}

export function formatSignDebug(report: SignDebugReport): string[] {
  return [
    PAYEE_DATA_WARNING,
    `sign_type: ${report.signType ?? '(missing)'}`,
    `string to sign (${report.signStringBytes} bytes, UTF-8):`,
    report.signString,
    `computed signature: ${report.computed ?? '(no signing key for this sign_type given)'}`,
    ...(report.checked
      ? [
          `checked signature (${report.checked.source}): ${report.checked.signature}`,
          ...(report.computed !== undefined
            ? [`computed equals checked: ${report.computed === report.checked.signature ? 'yes' : 'no'}`]
            : []),
          `verifies: ${report.verifies === undefined ? 'cannot check' : report.verifies ? 'yes' : 'no'}`,
        ]
      : ['verifies: nothing to check (no sign in the message and no --signature)']),
    ...report.notes.map((n) => `note: ${n}`),
  ];
}

function parseMessage(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ToolError('--file is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ToolError('--file must hold one JSON object (the message)');
  }
  const notStrings = Object.entries(parsed).filter(([, v]) => typeof v !== 'string');
  if (notStrings.length > 0) {
    throw new ToolError(
      `every value must be a string as on the wire (spec §1); not strings: ${notStrings.map(([k]) => k).join(', ')}`,
    );
  }
  return parsed as Record<string, string>;
}
