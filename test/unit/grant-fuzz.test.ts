import { decode as looseDecode } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { nonCanonical, runGrantFuzz } from '../fuzz/grant-fuzz.js';

describe('mutation fuzzing of grants, presentations and trust documents (short run)', () => {
  it('accepts none of 10,000 mutants, crashes on none, and still accepts every unmodified original', () => {
    const report = runGrantFuzz({ cases: 10_000, seed: 5 });
    expect(report.tried).toBe(10_000);
    expect(report.firstCrash).toBeUndefined();
    expect(report.firstAccepted).toBeUndefined();
    expect(report).toMatchObject({ accepted: 0, crashed: 0, originalsAccepted: report.originals });
    expect(Object.values(report.byMutation).every((n) => n > 1000)).toBe(true);
  });

  it('makes real canonical-form breaks: a lenient decoder reads the same value, the strict one refuses', () => {
    const value: CborValue = new Map<number, CborValue>([[0, 1], [1, 'kid'], [2, new Uint8Array(16)], [3, [1, 2, 300]], [4, 70_000]]);
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    let readable = 0;
    for (let i = 0; i < 200; i++) {
      const bytes = nonCanonical(value, rand);
      expect(() => decodeCanonical(bytes, { maxBytes: 1024 })).toThrow(CborError);
      // Same meaning, other form: a lenient decoder reads it (cborg cannot read chunked byte strings).
      try {
        const loose = looseDecode(bytes, { useMaps: true }) as Map<number, CborValue>;
        expect(loose.get(1)).toBe('kid');
        readable++;
      } catch (err) {
        expect(String(err)).toMatch(/indefinite length bytes/);
      }
    }
    expect(readable).toBeGreaterThan(150);
    expect(Buffer.from(encodeCanonical(value))).not.toEqual(Buffer.from(nonCanonical(value, rand)));
  });

  it('never throws anything but CborError from the decoder on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeCanonical(bytes, { maxBytes: 256 });
        } catch (err) {
          expect(err).toBeInstanceOf(CborError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
