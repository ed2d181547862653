import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { PAYOUTS_INDEXES, PAYOUTS_TABLE } from '../../src/adapters/dynamodb/table';

const ATTRIBUTE_TYPES = { S: AttributeType.STRING, N: AttributeType.NUMBER } as const;

import type { BatchWriteStore } from '../../src/core/batches';
import type { OrderStore } from '../../src/core/ports';

export type OrderStoreOperation = keyof OrderStore;

type IndexName = typeof PAYOUTS_TABLE.openIndex.name | typeof PAYOUTS_TABLE.awaitingIndex.name;

/**
 * What each OrderStore method (src/adapters/dynamodb/order-store.ts) sends. Keyed by the port itself, so
 * a new store method does not compile here until its permission is decided. With spending limits, a
 * create or update is a TransactWriteItems of the order write plus an UpdateItem (ADD) on each counter;
 * IAM authorizes a transaction by the item actions inside it, so no other action is needed.
 */
const STORE_ACTIONS: Readonly<
  Record<OrderStoreOperation, { actions: string[]; on: 'table' | { index: IndexName } }>
> = {
  create: { actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], on: 'table' },
  get: { actions: ['dynamodb:GetItem'], on: 'table' },
  update: { actions: ['dynamodb:UpdateItem'], on: 'table' },
  listDue: { actions: ['dynamodb:Query'], on: { index: PAYOUTS_TABLE.openIndex.name } },
  listAwaitingApproval: { actions: ['dynamodb:Query'], on: { index: PAYOUTS_TABLE.awaitingIndex.name } },
  listAwaitingFunds: { actions: ['dynamodb:Query'], on: { index: PAYOUTS_TABLE.awaitingIndex.name } },
};

/**
 * What each batch-store operation (src/adapters/dynamodb/batch-store.ts) sends (issue 11): keyed by the
 * port, so a new method does not compile until its permission is decided. The batch record, the counters
 * and the items' undo are table items; the items page is the by-batch index.
 */
export type BatchStoreOperation = keyof BatchWriteStore;
const BATCH_STORE_ACTIONS: Readonly<
  Record<BatchStoreOperation, { actions: string[]; on: 'table' | { index: string } }>
> = {
  getBatch: { actions: ['dynamodb:GetItem'], on: 'table' },
  putBatch: { actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'], on: 'table' },
  updateBatch: { actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], on: 'table' },
  listItems: { actions: ['dynamodb:Query'], on: { index: PAYOUTS_TABLE.batchIndex.name } },
  getOrders: { actions: ['dynamodb:BatchGetItem'], on: 'table' },
  moveCounters: { actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], on: 'table' },
  // Only the items this acceptance wrote, conditional on QUEUED and the batch: the all-or-nothing undo.
  deleteQueuedItem: { actions: ['dynamodb:DeleteItem'], on: 'table' },
};

export interface PayoutStorageProps {
  /** Production keeps the data: RETAIN, deletion protection. */
  readonly production: boolean;
}

/**
 * The payouts table and the KMS key that encrypts it at rest. Stateful: in production both survive a
 * stack deletion and the table refuses DeleteTable. The layout comes from PAYOUTS_TABLE, the same constant
 * the store adapter and local mode use.
 */
export class PayoutStorage extends Construct {
  readonly table: Table;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: PayoutStorageProps) {
    super(scope, id);
    const removalPolicy = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const { partitionKey, ttlAttribute } = PAYOUTS_TABLE;

    this.key = new Key(this, 'TableKey', {
      description: 'lianlian-payout: DynamoDB payouts table encryption at rest',
      enableKeyRotation: true,
      removalPolicy,
    });

    this.table = new Table(this, 'Payouts', {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      // PITR in every environment: it costs little, and a dev table is where a bad migration is tried first.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.production,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      // Only the spending-limit counters carry it: a day's counters go a few days after the day ends.
      timeToLiveAttribute: ttlAttribute,
      removalPolicy,
    });
    // One list of indexes (PAYOUTS_INDEXES) for this construct and local mode. Upgrading a deployed
    // stack that lacks several of them must add them one per deployment (docs/deploy.md): DynamoDB
    // creates at most one GSI per table update.
    for (const index of PAYOUTS_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey.name, type: ATTRIBUTE_TYPES[index.partitionKey.type] },
        sortKey: { name: index.sortKey.name, type: ATTRIBUTE_TYPES[index.sortKey.type] },
        ...(index.include
          ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }
          : { projectionType: ProjectionType.KEYS_ONLY }),
      });
    }
  }

  /**
   * The DynamoDB actions behind the given OrderStore operations, and nothing else: no Scan, no Delete, no
   * other index. The table key's use through DynamoDB comes with it — and only through DynamoDB.
   */
  grantOrderStore(grantee: IGrantable, operations: readonly OrderStoreOperation[]): void {
    const onTable = [
      ...new Set(
        operations.filter((o) => STORE_ACTIONS[o].on === 'table').flatMap((o) => STORE_ACTIONS[o].actions),
      ),
    ];
    if (onTable.length > 0) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: onTable, resources: [this.table.tableArn] }),
      );
    }
    for (const o of operations) {
      const on = STORE_ACTIONS[o].on;
      if (on === 'table') continue;
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: STORE_ACTIONS[o].actions,
          resources: [`${this.table.tableArn}/index/${on.index}`],
        }),
      );
    }
    // The same key actions CDK's own table grants use for a customer-managed table key, but only for
    // requests DynamoDB makes on the function's behalf: the functions never need the table key directly,
    // so a leaked role cannot use it to decrypt or encrypt anything of its own (kms:ViaService).
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': tableKeyViaService(this) } },
      }),
    );
    if (!Construct.isConstruct(grantee.grantPrincipal)) return;
    NagSuppressions.addResourceSuppressions(
      grantee.grantPrincipal,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "kms:GenerateDataKey* and kms:ReEncrypt* are scoped to the table's own KMS key: the action set DynamoDB needs on a customer-managed table key (the same one Table.grantReadWriteData uses).",
          appliesTo: ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'],
        },
      ],
      true,
    );
  }
}

/** The DynamoDB actions behind the given batch-store operations (the table key comes with grantOrderStore). */
export function grantBatchStore(
  storage: PayoutStorage,
  grantee: IGrantable,
  operations: readonly BatchStoreOperation[],
): void {
  const onTable = [
    ...new Set(
      operations
        .filter((o) => BATCH_STORE_ACTIONS[o].on === 'table')
        .flatMap((o) => BATCH_STORE_ACTIONS[o].actions),
    ),
  ];
  if (onTable.length > 0) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: onTable, resources: [storage.table.tableArn] }),
    );
  }
  for (const o of operations) {
    const on = BATCH_STORE_ACTIONS[o].on;
    if (on === 'table') continue;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: BATCH_STORE_ACTIONS[o].actions,
        resources: [`${storage.table.tableArn}/index/${on.index}`],
      }),
    );
  }
}

/** The only service that may use the table key for the functions: DynamoDB in the stack's region. */
export function tableKeyViaService(scope: Construct): string {
  return `dynamodb.${Stack.of(scope).region}.amazonaws.com`;
}
