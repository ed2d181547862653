/**
 * Cost per million payouts from what the bench measured (calls, durations, log bytes, capacity units)
 * and published on-demand list prices. Pure: `costPerMillion(inputs, PRICES)` — unit-tested in
 * test/unit/bench-cost.test.ts. Every assumption the measurements cannot make is an explicit input and
 * is printed in RESULTS.md next to the result.
 */

export interface Price {
  /** As the pricing page states it. */
  readonly quote: string;
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
}

/**
 * us-east-1 list prices (the region AWS quotes in USD; China regions bill in CNY at other rates —
 * re-price before relying on this for cn-north-1). Not fetched at run time: the bench machine has no
 * internet access. Checked against the AWS pricing pages as published in 2025.
 */
export const PRICES = {
  lambdaArmGbSecond: {
    quote: '$0.0000133334 per GB-second',
    usd: 0.0000133334,
    unit: 'GB-second (arm64, first 7.5 billion GB-s/month)',
    source: 'aws.amazon.com/lambda/pricing, us-east-1, 2025',
  },
  lambdaRequest: {
    quote: '$0.20 per 1M requests',
    usd: 0.2 / 1e6,
    unit: 'request',
    source: 'aws.amazon.com/lambda/pricing, us-east-1, 2025',
  },
  apiGatewayRestRequest: {
    quote: '$3.50 per 1M requests',
    usd: 3.5 / 1e6,
    unit: 'REST API request (first 333 million/month)',
    source: 'aws.amazon.com/api-gateway/pricing, us-east-1, 2025',
  },
  dynamoWru: {
    quote: '$0.625 per 1M WRU',
    usd: 0.625 / 1e6,
    unit: 'write request unit, on-demand',
    source: 'aws.amazon.com/dynamodb/pricing/on-demand, us-east-1, after the 1 Nov 2024 reduction',
  },
  dynamoRru: {
    quote: '$0.125 per 1M RRU',
    usd: 0.125 / 1e6,
    unit: 'read request unit, on-demand',
    source: 'aws.amazon.com/dynamodb/pricing/on-demand, us-east-1, after the 1 Nov 2024 reduction',
  },
  kmsRequest: {
    quote: '$0.03 per 10,000 requests',
    usd: 0.03 / 10_000,
    unit: 'KMS API request (symmetric)',
    source: 'aws.amazon.com/kms/pricing, us-east-1, 2025',
  },
  eventBridgeEvent: {
    quote: '$1.00 per 1M events',
    usd: 1.0 / 1e6,
    unit: 'custom event published (64 KB chunk)',
    source: 'aws.amazon.com/eventbridge/pricing, us-east-1, 2025',
  },
  logsIngestionGb: {
    quote: '$0.50 per GB',
    usd: 0.5,
    unit: 'GB ingested, CloudWatch Logs standard class',
    source: 'aws.amazon.com/cloudwatch/pricing, us-east-1, 2025',
  },
  xrayTrace: {
    quote: '$5.00 per 1M traces',
    usd: 5.0 / 1e6,
    unit: 'trace recorded',
    source: 'aws.amazon.com/xray/pricing, us-east-1, 2025',
  },
} as const satisfies Record<string, Price>;

export type Prices = { readonly [K in keyof typeof PRICES]: Price };

export interface FunctionUse {
  /** Invocations per payout. */
  readonly invocations: number;
  /** Billed duration per invocation, ms (Lambda bills per started ms). */
  readonly durationMs: number;
  readonly memoryMb: number;
  /** Bytes the function writes to its log per invocation (its own lines; platform lines are added). */
  readonly logBytes: number;
  /**
   * False for duration that is not an invocation of its own (a cold start's INIT phase, the share of a
   * reconciliation run one order takes): no request charge, no platform log lines.
   */
  readonly separateInvocation?: boolean;
}

export interface CostInputs {
  /** Payouts per month: spreads the fixed per-run and per-container costs. */
  readonly payoutsPerMonth: number;
  readonly apiRequestsPerPayout: number;
  readonly functions: Readonly<Record<string, FunctionUse>>;
  readonly wruPerPayout: number;
  readonly rruPerPayout: number;
  readonly kmsRequestsPerPayout: number;
  readonly eventsPerPayout: number;
  /** START/END/REPORT lines Lambda adds per invocation. */
  readonly platformLogBytesPerInvocation: number;
  /** Traces recorded per payout (X-Ray is on: Tracing.ACTIVE on functions and the API stage). */
  readonly tracesPerPayout: number;
  /** Per-month costs that do not scale with payouts (the reconcile schedule's empty runs). */
  readonly fixedMonthlyLambdaGbSeconds: number;
  readonly fixedMonthlyLambdaRequests: number;
}

