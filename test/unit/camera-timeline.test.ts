import { describe, expect, it } from 'vitest';
import { MediaTimeline } from '../../hub/camera/timeline.js';

const RATE = 90_000;
const FRAME = 3000; // 1/30 s at 90 kHz

/** Places `n` pictures 1/30 s apart in RTP and arrival, from `rtp0` at `arrival0` ms. */
function run(t: MediaTimeline, n: number, rtp0: number, arrival0: number): number[] {
  return Array.from({ length: n }, (_, i) => t.place(rtp0 + i * FRAME, RATE, arrival0 + (i * 1000) / 30).time);
}

const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] as number));

describe('the media timeline (RTP time to clip seconds)', () => {
  it('follows RTP time while it behaves', () => {
    const t = new MediaTimeline();
    const times = run(t, 90, 1_000_000, 5_000);
    for (const g of gaps(times)) expect(g).toBeCloseTo(1 / 30, 9);
  });

  it('re-bases at a timestamp that steps back (a source restarting its loop): the pictures after it stay one frame apart, not 1 ms', () => {
    const t = new MediaTimeline();
    const before = run(t, 60, 9_000_000, 0);
    const back = t.place(9_000_000 - 10 * RATE, RATE, 2_000);
    expect(back.discontinuity).toBe('back');
    expect(back.stoodStill).toBe(false);
    const after = [back.time, ...run(t, 60, 9_000_000 - 10 * RATE + FRAME, 2_000 + 1000 / 30).slice(0)];
    const all = [...before, ...after];
    for (const g of gaps(all)) {
      expect(g).toBeGreaterThan(0.02);
      expect(g).toBeLessThan(0.05);
    }
    expect(t.discontinuities).toBe(1);
  });

  it('re-bases at a leap ahead of the arrival clock (an encoder reset with a new random base), not at a gap the clock also saw', () => {
    const t = new MediaTimeline();
    const before = run(t, 30, 0, 0);
    // Pictures lost for 4 s: RTP and arrival agree, the clip keeps the gap.
    const afterGap = t.place(29 * FRAME + 4 * RATE, RATE, 29_000 / 30 + 4_000);
    expect(afterGap.discontinuity).toBeUndefined();
    expect(afterGap.time - (before.at(-1) as number)).toBeCloseTo(4, 6);
    // RTP an hour ahead, 33 ms later by the clock: one frame on.
    const leap = t.place(29 * FRAME + 4 * RATE + 3600 * RATE, RATE, 29_000 / 30 + 4_000 + 33);
    expect(leap.discontinuity).toBe('forward');
    expect(leap.time - afterGap.time).toBeGreaterThan(0.02);
    expect(leap.time - afterGap.time).toBeLessThan(0.05);
  });

  it('a timestamp that stands still is no new picture, and the clip still moves one frame per picture', () => {
    const t = new MediaTimeline();
    const before = run(t, 10, 0, 0);
    const stuck = Array.from({ length: 20 }, (_, i) => t.place(9 * FRAME, RATE, 300 + (i * 1000) / 30));
    expect(stuck.every((p) => p.stoodStill && p.discontinuity === undefined)).toBe(true);
    const resumed = t.place(10 * FRAME, RATE, 300 + 20_000 / 30);
    expect(resumed.stoodStill).toBe(false);
    for (const g of gaps([...before, ...stuck.map((p) => p.time), resumed.time])) expect(g).toBeCloseTo(1 / 30, 6);
    expect(t.discontinuities).toBe(0);
  });

  it('anchors a new session on the arrival clock, after everything already placed, whatever its RTP base', () => {
    const t = new MediaTimeline();
    const first = run(t, 30, 123_456, 1_000);
    t.newSession();
    const next = t.place(7, RATE, 1_000 + 5_000);
    expect(next.anchored).toBe(true);
    expect(next.time).toBeCloseTo(5, 6);
    t.newSession();
    // A reconnect faster than the last picture's time (arrival stamps batched): still later.
    const soon = t.place(99, RATE, 1_000 + 5_000);
    expect(soon.time).toBeGreaterThan(next.time);
    expect(first.at(-1)).toBeLessThan(next.time);
  });
});
