import { describe, expect, it } from 'vitest';
import { CONTROLS_ENV, ENV } from '../../../src/config/contract';
import { parseControls } from '../../../src/config/controls';

describe('APPROVAL_MIN_BATCH_AMOUNT', () => {
  it('is a yuan amount like the other controls, in fen; unset = none', () => {
    expect(parseControls({ approvalMinBatch: '50000.5' })).toMatchObject({
      ok: true,
      controls: { approvalMinBatchFen: 5_000_050 },
    });
    expect(parseControls({})).toMatchObject({ ok: true, controls: { approvalTtlMs: 259_200_000 } });
    const bad = parseControls({ approvalMinBatch: '12.345' }, (f) => CONTROLS_ENV[f]);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]?.field).toBe('approvalMinBatch');
  });

  it('is named by its variable', () => {
    expect(CONTROLS_ENV.approvalMinBatch).toBe('APPROVAL_MIN_BATCH_AMOUNT');
    expect(ENV.approvalMinBatchAmount).toBe('APPROVAL_MIN_BATCH_AMOUNT');
  });
});
