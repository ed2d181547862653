import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';
import { CONTROLS_ENV, ENV, type FunctionName, METRICS } from '../../src/config/contract';
import { defaultDispatchRate } from '../../src/config/dispatch';
import { APPLY_FUNCTION_MARGIN_MS, RECONCILE_FUNCTION_TIMEOUT_SECONDS } from '../../src/config/timing';
import type { PayoutConfig } from '../config/schema';
import { CONTROLS_CONTEXT_KEYS } from '../config/schema';
import type { PayoutEvents } from './events';
import type { MerchantKeyKind, PayoutKeys } from './keys';
import {
  type FunctionDefaults,
  type FunctionNetwork,
  PayoutFunction,
  type PayoutFunctionProps,
} from './payout-function';
import { grantBatchStore, type PayoutStorage } from './storage';

/** The indexes the operations routes Query (issue 12). */
const OPS_INDEXES = [
  PAYOUTS_TABLE.byDayIndex.name,
  PAYOUTS_TABLE.batchIndex.name,
  PAYOUTS_TABLE.awaitingIndex.name,
  PAYOUTS_TABLE.openIndex.name,
  PAYOUTS_TABLE.anomalyIndex.name,
];

export interface PayoutFunctionsProps {
  readonly config: PayoutConfig;
  /** Repository root: holds functions/<name>/index.ts and package-lock.json. */
  readonly sourceRoot: string;
  readonly storage: PayoutStorage;
  readonly keys: PayoutKeys;
  readonly events: PayoutEvents;
  /** Where the provider sends results (the API's own notify URL unless overridden). */
  readonly notifyUrl: string;
  /** Fixed-egress network for the functions that call the provider, when configured. */
  readonly network?: FunctionNetwork;
}

/** The dispatch worker's timeout: a 5,000-item batch at 50/s takes 100 s; a longer one is re-enqueued. */
export const DISPATCH_FUNCTION_TIMEOUT = Duration.minutes(5);

/** Powertools service name; the functions' metrics carry it as their `service` dimension. */
export const SERVICE_NAME = 'lianlian-payout';

/**
 * The six functions and, in one place, what each may touch. Least privilege is by function:
 *
 * | function  | table (+ its KMS key via DynamoDB)      | merchant key (SSM + Decrypt) | field key               | other                       |
 * |-----------|-----------------------------------------|------------------------------|-------------------------|-----------------------------|
 * | apply     | Put, Get, Update                        | yes                          | GenerateDataKey+Decrypt | GenerateMac (payee limits)  |
 * | query     | Get, Update, Query on awaiting-approval; ops: Query on by-day, by-batch, open-by-due, open-anomalies, BatchGet | yes | — | — |
 * | review    | Get, Update                             | yes (approval sends)         | Decrypt                 | GenerateMac (payee limits)  |
 * | notify    | Get, Update                             | MD5 sign type only (verify)  | —                       | —                           |
 * | reconcile | Get, Update, Query on open-by-due       | yes                          | Decrypt                 | —                           |
 * | publish   | stream read                             | —                            | —                       | PutEvents on bus; SendMessage on the dispatch queue (PayoutDispatch.grantTrigger) |
 */
export class PayoutFunctions extends Construct {
  readonly apply: PayoutFunction;
  readonly query: PayoutFunction;
  readonly review: PayoutFunction;
  readonly notify: PayoutFunction;
  readonly reconcile: PayoutFunction;
  readonly publish: PayoutFunction;
  /** PUT/GET /batches/{batch_id}… (issue 11): acceptance, views, approve/deny/void. */
  readonly batches: PayoutFunction;
  /** GET /balance (issue 13): reads the due index and batch reads; signs the balance query. */
  readonly balance: PayoutFunction;
  /** The batch dispatcher (issue 11): its queue and trigger grants are in constructs/dispatch.ts. */
  readonly dispatch: PayoutFunction;
  private readonly keys: PayoutKeys;

