import { randomBytes } from 'node:crypto';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyResult, DynamoDBStreamEvent } from 'aws-lambda';
import { applyHandler } from '../functions/apply/handler';
import { notifyHandler } from '../functions/notify/handler';
import { buildPublishRuntime, publishHandler } from '../functions/publish/handler';
import { buildRuntime } from '../functions/shared/runtime';
import { LOCAL_OID_PARTNER } from '../local/test-merchant';
import { ENV } from '../src/config/contract';
import type { PayoutOrder } from '../src/core/model';
import { exportPrivateKeyBase64, exportPublicKeyBase64 } from '../src/lianlian/keys';
import { signFields } from '../src/lianlian/sign';
import { formatSettleDate } from '../src/lianlian/time';
import { MemoryOrderStore } from '../test/support/memory-order-store';
import { apiEvent, lambdaContext, OutputCapture } from './lambda';
import type { SignKeys } from './sign';
import { percentile, round } from './stats';

/**
 * The apply and notify handlers exactly as deployed (middy, Powertools logger and metrics, the runtime
 * container from buildRuntime) with in-memory ports: the MemoryOrderStore, the real HttpProviderClient
 * over a fake fetch, and the real envelope encryption with a local data key. So the numbers are our own
 * CPU cost per invocation — validation, sealing, signing the apply (1024-bit key), verifying the signed
 * 0000 answer, the transition, logging — without network or DynamoDB time.
 */

export const BENCH_OID = LOCAL_OID_PARTNER;
const CARD = '6222021234567890123';
const NAME = '张三丰';
const MONEY = '1234.50';

export interface LatencyResult {
  readonly iterations: number;
  readonly warmup: number;
  readonly apply: { p50: number; p90: number; p99: number; max: number; mean: number };
  readonly publish: PublishTiming;
  readonly notify: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** What the functions wrote to stdout/stderr per invocation (CloudWatch Logs ingestion). */
  readonly applyLogBytes: number;
  readonly notifyLogBytes: number;
  readonly applyLogLines: number;
  readonly notifyLogLines: number;
  readonly logSamples: { readonly apply: string[]; readonly notify: string[] };
}

export function benchEnv(keys: SignKeys, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [ENV.keySource]: 'env',
    [ENV.tableName]: 'payouts',
    [ENV.apiBase]: 'http://127.0.0.1:9',
    [ENV.oidPartner]: BENCH_OID,
    [ENV.signType]: 'RSA',
    [ENV.providerPublicKey]: exportPublicKeyBase64(keys.providerPublic),
    [ENV.merchantPrivateKey]: exportPrivateKeyBase64(keys.merchant),
    [ENV.localFieldKey]: randomBytes(32).toString('base64'),
    [ENV.notifyUrl]: 'https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/v1/lianlian/notify',
    ...extra,
  };
}

function summarize(samples: number[]) {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return {
    p50: round(percentile(samples, 50), 3),
    p90: round(percentile(samples, 90), 3),
    p99: round(percentile(samples, 99), 3),
    max: round(Math.max(...samples), 3),
    mean: round(mean, 3),
  };
}

