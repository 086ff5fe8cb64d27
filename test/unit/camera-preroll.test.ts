import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../hub/camera/frame.js';
import { PreRollRing } from '../../hub/camera/preroll.js';

const frame = (time: number, key: boolean, bytes = 1000): Frame => ({
  au: { nalus: [], data: new Uint8Array(), rtpTime: time * 90_000, key, sps: new Uint8Array(), pps: new Uint8Array(), bytes },
  time,
  receivedAt: time * 1000,
});

/** A 30 fps stream with a keyframe every `gop` pictures. */
function stream(seconds: number, gop = 30, bytes = 1000): Frame[] {
  return Array.from({ length: seconds * 30 }, (_, i) => frame(i / 30, i % gop === 0, bytes));
}

describe('the pre-roll ring', () => {
  it('starts at a keyframe and covers at least preRollS, dropping whole GOPs', () => {
    const ring = new PreRollRing({ seconds: 10, maxBytes: 1e9 });
    for (const f of stream(30)) ring.push(f);
    const kept = ring.snapshot();
    expect(kept[0]?.au.key).toBe(true);
    expect(ring.seconds).toBeGreaterThanOrEqual(10);
    expect(ring.seconds).toBeLessThan(11); // one GOP more than needed at most
  });

  it('keeps nothing before the first keyframe', () => {
    const ring = new PreRollRing({ seconds: 10, maxBytes: 1e9 });
    ring.push(frame(0, false));
    ring.push(frame(0.03, false));
    expect(ring.snapshot()).toEqual([]);
    ring.push(frame(0.06, true));
    expect(ring.snapshot()).toHaveLength(1);
  });

  it('is bounded by bytes when the bitrate is far above what the window was sized for', () => {
    const ring = new PreRollRing({ seconds: 10, maxBytes: 100_000 });
    for (const f of stream(30, 30, 2000)) ring.push(f);
    expect(ring.bytes).toBeLessThanOrEqual(100_000);
    expect(ring.snapshot()[0]?.au.key).toBe(true);
  });

  it('property: whatever the GOP, sizes and window, bytes stay bounded and a non-empty ring starts at a keyframe', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 10_000, max: 500_000 }), fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 600 }), (gop, seconds, maxBytes, sizes) => {
        const ring = new PreRollRing({ seconds, maxBytes });
        sizes.forEach((bytes, i) => {
          ring.push(frame(i / 30, i % gop === 0, bytes));
          expect(ring.bytes).toBeLessThanOrEqual(maxBytes);
          const kept = ring.snapshot();
          if (kept.length > 0) expect(kept[0]?.au.key).toBe(true);
          expect(kept.reduce((s, f) => s + f.au.bytes, 0)).toBe(ring.bytes);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('latestGop starts at the newest keyframe', () => {
    const ring = new PreRollRing({ seconds: 10, maxBytes: 1e9 });
    for (const f of stream(5)) ring.push(f);
    const gop = ring.latestGop();
    expect(gop[0]?.au.key).toBe(true);
    expect(gop[0]?.time).toBeCloseTo(4);
    expect(gop).toHaveLength(30);
  });

  it('after a break keeps nothing until the next keyframe, and never leaves empty GOPs behind', () => {
    const ring = new PreRollRing({ seconds: 10, maxBytes: 1e9 });
    for (const f of stream(2)) ring.push(f);
    ring.breakGop();
    ring.breakGop();
    ring.push(frame(2.5, false));
    expect(ring.snapshot().at(-1)?.time).toBeCloseTo(59 / 30);
    ring.push(frame(3, true));
    ring.push(frame(3.03, false));
    expect(ring.gopCount).toBe(3);
    expect(ring.latestGop().map((f) => f.time)).toEqual([3, 3.03]);
  });
});