  constructor(scope: Construct, id: string, props: PayoutFunctionsProps) {
    super(scope, id);
    const { config, storage, keys, events, network } = props;
    this.keys = keys;
    const signingKind: MerchantKeyKind = config.signType === 'RSA' ? 'rsa' : 'md5';
    // The API functions answer within API Gateway's 29 s: the provider call's own timeout plus room for a
    // cold start (SSM + KMS) and the table writes. The same margin bounds how long an apply can be in flight,
    // which the configuration's timing rule keeps below the reconcile minimum age (src/config/timing.ts).
    const apiTimeout = Duration.millis(Math.min(config.providerTimeoutMs + APPLY_FUNCTION_MARGIN_MS, 28_000));

    const defaults: FunctionDefaults = {
      sourceRoot: props.sourceRoot,
      logRetention: config.logRetentionDays,
      removalPolicy: config.env === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      environment: {
        [ENV.serviceName]: SERVICE_NAME,
        [ENV.metricsNamespace]: METRICS.namespace,
        [ENV.logLevel]: config.logLevel,
      },
    };
    // The four payout functions load the same validated runtime configuration (src/config/env.ts), so
    // each gets the full set. None of it is secret: keys arrive only as ciphertext, read through the
    // permissions granted below. publish needs none of it (only its bus).
    const payoutEnvironment: Record<string, string> = {
      [ENV.keySource]: 'kms',
      [ENV.tableName]: storage.table.tableName,
      // As configured (base and/or each URL); the functions resolve them as the synth did.
      ...definedOnly({
        [ENV.apiBase]: config.apiBase,
        [ENV.applyUrl]: config.applyUrl,
        [ENV.queryUrl]: config.queryUrl,
        [ENV.balanceUrl]: config.balanceUrl,
      }),
      [ENV.oidPartner]: config.oidPartner,
      [ENV.signType]: config.signType,
      ...(config.providerPublicKey ? { [ENV.providerPublicKey]: compactKey(config.providerPublicKey) } : {}),
      [ENV.timeoutMs]: String(config.providerTimeoutMs),
      [ENV.notifyUrl]: props.notifyUrl,
      [ENV.merchantKeyKmsKeyId]: keys.merchantKey.keyArn,
      [ENV.fieldKeyKmsKeyId]: keys.fieldKey.keyArn,
      [ENV.notFoundGraceSeconds]: String(config.notFoundGraceSeconds),
      [ENV.returnWatchSeconds]: String(config.returnWatchSeconds),
      // apply schedules an order's first reconciliation with it, reconcile selects by it: one value.
      [ENV.reconcileMinAgeSeconds]: String(config.reconcileMinAgeSeconds),
      [ENV.keyCacheSeconds]: String(config.merchantKeyCacheSeconds),
      // The spending controls, as validated at synth; every payout function loads the same policy.
      ...controlsEnvironment(config),
      // Named wherever the policy is loaded (it refuses to start without it), usable only where granted.
      ...(keys.payeeKey ? { [ENV.payeeHmacKmsKeyId]: keys.payeeKey.keyArn } : {}),
      // Funds (issue 13): every function that may record a 9104 sets the wait's end from the same value.
      ...fundsEnvironment(config),
    };
    const make = (
      name: FunctionName,
      environment: Record<string, string>,
      props: Omit<PayoutFunctionProps, 'name' | 'defaults' | 'environment'>,
    ) => new PayoutFunction(this, capitalize(name), { name, defaults, environment, ...props });

    this.apply = make('apply', payoutEnvironment, {
      description: 'POST /payouts: record and submit a payout',
      timeout: apiTimeout,
      network,
    });
    // GET /exceptions calls an order stuck after the same age reconciliation logs it as stuck.
    this.query = make(
      'query',
      { ...payoutEnvironment, [ENV.stuckAfterSeconds]: String(config.stuckAfterSeconds) },
      {
        description: 'GET /payouts/{no_order}: read a payout, optionally asking the provider',
        timeout: apiTimeout,
        network,
      },
    );
    this.review = make('review', payoutEnvironment, {
      description: 'POST /payouts/{no_order}/approve|deny|void: the second person (approval sends the apply)',
      timeout: apiTimeout,
      network,
    });
    this.notify = make('notify', payoutEnvironment, {
      description: 'POST /lianlian/notify: verify and apply a provider result notification',
      // The provider waits 5 s for the answer; a longer run would only answer a caller that has gone.
      timeout: Duration.seconds(10),
    });
    const reconcileEnvironment = {
      ...payoutEnvironment,
      [ENV.reconcileRatePerSecond]: String(config.reconcileRatePerSecond),
      [ENV.reconcileConcurrency]: String(config.reconcileConcurrency),
      [ENV.stuckAfterSeconds]: String(config.stuckAfterSeconds),
    };
    this.reconcile = make('reconcile', reconcileEnvironment, {
      description: 'Scheduled: query the provider for payouts without a final result',
      // The schedule's rate may not be shorter (src/config/timing.ts): runs must not overlap.
      timeout: Duration.seconds(RECONCILE_FUNCTION_TIMEOUT_SECONDS),
      memorySize: 1024,
      network,
      // The next scheduled run is the retry; a Lambda retry would only overlap it.
      retryAttempts: 0,
    });
    this.publish = make(
      'publish',
      { [ENV.eventBusName]: events.bus.eventBusName },
      {
        description: 'Table stream: publish payout state changes to the event bus',
        timeout: Duration.minutes(1),
      },
    );

    this.batches = make('batches', payoutEnvironment, {
      description: 'PUT/GET /batches/{batch_id}, items, report.csv, approve|deny|void: batch payouts',
      // 5,000 conditional puts and a commit; the dispatcher sends, this function never calls the provider.
      timeout: apiTimeout,
      memorySize: 1024,
    });
    // Batches (issue 11) create items (QUEUED orders), read and update them (stamp, deny, void), and use
    // their own batch-store operations: the record, the by-batch index, the counters, the undo.
    storage.grantOrderStore(this.batches, ['create', 'get', 'update']);
    grantBatchStore(storage, this.batches, [
      'getBatch',
      'putBatch',
      'updateBatch',
      'listItems',
      'getOrders',
      'moveCounters',
      'deleteQueuedItem',
    ]);
    keys.grantFieldKey(this.batches, 'seal-and-open');
    keys.grantPayeeMac(this.batches);
    this.balance = make('balance', payoutEnvironment, {
      description: 'GET /balance: the provider balance beside our in-flight and waiting amounts',
      timeout: apiTimeout,
      network,
    });
    // Funds Low is not sent by reconcile: its funds check's conditional write on FUNDS#low is the crossing,
    // and the publisher turns that stream record into the event (reconcile holds no EventBridge client).
    this.dispatch = make(
      'dispatch',
      {
        ...payoutEnvironment,
        [ENV.providerRatePerSecond]: String(config.providerRatePerSecond),
        [ENV.dispatchRatePerSecond]: String(
          config.dispatchRatePerSecond ??
            defaultDispatchRate(config.providerRatePerSecond, config.reconcileRatePerSecond),
        ),
        [ENV.dispatchConcurrency]: String(config.dispatchConcurrency),
        // Checked against the provider's budget at start, as at synth.
        [ENV.reconcileRatePerSecond]: String(config.reconcileRatePerSecond),
      },
      {
        description: 'SQS FIFO: send the QUEUED items of a batch at the provider pace',
        timeout: DISPATCH_FUNCTION_TIMEOUT,
        network,
      },
    );

    // Only apply records new orders; only reconcile lists the backlog.
    storage.grantOrderStore(this.apply, ['create', 'get', 'update']);
    storage.grantOrderStore(this.query, ['get', 'update', 'listAwaitingApproval']);
    // The operations routes (issue 12, functions/ops/handler.ts): Query on the indexes the search and the
    // exceptions read (never Scan), and BatchGetItem of the orders a KEYS_ONLY index names. The export has
    // a function of its own on AWS (constructs/export.ts).
    this.query.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: OPS_INDEXES.map((index) => `${storage.table.tableArn}/index/${index}`),
      }),
    );
    this.query.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:BatchGetItem'], resources: [storage.table.tableArn] }),
    );
    storage.grantOrderStore(this.review, ['get', 'update']);
    storage.grantOrderStore(this.notify, ['get', 'update']);
    storage.grantOrderStore(this.reconcile, ['get', 'update', 'listDue', 'listAwaitingFunds']);
    storage.grantOrderStore(this.dispatch, ['get', 'update']);
    // The funds items (BALANCE#<day>, FUNDS#…: UpdateItem, covered by 'update') and the figures' batch reads.
    storage.grantOrderStore(this.balance, ['listDue']);
    for (const fn of [this.reconcile, this.balance]) {
      // The base table only (status and amount of open orders), never an index.
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['dynamodb:BatchGetItem'], resources: [storage.table.tableArn] }),
      );
    }

    for (const fn of [this.apply, this.query, this.review, this.reconcile, this.balance, this.dispatch])
      this.useMerchantKey(fn, signingKind);
    // notify never signs; it needs the merchant's secret only to verify MD5-signed notifications.
    if (signingKind === 'md5') this.useMerchantKey(this.notify, 'md5');

    keys.grantFieldKey(this.apply, 'seal-and-open');
    // reconcile reopens a sealed payee when it must resend an apply; it never seals new ones.
    keys.grantFieldKey(this.reconcile, 'open');
    // review opens the payee it approves, to send the apply (and to key it for the payee limits).
    keys.grantFieldKey(this.review, 'open');
    // dispatch opens each item's sealed payee to send its apply.
    keys.grantFieldKey(this.dispatch, 'open');
    // Only the two functions that commit money count it per payee.
    keys.grantPayeeMac(this.apply);
    keys.grantPayeeMac(this.review);

    events.grantPutEvents(this.publish);
    events.addStreamPublisher(storage.table, this.publish);
  }

  get all(): readonly PayoutFunction[] {
    return [
      this.apply,
      this.query,
      this.review,
      this.notify,
      this.reconcile,
      this.publish,
      this.batches,
      this.balance,
      this.dispatch,
    ];
  }

  /** Names the parameter in the environment and grants reading it: what a function is told, it may read. */
  private useMerchantKey(fn: PayoutFunction, kind: MerchantKeyKind): void {
    fn.addEnvironment(kind === 'rsa' ? ENV.merchantKeyParam : ENV.md5KeyParam, this.keys.parameterName(kind));
    this.keys.grantMerchantKey(fn, kind);
  }
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
}

/** The controls set for this environment, as the runtime's variables (unset ones are left out). */
function controlsEnvironment(config: PayoutConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, key] of Object.entries(CONTROLS_CONTEXT_KEYS)) {
    const value = config[key];
    if (value !== undefined) out[CONTROLS_ENV[field as keyof typeof CONTROLS_ENV]] = String(value);
  }
  return out;
}

/** BALANCE_CHECK_SECONDS, FUNDS_WAIT_SECONDS, LOW_BALANCE_AMOUNT as configured (unset ones left out). */
function fundsEnvironment(config: PayoutConfig): Record<string, string> {
  return definedOnly({
    [ENV.balanceCheckSeconds]: config.balanceCheckSeconds?.toString(),
    [ENV.fundsWaitSeconds]: config.fundsWaitSeconds?.toString(),
    [ENV.lowBalanceAmount]: config.lowBalanceAmount,
  });
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Base64 DER without whitespace; PEM kept as is (the runtime parser accepts both). */
function compactKey(key: string): string {
  return key.includes('-----BEGIN') ? key.trim() : key.replace(/\s+/g, '');
}
