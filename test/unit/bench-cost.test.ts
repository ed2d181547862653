import { describe, expect, it } from 'vitest';
import { billedMs, type CostInputs, costPerMillion, PRICES } from '../../bench/cost';

const base: CostInputs = {
  payoutsPerMonth: 1_000_000,
  apiRequestsPerPayout: 2,
  functions: {},
  wruPerPayout: 0,
  rruPerPayout: 0,
  kmsRequestsPerPayout: 0,
  eventsPerPayout: 0,
  platformLogBytesPerInvocation: 0,
  tracesPerPayout: 0,
  fixedMonthlyLambdaGbSeconds: 0,
  fixedMonthlyLambdaRequests: 0,
};

describe('cost model', () => {
  it('prices REST requests, capacity units and events per million payouts', () => {
    const result = costPerMillion({ ...base, wruPerPayout: 5, rruPerPayout: 1, eventsPerPayout: 1 });
    // 2 × $3.50 + 5 × $0.625 + 1 × $0.125 + 1 × $1.00
    expect(result.usdPerMillion).toBeCloseTo(7 + 3.125 + 0.125 + 1, 9);
  });

  it('bills Lambda per started millisecond, plus the request', () => {
    expect(billedMs(0.2)).toBe(1);
    expect(billedMs(30.01)).toBe(31);
    const result = costPerMillion({
      ...base,
      apiRequestsPerPayout: 0,
      functions: { apply: { invocations: 1, durationMs: 99.5, memoryMb: 512, logBytes: 0 } },
    });
    // 1M × ($0.20/1M + 0.5 GB × 0.1 s × $0.0000133334)
    expect(result.usdPerMillion).toBeCloseTo(0.2 + 0.5 * 0.1 * 13.3334, 6);
  });

  it('does not charge requests or round a share of a longer run', () => {
    const result = costPerMillion({
      ...base,
      apiRequestsPerPayout: 0,
      functions: {
        share: { invocations: 0.05, durationMs: 100, memoryMb: 1024, logBytes: 0, separateInvocation: false },
      },
    });
    expect(result.usdPerMillion).toBeCloseTo(0.05 * 0.1 * 13.3334, 6);
  });

  it('spreads fixed monthly costs over the volume', () => {
    const small = costPerMillion({
      ...base,
      apiRequestsPerPayout: 0,
      fixedMonthlyLambdaRequests: 1_000_000,
      payoutsPerMonth: 1_000,
    });
    expect(small.usdPerMillion).toBeCloseTo(1_000 * 0.2, 6);
  });

  it('keeps logs and X-Ray beside the issue total', () => {
    const result = costPerMillion({
      ...base,
      apiRequestsPerPayout: 0,
      functions: { f: { invocations: 1, durationMs: 1, memoryMb: 128, logBytes: 1024 ** 3 / 1e6 - 100 } },
      platformLogBytesPerInvocation: 100,
      tracesPerPayout: 2,
    });
    // 1 GB of logs per million payouts at $0.50/GB; 2 traces at $5/M.
    expect(result.usdPerMillionWithLogs - result.usdPerMillion).toBeCloseTo(0.5, 6);
    expect(result.usdPerMillionWithLogsAndXray - result.usdPerMillionWithLogs).toBeCloseTo(10, 6);
    expect(result.lines.filter((l) => !l.inTarget).map((l) => l.item.split(' ')[0])).toEqual([
      'CloudWatch',
      'X-Ray',
    ]);
  });

  it('lists a source for every price', () => {
    for (const price of Object.values(PRICES)) {
      expect(price.source).toMatch(/aws\.amazon\.com/);
      expect(price.usd).toBeGreaterThan(0);
    }
  });
});
