import { startBenchDynamo } from '../dynamo';
import { stageTimer } from '../stats';
import { type BatchCrashResult, batchCrash } from './batch-crash';
import { FUZZ_SEED, type NotifyFuzzResult, notifyFuzz } from './fuzz';
import { type PaydayUnderfundedResult, paydayUnderfunded } from './payday-underfunded';
import {
  type ApprovalStormResult,
  approvalStorm,
  type ControlsRaceResult,
  type CrashResult,
  controlsRace,
  crashBetweenWrites,
  type DuplicateStormResult,
  duplicateStorm,
  type LostNotificationsResult,
  lostNotifications,
  type StoreFaultsResult,
  storeFaults,
} from './scenarios';

export const STORE_FAULT_SEED = 20261127;

export interface ReliabilitySizes {
  readonly stormOrders: number;
  readonly stormConcurrency: number;
  readonly lostOrders: number;
  readonly crashPerPoint: number;
  readonly faultPayouts: number;
  readonly fuzzCases: number;
  /** payday_underfunded (issue 13): payouts, and how many the starting balance covers. */
  readonly underfundedPayouts?: number;
  readonly underfundedCovered?: number;
  /** batch_crash (issue 11): items of the batch whose dispatcher is killed three times. */
  readonly batchCrashItems?: number;
}

export const FULL_SIZES: ReliabilitySizes = {
  stormOrders: 20,
  stormConcurrency: 100,
  lostOrders: 200,
  crashPerPoint: 50,
  faultPayouts: 500,
  fuzzCases: 10_000,
  underfundedPayouts: 500,
  underfundedCovered: 200,
  batchCrashItems: 500,
};

export const QUICK_SIZES: ReliabilitySizes = {
  stormOrders: 3,
  stormConcurrency: 30,
  lostOrders: 20,
  crashPerPoint: 5,
  faultPayouts: 50,
  fuzzCases: 500,
  underfundedPayouts: 50,
  underfundedCovered: 20,
  batchCrashItems: 60,
};

export interface ReliabilityResults {
  readonly duplicate_storm: DuplicateStormResult;
  readonly lost_notifications: LostNotificationsResult;
  readonly crash_between_writes: CrashResult;
  readonly store_faults: StoreFaultsResult;
  readonly notify_fuzz: NotifyFuzzResult;
  readonly controls_race: ControlsRaceResult;
  readonly approval_storm: ApprovalStormResult;
  readonly payday_underfunded: PaydayUnderfundedResult;
  readonly batch_crash: BatchCrashResult;
  readonly seconds: Record<string, number>;
}

/** Runs every scenario against one DynamoDB Local (each scenario has its own table and sandbox). */
export async function runReliability(
  sizes: ReliabilitySizes,
  progress: (line: string) => void,
): Promise<ReliabilityResults> {
  const dynamo = await startBenchDynamo();
  const { seconds, timed } = stageTimer(progress);
  try {
    const duplicate_storm = await timed('duplicate_storm', () =>
      duplicateStorm(dynamo.endpoint, progress, sizes.stormOrders, sizes.stormConcurrency),
    );
    const lost_notifications = await timed('lost_notifications', () =>
      lostNotifications(dynamo.endpoint, progress, sizes.lostOrders),
    );
    const crash_between_writes = await timed('crash_between_writes', () =>
      crashBetweenWrites(dynamo.endpoint, progress, sizes.crashPerPoint),
    );
    const store_faults = await timed('store_faults', () =>
      storeFaults(dynamo.endpoint, progress, sizes.faultPayouts, 0.1, STORE_FAULT_SEED),
    );
    const notify_fuzz = await timed('notify_fuzz', () =>
      notifyFuzz(dynamo.endpoint, progress, sizes.fuzzCases, FUZZ_SEED),
    );
    // The issue fixes these sizes (50 payouts of a tenth of the limit; 20 approvals): not scaled down.
    const controls_race = await timed('controls_race', () => controlsRace(dynamo.endpoint, progress, 50));
    const approval_storm = await timed('approval_storm', () => approvalStorm(dynamo.endpoint, progress, 20));
    const payday_underfunded = await timed('payday_underfunded', () =>
      paydayUnderfunded(
        dynamo.endpoint,
        progress,
        sizes.underfundedPayouts ?? 500,
        sizes.underfundedCovered ?? 200,
      ),
    );
    const batch_crash = await timed('batch_crash', () =>
      batchCrash(dynamo.endpoint, progress, sizes.batchCrashItems ?? 500),
    );
    return {
      payday_underfunded,
      duplicate_storm,
      lost_notifications,
      crash_between_writes,
      store_faults,
      notify_fuzz,
      controls_race,
      approval_storm,
      batch_crash,
      seconds,
    };
  } finally {
    await dynamo.stop();
  }
}
