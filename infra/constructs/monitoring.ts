import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../src/config/contract';
import type { PayoutFunction } from './payout-function';

export interface PayoutMonitoringProps {
  readonly production: boolean;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * Alarms and a dashboard. Every alarm notifies one SNS topic (encrypted, e-mail optional) on ALARM and on
 * OK. Business alarms read the metrics the functions emit (METRICS in the shared contract) with Metrics
 * Insights queries, which sum a metric across all of its dimension sets: the functions may add dimensions
 * (e.g. `api` on unknown codes) without silently detaching an alarm.
 */
export class PayoutMonitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: PayoutMonitoringProps) {
    super(scope, id);
    const key = new Key(this, 'TopicKey', {
      description: 'lianlian-payout: alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with its service principal.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: 'lianlian-payout alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(12) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# lianlian-payout\nAlarms notify the alarm topic. Runbook: docs/deploy.md#alarms. ' +
          'An unknown outcome is never a failure: stuck payouts are queried, never re-paid.',
        width: 24,
        height: 2,
      }),
    );

    const business = [
      this.insightsAlarm(
        'PayoutsStuck',
        METRICS.stuck,
        'Payouts without a final result for longer than STUCK_AFTER_SECONDS: ask the provider, never re-pay.',
      ),
      this.insightsAlarm(
        'PayoutAnomalies',
        METRICS.anomalies,
        'A provider answer contradicted the order (amount, merchant, impossible transition): investigate before anything else.',
      ),
      this.insightsAlarm(
        'ProviderUnknownCodes',
        METRICS.unknownCodes,
        'The provider answered a ret_code outside the catalogue (spec §7); the outcome was treated as unknown.',
      ),
      this.insightsAlarm(
        'ReconcileOrderErrors',
        METRICS.reconcileErrors,
        'Reconciliation could not process some orders (store or provider failures); they stay due for the next run.',
      ),
      this.insightsAlarm(
        'PayoutEventRecordsMalformed',
        METRICS.eventRecordsMalformed,
        'Stream records the publisher could not read as payout orders: events for them were not published.',
      ),
      this.insightsAlarm(
        'DispatchRequestsFailed',
        METRICS.dispatchRequestsFailed,
        "Reconciliation's re-trigger of a batch could not be sent to the dispatch queue: the batch waits for its next due look (15 min). Check SQS and the publish function's SendMessage grant.",
      ),
    ];
    // A rotated or wrong provider key makes every answer fail its signature check; the outcomes stay
    // unknown (nothing is believed) and the stuck alarm would only fire a day later. One alarm over every
    // kind (apply, query, notify, balance later) rather than one per kind: any failure pages, a new kind
    // is covered without a new alarm, and the dashboard shows which kind it was.
    const signatures = this.insightsAlarm(
      'SignatureFailures',
      METRICS.signatureFailures,
      'A provider signature failed verification (apply, query or notify answer): the provider key may have been rotated, or someone is forging notifications. Nothing unverified was believed; see the dashboard for the kind, then docs/deploy.md#the-providers-public-key.',
    );
    business.push(signatures);
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Signature failures by kind',
        left: [
          new MathExpression({
            expression: `SELECT SUM(${METRICS.signatureFailures}) FROM ${METRICS.namespace} GROUP BY kind`,
            label: 'kind',
            period: PERIOD,
          }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Business signals (sum across dimensions)',
        left: business.map((a) => a.metric),
        width: 12,
      }),
      new GraphWidget({
        title: 'Reconciliation',
        left: [
          insights(METRICS.reconcileExamined, 'examined'),
          insights(METRICS.reconcileChanged, 'changed'),
        ],
        width: 12,
      }),
    );
  }

  /** Errors and throttles alarms plus a dashboard row for one function. */
  addFunction(label: string, fn: PayoutFunction): void {
    const f = fn.function;
    this.alarm(`${label}Errors`, f.metricErrors({ period: PERIOD, statistic: 'Sum' }), {
      description: `${label}: the function threw (or timed out). Check its log group.`,
    });
    this.alarm(`${label}Throttles`, f.metricThrottles({ period: PERIOD, statistic: 'Sum' }), {
      description: `${label}: invocations were throttled (account or reserved concurrency).`,
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${label}: invocations, errors, throttles`,
        left: [
          f.metricInvocations({ period: PERIOD }),
          f.metricErrors({ period: PERIOD }),
          f.metricThrottles({ period: PERIOD }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${label}: duration p50 / p99`,
        left: [
          f.metricDuration({ period: PERIOD, statistic: 'p50' }),
          f.metricDuration({ period: PERIOD, statistic: 'p99' }),
        ],
        width: 12,
      }),
    );
  }

  /** Alarms when a scheduled function has not run at all within `within` (the schedule stopped). */
  addHeartbeat(label: string, fn: PayoutFunction, within: Duration): void {
    this.alarm(`${label}NotRunning`, fn.function.metricInvocations({ period: within, statistic: 'Sum' }), {
      description: `${label}: no invocation in ${within.toHumanString()}; the schedule is disabled or failing.`,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
    });
  }

  /** Alarms on any visible message in a dead-letter queue. */
  addDeadLetterQueue(label: string, queue: IQueue): void {
    const visible = queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' });
    this.alarm(`${label}Messages`, visible, {
      description: `${label}: records could not be processed after all retries; read the queue, then replay.`,
    });
    this.dashboard.addWidgets(
      new GraphWidget({ title: `${label}: visible messages`, left: [visible], width: 12 }),
    );
  }

  /** Alarms when the stream consumer falls behind (records older than `maxAge` still unprocessed). */
  addStreamLag(label: string, fn: PayoutFunction, maxAge: Duration): void {
    const age = fn.function.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum' });
    this.alarm(`${label}IteratorAge`, age, {
      description: `${label}: the stream consumer is more than ${maxAge.toHumanString()} behind.`,
      threshold: maxAge.toMilliseconds(),
    });
  }

  addApi(api: RestApi): void {
    const errors = api.metricServerError({ period: PERIOD, statistic: 'Sum' });
    this.alarm('Api5xx', errors, {
      description: 'The API answered 5xx (function error, timeout or integration failure).',
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'API: requests, 4xx, 5xx',
        left: [api.metricCount({ period: PERIOD }), api.metricClientError({ period: PERIOD }), errors],
        width: 12,
      }),
      new GraphWidget({
        title: 'API: latency p50 / p99',
        left: [
          api.metricLatency({ period: PERIOD, statistic: 'p50' }),
          api.metricLatency({ period: PERIOD, statistic: 'p99' }),
        ],
        width: 12,
      }),
    );
  }

  private insightsAlarm(id: string, metricName: string, description: string): Alarm {
    return this.alarm(id, insights(metricName, metricName), { description });
  }

  private alarm(
    id: string,
    metric: IMetric,
    options: {
      description: string;
      threshold?: number;
      comparisonOperator?: ComparisonOperator;
      treatMissingData?: TreatMissingData;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric,
      alarmDescription: `lianlian-payout: ${options.description}`,
      threshold: options.threshold ?? 1,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}

/** Metrics Insights: one series, the metric summed over every dimension set it is emitted with. */
function insights(metricName: string, label: string): MathExpression {
  return new MathExpression({
    expression: `SELECT SUM(${metricName}) FROM ${METRICS.namespace}`,
    label,
    period: PERIOD,
  });
}
