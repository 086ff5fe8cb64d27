import { describe, expect, it } from 'vitest';
import { fuzzBle } from '../fuzz/ble-fuzz.js';

describe('BLE protocol fuzzing (short run; `npm run fuzz:ble` for the long one)', () => {
  it('survives random and mutated frames without a crash, with bounded buffers', () => {
    const report = fuzzBle(20_000, 0xb1e);
    expect(report.firstCrash).toBeUndefined();
    expect(report.crashes).toBe(0);
    expect(report.maxReassemblyBytes).toBeLessThanOrEqual(1030);
    // The lock answered (refusals included): the inputs reached it, not just the first check.
    expect(report.lockRepliesSent).toBeGreaterThan(10_000);
  });
});
