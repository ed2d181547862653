import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { FIELD_KEY_CONTEXT, merchantKeyContext } from '../../src/config/contract';

export type MerchantKeyKind = 'rsa' | 'md5';

export interface PayoutKeysProps {
  readonly production: boolean;
  readonly oidPartner: string;
  /** SSM parameter names holding the KMS ciphertext; the parameters themselves live outside the stack. */
  readonly parameters: Readonly<Record<MerchantKeyKind, string>>;
  /** Per-payee spending limits are configured: create the HMAC key that names payees. */
  readonly payeeLimits?: boolean;
}

/**
 * The application's KMS keys, one per purpose:
 *
 * - merchant key: wraps the merchant's signing secret (RSA private key or MD5 key), stored as ciphertext in
 *   an SSM parameter that the operator writes with `npm run ops -- encrypt-key`;
 * - field key: generates the data keys that seal card numbers and payee names in the table.
 *
 * Separate keys rather than one with two contexts, because a key is the unit of a key policy, of
 * CloudTrail's audit trail and of incident response: a function that may open payee fields (publish
 * never may, notify never may) must not by that fact come near the key that can sign payouts, and
 * disabling the signing key in an emergency must not make every stored payee unreadable. The table has
 * its own key as well (PayoutStorage) for the same reason.
 *
 * Both keys rotate yearly (KMS keeps old material, so old ciphertexts still open), and each key policy
 * refuses cryptographic use without the purpose its ciphertexts are bound to, whoever is asking.
 */
export class PayoutKeys extends Construct {
  readonly merchantKey: Key;
  readonly fieldKey: Key;
  /** HMAC key turning a card number into a payee key (spending limits); only with per-payee limits. */
  readonly payeeKey?: Key;
  private readonly props: PayoutKeysProps;

  constructor(scope: Construct, id: string, props: PayoutKeysProps) {
    super(scope, id);
    this.props = props;
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.merchantKey = new Key(this, 'MerchantKey', {
      description: 'lianlian-payout: wraps the merchant signing key (ciphertext kept in SSM)',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.fieldKey = new Key(this, 'FieldKey', {
      description: 'lianlian-payout: data keys for payee field encryption (card_no, acct_name)',
      enableKeyRotation: true,
      removalPolicy,
    });
    if (props.payeeLimits) {
      // A MAC, not a plain hash: card numbers are few enough to enumerate, so without a secret key the
      // counter keys in the table would give the card numbers back. GenerateMac keeps the key inside KMS.
      this.payeeKey = new Key(this, 'PayeeKey', {
        description: 'lianlian-payout: HMAC key naming payees for the per-payee spending limits',
        keySpec: KeySpec.HMAC_256,
        keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
        removalPolicy,
      });
      NagSuppressions.addResourceSuppressions(this.payeeKey, [
        {
          id: 'AwsSolutions-KMS5',
          reason:
            'KMS rotates only symmetric encryption keys automatically; this is an HMAC key. Rotating it by hand changes every payee key, which only resets the per-payee counters of the current day.',
        },
      ]);
    }
    const merchantPurpose = merchantKeyContext(props.oidPartner, 'rsa').purpose;
    const fieldPurpose = FIELD_KEY_CONTEXT.purpose;
    if (!merchantPurpose || !fieldPurpose)
      throw new Error('contract.ts: encryption contexts must name a purpose');
    denyOtherPurposes(this.merchantKey, merchantPurpose, ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*']);
    denyOtherPurposes(this.fieldKey, fieldPurpose, ['kms:Decrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']);
  }

  /** The SSM parameter name that holds the given kind of merchant key. */
  parameterName(kind: MerchantKeyKind): string {
    return this.props.parameters[kind];
  }

  /**
   * Reading the merchant key: GetParameter on that one parameter, and Decrypt on the merchant key only
   * under this deployment's exact encryption context (purpose, merchant number and kind).
   */
  grantMerchantKey(grantee: IGrantable, kind: MerchantKeyKind): void {
    const context = merchantKeyContext(this.props.oidPartner, kind);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [parameterArn(this, this.parameterName(kind))],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.merchantKey.keyArn],
        conditions: { StringEquals: contextConditions(context) },
      }),
    );
  }

  /**
   * Payee field encryption: Decrypt always, GenerateDataKey only for the function that seals new payees
   * (apply). Both only under the field-encryption context.
   */
  grantFieldKey(grantee: IGrantable, access: 'seal-and-open' | 'open'): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access === 'seal-and-open' ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt'],
        resources: [this.fieldKey.keyArn],
        conditions: { StringEquals: contextConditions(FIELD_KEY_CONTEXT) },
      }),
    );
  }

  /** The keyed payee hash: kms:GenerateMac on the payee key only (nothing else can be done with it). */
  grantPayeeMac(grantee: IGrantable): void {
    if (!this.payeeKey) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kms:GenerateMac'], resources: [this.payeeKey.keyArn] }),
    );
  }
}

function contextConditions(context: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
}

/**
 * Key-policy guard rail: even an administrator's broad kms:* cannot use the key for anything but its
 * purpose, so a ciphertext of one kind can never be produced or opened as another.
 */
function denyOtherPurposes(key: Key, purpose: string, actions: string[]): void {
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'DenyUseWithoutPurposeContext',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions,
      resources: ['*'],
      conditions: { StringNotEquals: { 'kms:EncryptionContext:purpose': purpose } },
    }),
  );
}

function parameterArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({
    service: 'ssm',
    resource: 'parameter',
    // The ARN has a single slash after "parameter" whatever the name's leading slash.
    resourceName: name.replace(/^\//, ''),
  });
}
