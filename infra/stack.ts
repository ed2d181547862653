import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ENV, METRICS } from '../src/config/contract';
import { type PayoutConfig, providerEndpoints } from './config/schema';
import { PayoutApi } from './constructs/api';
import { PayoutConsole } from './constructs/console';
import { PayoutDispatch } from './constructs/dispatch';
import { FixedEgress } from './constructs/egress';
import { PayoutEvents } from './constructs/events';
import { PayoutExport } from './constructs/export';
import { DISPATCH_FUNCTION_TIMEOUT, PayoutFunctions, SERVICE_NAME } from './constructs/functions';
import { PayoutFunds } from './constructs/funds';
import { PayoutKeys } from './constructs/keys';
import { PayoutMonitoring } from './constructs/monitoring';
import { DailyClose, PayoutReports } from './constructs/reports';
import { ReconcileSchedule } from './constructs/schedule';
import { PayoutStorage } from './constructs/storage';

/** The repository root: functions/<name>/index.ts and package-lock.json live there. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface PayoutStackProps extends StackProps {
  readonly config: PayoutConfig;
  /** Where the function sources and lock file are; the repository root unless a test says otherwise. */
  readonly sourceRoot?: string;
}

/**
 * The whole service. The stack only composes: each concern is a construct, wired here by the grants
 * and names they expose. Stateful resources (table and keys) come first and are retained in production.
 */
export class PayoutStack extends Stack {
  readonly storage: PayoutStorage;
  readonly keys: PayoutKeys;
  readonly api: PayoutApi;
  readonly functions: PayoutFunctions;
  readonly events: PayoutEvents;
  readonly schedule: ReconcileSchedule;
  readonly monitoring: PayoutMonitoring;
  readonly egress?: FixedEgress;
  readonly webConsole: PayoutConsole;
  readonly reports: PayoutReports;
  readonly close: DailyClose;
  /** GET /payouts/export.csv (issue 12): its own function, writing large exports to the reports bucket. */
  readonly exporter: PayoutExport;
  readonly dispatch: PayoutDispatch;

