import { describe, expect, it } from 'vitest';
import { sleep, systemClock } from '../../hub/system/clock.js';
import { FakeClock } from '../../hub/system/fake-clock.js';

describe('fake clock', () => {
  it('fires timers in due order as time advances, and not before', async () => {
    const clock = new FakeClock({ monotonicMs: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@200'), 200);
    clock.setTimeout(() => fired.push('a@100'), 100);
    clock.setTimeout(() => fired.push('c@200'), 200);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(101);
    expect(fired).toEqual(['a@100', 'b@200', 'c@200']);
  });

  it('runs an interval once per period and stops when cancelled', async () => {
    const clock = new FakeClock();
    let n = 0;
    const t = clock.setInterval(() => n++, 1_000);
    await clock.advance(3_500);
    expect(n).toBe(3);
    t.cancel();
    await clock.advance(10_000);
    expect(n).toBe(3);
  });

  it('moves wall and monotonic time together, and the wall clock alone on setWall', async () => {
    const clock = new FakeClock({ wallMs: 1_000_000, monotonicMs: 5 });
    await clock.advance(250);
    expect([clock.now(), clock.monotonic()]).toEqual([1_000_250, 255]);
    let fired = false;
    clock.setTimeout(() => (fired = true), 10);
    clock.setWall(0);
    expect([clock.now(), clock.monotonic(), fired]).toEqual([0, 255, false]);
  });

  it('shows each timer the time it was due', async () => {
    const clock = new FakeClock({ monotonicMs: 0 });
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.monotonic()), 30);
    clock.setTimeout(() => seen.push(clock.monotonic()), 70);
    await clock.advance(100);
    expect(seen).toEqual([30, 70]);
    expect(clock.monotonic()).toBe(100);
  });

  it('runs promise chains a timer starts before the next timer fires', async () => {
    const clock = new FakeClock({ monotonicMs: 0 });
    const order: string[] = [];
    clock.setTimeout(() => void Promise.resolve().then(() => order.push('then@10')), 10);
    clock.setTimeout(() => order.push('timer@20'), 20);
    await clock.advance(20);
    expect(order).toEqual(['then@10', 'timer@20']);
  });

  it('refuses to go backwards or to run a zero-period interval', async () => {
    const clock = new FakeClock();
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    expect(() => clock.setInterval(() => {}, 0)).toThrow(RangeError);
  });

  it('sleeps on the given clock, and rejects when aborted', async () => {
    const clock = new FakeClock();
    let woke = false;
    const nap = sleep(clock, 1_000).then(() => (woke = true));
    await clock.advance(999);
    expect(woke).toBe(false);
    await clock.advance(1);
    await nap;
    expect(woke).toBe(true);

    const ctl = new AbortController();
    const interrupted = sleep(clock, 1_000, ctl.signal);
    ctl.abort(new Error('stop'));
    await expect(interrupted).rejects.toThrow('stop');
    expect(clock.pending()).toBe(0);
    await expect(sleep(clock, 5, ctl.signal)).rejects.toThrow('stop');
  });
});

describe('system clock', () => {
  it('has a monotonic clock that never goes back and a wall clock near Date.now', async () => {
    const clock = systemClock();
    const a = clock.monotonic();
    await sleep(clock, 5);
    expect(clock.monotonic()).toBeGreaterThanOrEqual(a);
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
    let ticks = 0;
    const t = clock.setInterval(() => ticks++, 1);
    await sleep(clock, 20);
    t.cancel();
    expect(ticks).toBeGreaterThan(0);
  });
});
