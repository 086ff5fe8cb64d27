import { describe, expect, it } from 'vitest';
import { SEMANTIC_CLASSES, runSemanticFuzz } from '../fuzz/grant-semantic.js';

describe('semantic attacks on the trust core (short run of npm run fuzz:grant’s suite)', () => {
  it('finds no violation in 2,000 cases over every class, and allows every case built to be allowed', async () => {
    const report = await runSemanticFuzz({ cases: 2_000, seed: 11 });
    expect(report.firstViolation).toBeUndefined();
    expect(report.violations).toBe(0);
    expect(Object.keys(report.byClass)).toEqual([...SEMANTIC_CLASSES]);
    expect(Object.values(report.byClass).every((n) => n === 200)).toBe(true);
    expect(report.mustAllow).toBeGreaterThan(500);
    expect(report.allowed).toBe(report.mustAllow);
  }, 120_000);
});