export interface CostLine {
  readonly item: string;
  readonly usdPerMillion: number;
  /** Part of the total (Lambda, REST API, DynamoDB, KMS, EventBridge) or shown beside it. */
  readonly inTarget: boolean;
}

export interface CostResult {
  readonly lines: readonly CostLine[];
  /** Lambda arm64 + REST API + DynamoDB on-demand + KMS + EventBridge: the definition. */
  readonly usdPerMillion: number;
  /** … plus CloudWatch Logs ingestion. */
  readonly usdPerMillionWithLogs: number;
  /** … plus X-Ray traces. */
  readonly usdPerMillionWithLogsAndXray: number;
}

const MILLION = 1e6;

/** Lambda bills duration in 1 ms steps, rounded up. */
export function billedMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs));
}

export function costPerMillion(inputs: CostInputs, prices: Prices = PRICES): CostResult {
  const lines: CostLine[] = [];
  const n = (v: number) => Math.round(v * 1000) / 1000;
  const add = (item: string, usdPerPayout: number, inTarget = true) =>
    lines.push({ item, usdPerMillion: usdPerPayout * MILLION, inTarget });

  let logBytes = 0;
  for (const [name, use] of Object.entries(inputs.functions)) {
    const separate = use.separateInvocation ?? true;
    // A share of a longer run is not rounded up on its own: only whole invocations are.
    const ms = separate ? billedMs(use.durationMs) : use.durationMs;
    const gbSeconds = (use.memoryMb / 1024) * (ms / 1000);
    add(
      `Lambda ${name} (${use.invocations} × ${Math.round(ms * 10) / 10} ms × ${use.memoryMb} MB)`,
      use.invocations *
        ((separate ? prices.lambdaRequest.usd : 0) + gbSeconds * prices.lambdaArmGbSecond.usd),
    );
    logBytes += use.invocations * (use.logBytes + (separate ? inputs.platformLogBytesPerInvocation : 0));
  }
  const fixedShare = 1 / inputs.payoutsPerMonth;
  add(
    'Lambda reconcile schedule, fixed share',
    fixedShare *
      (inputs.fixedMonthlyLambdaGbSeconds * prices.lambdaArmGbSecond.usd +
        inputs.fixedMonthlyLambdaRequests * prices.lambdaRequest.usd),
  );
  add(
    `API Gateway REST (${n(inputs.apiRequestsPerPayout)} requests)`,
    inputs.apiRequestsPerPayout * prices.apiGatewayRestRequest.usd,
  );
  add(`DynamoDB writes (${n(inputs.wruPerPayout)} WRU)`, inputs.wruPerPayout * prices.dynamoWru.usd);
  add(`DynamoDB reads (${n(inputs.rruPerPayout)} RRU)`, inputs.rruPerPayout * prices.dynamoRru.usd);
  add(
    `KMS (${n(inputs.kmsRequestsPerPayout)} requests)`,
    inputs.kmsRequestsPerPayout * prices.kmsRequest.usd,
  );
  add(`EventBridge (${inputs.eventsPerPayout} events)`, inputs.eventsPerPayout * prices.eventBridgeEvent.usd);
  add(
    `CloudWatch Logs (${Math.round(logBytes)} bytes)`,
    (logBytes / 1024 ** 3) * prices.logsIngestionGb.usd,
    false,
  );
  add(`X-Ray (${inputs.tracesPerPayout} traces)`, inputs.tracesPerPayout * prices.xrayTrace.usd, false);

  const sum = (filter: (l: CostLine) => boolean) =>
    lines.filter(filter).reduce((total, l) => total + l.usdPerMillion, 0);
  const usdPerMillion = sum((l) => l.inTarget);
  const logs = sum((l) => l.item.startsWith('CloudWatch Logs'));
  const xray = sum((l) => l.item.startsWith('X-Ray'));
  return {
    lines,
    usdPerMillion,
    usdPerMillionWithLogs: usdPerMillion + logs,
    usdPerMillionWithLogsAndXray: usdPerMillion + logs + xray,
  };
}