export async function latencyBench(
  keys: SignKeys,
  iterations: number,
  warmup: number,
  progress: (line: string) => void,
): Promise<LatencyResult> {
  const total = warmup + iterations;
  const noOrder = (i: number) => `BENCH${i.toString().padStart(8, '0')}`;

  // The provider's signed 0000 answers, made before the clock starts: signing them is the provider's
  // work, not ours.
  const answers = new Map<string, { text: string; oidPaybill: string }>();
  for (let i = 0; i < total; i++) {
    const oidPaybill = `20261127${i.toString().padStart(10, '0')}`;
    const signed = signFields(
      {
        ret_code: '0000',
        ret_msg: '交易成功',
        oid_partner: BENCH_OID,
        no_order: noOrder(i),
        oid_paybill: oidPaybill,
      },
      { signType: 'RSA', privateKey: keys.provider },
    );
    answers.set(noOrder(i), { text: JSON.stringify(signed), oidPaybill });
  }
  const fetchImpl = (async (_url: string | URL | Request, init?: RequestInit) => {
    const sent = JSON.parse(String(init?.body)) as { no_order: string };
    const answer = answers.get(sent.no_order);
    if (!answer) return new Response('{"ret_code":"9999","ret_msg":"bench: no answer"}', { status: 200 });
    return new Response(answer.text, {
      status: 200,
      headers: { 'content-type': 'application/json;charset=utf-8' },
    });
  }) as typeof fetch;

  const store = new MemoryOrderStore();
  const runtime = buildRuntime(benchEnv(keys), { store, fetchImpl });
  const apply = applyHandler(() => runtime);
  const notify = notifyHandler(() => runtime);
  const capture = new OutputCapture();

  const applySamples: number[] = [];
  const failures: string[] = [];
  capture.start();
  try {
    for (let i = 0; i < total; i++) {
      if (i === warmup) capture.reset();
      const body = JSON.stringify({
        no_order: noOrder(i),
        money_order: MONEY,
        card_no: CARD,
        acct_name: NAME,
        flag_card: '0',
        info_order: '供应商货款结算',
      });
      const event = apiEvent('POST', '/payouts', body);
      const context = lambdaContext('apply');
      const t0 = performance.now();
      const result = (await apply(event, context)) as APIGatewayProxyResult;
      const ms = performance.now() - t0;
      if (i >= warmup) applySamples.push(ms);
      if (result.statusCode !== 202) failures.push(`apply ${noOrder(i)}: HTTP ${result.statusCode}`);
    }
  } finally {
    capture.stop();
  }
  const applyLog = { bytes: capture.bytes / iterations, lines: capture.lines / iterations };
  const applySamplesLogged = [...capture.samples];
  if (failures.length > 0) throw new Error(`apply bench failed: ${failures.slice(0, 3).join('; ')}`);
  progress(`apply: ${total} invocations done`);

  // Validly signed SUCCESS notifications (1024-bit provider key) for the orders just created.
  const bodies: string[] = [];
  const settleDate = formatSettleDate(new Date());
  for (let i = 0; i < total; i++) {
    const order = await store.get(noOrder(i));
    if (order?.status !== 'ACCEPTED')
      throw new Error(`order ${noOrder(i)} is ${order?.status}, not ACCEPTED`);
    const signed = signFields(
      {
        oid_partner: BENCH_OID,
        no_order: order.no_order,
        dt_order: order.dt_order,
        money_order: order.money_order,
        oid_paybill: answers.get(order.no_order)!.oidPaybill,
        result_pay: 'SUCCESS',
        settle_date: settleDate,
        info_order: order.info_order,
      },
      { signType: 'RSA', privateKey: keys.provider },
    );
    bodies.push(JSON.stringify(signed));
  }

  const notifySamples: number[] = [];
  capture.reset();
  capture.start();
  try {
    for (let i = 0; i < total; i++) {
      if (i === warmup) capture.reset();
      const event = apiEvent('POST', '/lianlian/notify', bodies[i]!);
      const context = lambdaContext('notify');
      const t0 = performance.now();
      const result = (await notify(event, context)) as APIGatewayProxyResult;
      const ms = performance.now() - t0;
      if (i >= warmup) notifySamples.push(ms);
      if (result.statusCode !== 200 || !result.body.includes('"0000"')) {
        failures.push(`notify ${noOrder(i)}: HTTP ${result.statusCode} ${result.body}`);
      }
    }
  } finally {
    capture.stop();
  }
  const notifyLog = { bytes: capture.bytes / iterations, lines: capture.lines / iterations };
  const notifySamplesLogged = [...capture.samples];
  if (failures.length > 0) throw new Error(`notify bench failed: ${failures.slice(0, 3).join('; ')}`);
  for (let i = 0; i < total; i++) {
    const order = await store.get(noOrder(i));
    if (order?.status !== 'SUCCESS') throw new Error(`order ${noOrder(i)} is ${order?.status} after notify`);
  }
  progress(`notify: ${total} invocations done`);

  const finalOrder = (await store.get(noOrder(warmup)))!;
  return {
    iterations,
    warmup,
    publish: await publishBench(finalOrder, iterations, warmup),
    apply: summarize(applySamples),
    notify: summarize(notifySamples),
    applyLogBytes: round(applyLog.bytes, 0),
    notifyLogBytes: round(notifyLog.bytes, 0),
    applyLogLines: round(applyLog.lines, 2),
    notifyLogLines: round(notifyLog.lines, 2),
    logSamples: { apply: applySamplesLogged.slice(0, 4), notify: notifySamplesLogged.slice(0, 2) },
  };
}

