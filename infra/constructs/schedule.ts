import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { ReconcileSchedulePayload } from '../../src/config/contract';

export interface ReconcileScheduleProps {
  readonly target: IFunction;
  readonly rate: Duration;
  /** Optional override of the function's own minimum order age for this schedule. */
  readonly minAgeSeconds?: number;
}

/**
 * The reconciliation heartbeat: an EventBridge rule invoking the reconcile function with the typed
 * payload the function parses (ReconcileSchedulePayload in the shared contract).
 */
export class ReconcileSchedule extends Construct {
  readonly rule: Rule;
  readonly payload: ReconcileSchedulePayload;

  constructor(scope: Construct, id: string, props: ReconcileScheduleProps) {
    super(scope, id);
    this.payload = {
      kind: 'reconcile',
      ...(props.minAgeSeconds === undefined ? {} : { minAgeSeconds: props.minAgeSeconds }),
    };
    this.rule = new Rule(this, 'Rule', {
      description: 'lianlian-payout: query the provider for payouts without a final result',
      schedule: Schedule.rate(props.rate),
    });
    this.rule.addTarget(
      new LambdaFunction(props.target, {
        event: RuleTargetInput.fromObject(this.payload),
        // A run that cannot be delivered within one period is superseded by the next one.
        maxEventAge: Duration.seconds(Math.max(60, props.rate.toSeconds())),
        retryAttempts: 2,
      }),
    );
  }
}