  constructor(scope: Construct, id: string, props: PayoutStackProps) {
    super(scope, id, {
      description: `lianlian-payout (${props.config.env}): bank-card payouts through LianLian Pay`,
      ...props,
    });
    const { config } = props;
    const production = config.env === 'prod';

    // --- stateful -----------------------------------------------------------------------------------
    this.storage = new PayoutStorage(this, 'Storage', { production });
    this.keys = new PayoutKeys(this, 'Keys', {
      production,
      oidPartner: config.oidPartner,
      parameters: { rsa: config.merchantKeyParam, md5: config.md5KeyParam },
      payeeLimits: config.payeeDailyLimitAmount !== undefined || config.payeeDailyLimitCount !== undefined,
    });

    // --- stateless ----------------------------------------------------------------------------------
    this.api = new PayoutApi(this, 'Api', {
      notifyAllowCidrs: config.notifyAllowCidrs,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      logRetention: config.logRetentionDays,
      production,
    });
    this.events = new PayoutEvents(this, 'Events', { production });
    if (config.egressEipAllocationIds.length > 0) {
      this.egress = new FixedEgress(this, 'Egress', {
        eipAllocationIds: config.egressEipAllocationIds,
        egressPorts: providerPorts(config),
        logRetention: config.logRetentionDays,
        production,
      });
    }
    const notifyUrl = config.notifyUrl ?? this.api.notifyUrl;
    this.functions = new PayoutFunctions(this, 'Functions', {
      config,
      sourceRoot: props.sourceRoot ?? REPOSITORY_ROOT,
      storage: this.storage,
      keys: this.keys,
      events: this.events,
      notifyUrl,
      network: this.egress?.network,
    });
    const fns = this.functions;
    this.api.addMerchantRoutes({
      apply: fns.apply.function,
      query: fns.query.function,
      review: fns.review.function,
    });
    this.api.addBatchRoutes(fns.batches.function);
    const access = this.api.addAccessPolicies();
    this.api.addNotifyRoute(fns.notify.function);
    // The web console: S3 + CloudFront, Cognito groups mapped to the access policies (docs/console.md).
    this.webConsole = new PayoutConsole(this, 'Console', { api: this.api.api, policies: access, production });

    // The daily close (issue 13): reports bucket, close function, its schedule and GET /close/{date}.
    this.reports = new PayoutReports(this, 'Reports', { production });
    // The functions built outside PayoutFunctions (close, export) share these defaults.
    const defaults = {
      sourceRoot: props.sourceRoot ?? REPOSITORY_ROOT,
      logRetention: config.logRetentionDays,
      removalPolicy: production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      environment: {
        [ENV.serviceName]: SERVICE_NAME,
        [ENV.metricsNamespace]: METRICS.namespace,
        [ENV.logLevel]: config.logLevel,
      },
    };
    this.close = new DailyClose(this, 'DailyClose', {
      defaults,
      storage: this.storage,
      reports: this.reports,
      events: this.events,
    });
    this.api.addCloseRoute(this.close.fn.function);
    // Exports (issue 12): inline, or written under exports/ of the reports bucket and answered with a link.
    this.exporter = new PayoutExport(this, 'Export', {
      defaults,
      storage: this.storage,
      reports: this.reports,
    });
    this.api.addExportRoute(this.exporter.fn.function);

    // Batch dispatch (issue 11): the queue feeding the worker; reconciliation re-triggers due batches.
    this.dispatch = new PayoutDispatch(this, 'Dispatch', {
      production,
      worker: fns.dispatch,
      workerTimeout: DISPATCH_FUNCTION_TIMEOUT,
      storage: this.storage,
    });
    // Reconciliation's re-trigger is a request written on the batch record (it holds no SQS client); the
    // stream's publisher sends it to the queue.
    this.dispatch.grantTrigger(fns.publish);
    // The batch API triggers dispatch when a batch is committed (accepted without approval, or approved).
    this.dispatch.grantTrigger(fns.batches);
    this.dispatch.grantBatchLooks(fns.reconcile);

    const rate = Duration.minutes(config.reconcileRateMinutes);
    this.schedule = new ReconcileSchedule(this, 'Reconcile', { target: fns.reconcile.function, rate });

    // --- monitoring ---------------------------------------------------------------------------------
    this.monitoring = new PayoutMonitoring(this, 'Monitoring', { production, alarmEmail: config.alarmEmail });
    this.monitoring.addApi(this.api.api);
    for (const [label, fn] of Object.entries({
      Apply: fns.apply,
      Query: fns.query,
      Review: fns.review,
      Notify: fns.notify,
      Reconcile: fns.reconcile,
      Publish: fns.publish,
      Batches: fns.batches,
      Dispatch: fns.dispatch,
    })) {
      this.monitoring.addFunction(label, fn);
    }
    // A failed daily close alarms like any function error (it throws; the schedule retries twice).
    this.monitoring.addFunction('Close', this.close.fn);
    this.monitoring.addFunction('Export', this.exporter.fn);
    this.monitoring.addHeartbeat(
      'Reconcile',
      fns.reconcile,
      Duration.minutes(config.reconcileRateMinutes * 3),
    );
    this.monitoring.addDeadLetterQueue('PublishDlq', this.events.deadLetterQueue);
    this.monitoring.addDeadLetterQueue('DispatchDlq', this.dispatch.deadLetterQueue);
    this.monitoring.addStreamLag('Publish', fns.publish, Duration.minutes(10));
    this.monitoring.addFunction('Balance', fns.balance);
    new PayoutFunds(this, 'Funds', {
      config,
      api: this.api,
      balance: fns.balance,
      alarmTopic: this.monitoring.topic,
    });

    // --- outputs ------------------------------------------------------------------------------------
    new CfnOutput(this, 'ApiUrl', {
      value: this.api.url,
      description: 'Base URL of the payout API (IAM auth)',
    });
    new CfnOutput(this, 'NotifyUrl', {
      value: notifyUrl,
      description: 'Register with the provider: the notify_url sent with every apply',
    });
    new CfnOutput(this, 'MerchantKeyKmsKeyArn', {
      value: this.keys.merchantKey.keyArn,
      description: 'Pass to `npm run ops -- encrypt-key --kms-key`',
    });
    new CfnOutput(this, 'MerchantKeyParameter', {
      value: this.keys.parameterName(config.signType === 'RSA' ? 'rsa' : 'md5'),
      description: 'SSM parameter encrypt-key writes (created outside the stack)',
    });
    new CfnOutput(this, 'SubmittersPolicyArn', {
      value: access.submitters.managedPolicyArn,
      description: 'Attach to who creates payouts (POST /payouts, GET /payouts…)',
    });
    new CfnOutput(this, 'ApproversPolicyArn', {
      value: access.approvers.managedPolicyArn,
      description: 'Attach to who approves, denies or voids payouts (docs/controls.md)',
    });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'ReportsBucketName', { value: this.reports.bucket.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}

/** The TCP port of every provider URL the functions call (apply, query, balance), each once. */
export function providerPorts(config: PayoutConfig): number[] {
  const { applyUrl, queryUrl, balanceUrl } = providerEndpoints(config);
  const ports = [applyUrl, queryUrl, balanceUrl]
    .filter((u): u is string => u !== undefined)
    .map((u) => {
      const url = new URL(u);
      return url.port ? Number(url.port) : 443;
    });
  return [...new Set(ports)];
}