export interface PublishTiming {
  /** A stream record that publishes nothing (creation, ACCEPTED): the handler's own time, ms p50. */
  readonly noEventP50: number;
  /** The SUCCESS record: event built and PutEvents called (a fake client answering at once), ms p50. */
  readonly eventP50: number;
  readonly logBytesPerInvocation: number;
}

/**
 * The publish function on the three stream records of one payout (creation, ACCEPTED, SUCCESS), one
 * record per invocation — what Lambda does at low traffic. PutEvents goes to a fake client, so this is
 * our CPU only; the cost model adds the network round trip as a stated assumption.
 */
async function publishBench(
  finalOrder: PayoutOrder,
  iterations: number,
  warmup: number,
): Promise<PublishTiming> {
  const created: PayoutOrder = { ...finalOrder, status: 'PENDING', version: 1, history: [] };
  const accepted: PayoutOrder = {
    ...finalOrder,
    status: 'ACCEPTED',
    version: 2,
    history: finalOrder.history.slice(0, 1),
  };
  const image = (o: PayoutOrder) => marshall(o, { removeUndefinedValues: true }) as Record<string, never>;
  const record = (seq: number, oldImage: PayoutOrder | undefined, newImage: PayoutOrder) => ({
    eventID: `bench-${seq}`,
    eventName: oldImage ? 'MODIFY' : 'INSERT',
    dynamodb: {
      SequenceNumber: String(seq),
      ...(oldImage ? { OldImage: image(oldImage) } : {}),
      NewImage: image(newImage),
    },
  });
  const events = [
    record(1, undefined, created),
    record(2, created, accepted),
    record(3, accepted, finalOrder),
  ];
  let putEvents = 0;
  const client = {
    send: async (command: { input: { Entries?: unknown[] } }) => {
      putEvents++;
      return {
        FailedEntryCount: 0,
        Entries: (command.input.Entries ?? []).map((_, i) => ({ EventId: `e${i}` })),
      };
    },
  } as unknown as EventBridgeClient;
  const runtime = buildPublishRuntime(
    { EVENT_BUS_NAME: 'bench-bus', DISPATCH_QUEUE_URL: 'https://sqs.example/dispatch.fifo' },
    { client },
  );
  const handler = publishHandler(() => runtime);
  const capture = new OutputCapture();
  const noEvent: number[] = [];
  const withEvent: number[] = [];
  capture.start();
  try {
    for (let i = 0; i < warmup + iterations; i++) {
      if (i === warmup) capture.reset();
      for (const [n, r] of events.entries()) {
        const event = { Records: [r] } as unknown as DynamoDBStreamEvent;
        const t0 = performance.now();
        const out = await handler(event, lambdaContext('publish'));
        const ms = performance.now() - t0;
        if (out.batchItemFailures.length > 0) throw new Error('publish bench: a record failed');
        if (i >= warmup) (n === 2 ? withEvent : noEvent).push(ms);
      }
    }
  } finally {
    capture.stop();
  }
  if (putEvents !== warmup + iterations) throw new Error(`publish bench: ${putEvents} PutEvents calls`);
  return {
    noEventP50: round(percentile(noEvent, 50), 3),
    eventP50: round(percentile(withEvent, 50), 3),
    logBytesPerInvocation: round(capture.bytes / (iterations * events.length), 0),
  };
}
