import { Duration } from 'aws-cdk-lib';
import { AuthorizationType, LambdaIntegration } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { METRICS } from '../../src/config/contract';
import { parseFunds } from '../../src/config/funds';
import type { PayoutConfig } from '../config/schema';
import type { PayoutApi } from './api';
import { SERVICE_NAME } from './functions';
import type { PayoutFunction } from './payout-function';

export interface PayoutFundsProps {
  readonly config: PayoutConfig;
  readonly api: PayoutApi;
  readonly balance: PayoutFunction;
  readonly alarmTopic: ITopic;
}

/** The balance check runs with the reconciliation schedule; its metrics are read over this period. */
const PERIOD = Duration.minutes(5);

/**
 * Funds (issue 13, docs/funds.md): the GET /balance route (IAM, like every merchant route) and the
 * low-balance alarms on what the funds check publishes (AvailableBalance, WaitingAmount, yuan):
 *
 * - `LowBalance`: AvailableBalance below LOW_BALANCE_AMOUNT (only when configured);
 * - `BalanceBelowWaiting`: AvailableBalance − WaitingAmount below zero (what waits cannot all be paid).
 *
 * Missing data does not alarm: an unknown balance is never zero (BalanceUnknown counts those checks).
 * The Funds Low event (once per crossing) comes from the funds check itself.
 */
export class PayoutFunds extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: PayoutFundsProps) {
    super(scope, id);
    const method = props.api.api.root
      .addResource('balance')
      .addMethod('GET', new LambdaIntegration(props.balance.function), {
        authorizationType: AuthorizationType.IAM,
      });
    NagSuppressions.addResourceSuppressions(method, [
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Merchant routes use IAM (SigV4) authorization: the callers are back-end services and operators holding AWS credentials, not users of a Cognito user pool.',
      },
    ]);

    const metric = (metricName: string) =>
      new Metric({
        namespace: METRICS.namespace,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: 'Minimum',
        period: PERIOD,
      });
    const available = metric(METRICS.availableBalance);
    const action = new SnsAction(props.alarmTopic);
    const alarm = (
      alarmId: string,
      description: string,
      target: Metric | MathExpression,
      threshold: number,
    ) => {
      const a = new Alarm(this, alarmId, {
        metric: target,
        alarmDescription: `lianlian-payout: ${description}`,
        threshold,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms.push(a);
      return a;
    };

    const funds = parseFunds({ lowBalanceAmount: props.config.lowBalanceAmount });
    const lowFen = funds.ok ? funds.funds.lowBalanceFen : undefined;
    if (lowFen !== undefined) {
      alarm(
        'LowBalance',
        `the provider balance is below LOW_BALANCE_AMOUNT (${props.config.lowBalanceAmount}): top up before payouts wait for funds (docs/funds.md).`,
        available,
        lowFen / 100,
      );
    }
    alarm(
      'BalanceBelowWaiting',
      'the provider balance is below what waits to be paid (queued, awaiting approval, awaiting funds): top up (docs/funds.md).',
      new MathExpression({
        expression: 'available - waiting',
        usingMetrics: { available, waiting: metric(METRICS.waitingAmount) },
        label: 'AvailableBalance - WaitingAmount',
        period: PERIOD,
      }),
      0,
    );
  }
}
