import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LockEventFanout } from '../../hub/lock/lock-events.js';
import { LockStateTracker } from '../../hub/lock/lock-state.js';
import type { LockEvent } from '../../hub/lock/lock.js';
import { FakeClock } from '../../hub/system/fake-clock.js';

describe('LockStateTracker', () => {
  it('reads unknown everywhere before the lock ever reported', () => {
    const state = new LockStateTracker({ clock: new FakeClock(), maxAgeMs: 60_000 }).snapshot();
    expect(state).toEqual({ bolt: 'unknown', door: 'unknown', batteryPercent: undefined, updatedAtMs: undefined, connected: false });
  });

  it('reports what the lock said while it is fresh, with the wall time of the report', async () => {
    const clock = new FakeClock();
    const tracker = new LockStateTracker({ clock, maxAgeMs: 60_000 });
    tracker.setConnected(true);
    tracker.update({ bolt: 'locked', door: 'closed', batteryPercent: 87 });
    const at = clock.now();
    await clock.advance(60_000);
    expect(tracker.snapshot()).toEqual({ bolt: 'locked', door: 'closed', batteryPercent: 87, updatedAtMs: at, connected: true });
  });

  it('never reads a stale locked: past the max age the bolt and door are unknown', async () => {
    const clock = new FakeClock();
    const tracker = new LockStateTracker({ clock, maxAgeMs: 60_000 });
    tracker.update({ bolt: 'locked', door: 'closed' });
    await clock.advance(60_001);
    expect(tracker.snapshot().bolt).toBe('unknown');
    expect(tracker.snapshot().door).toBe('unknown');
  });

  it('ages each field on its own: a door report does not refresh the bolt', async () => {
    const clock = new FakeClock();
    const tracker = new LockStateTracker({ clock, maxAgeMs: 1000 });
    tracker.update({ bolt: 'unlocked' });
    await clock.advance(800);
    tracker.update({ door: 'open' });
    await clock.advance(800);
    expect(tracker.snapshot()).toMatchObject({ bolt: 'unknown', door: 'open' });
  });

  it('is not refreshed by a wall-clock jump forward or back', () => {
    const clock = new FakeClock();
    const tracker = new LockStateTracker({ clock, maxAgeMs: 1000 });
    tracker.update({ bolt: 'locked' });
    clock.setWall(clock.now() - 3600_000);
    expect(tracker.snapshot().bolt).toBe('locked');
    clock.setWall(clock.now() + 7200_000);
    expect(tracker.snapshot().bolt).toBe('locked');
  });

  it('keeps the battery for its own, longer max age', async () => {
    const clock = new FakeClock();
    const tracker = new LockStateTracker({ clock, maxAgeMs: 1000, batteryMaxAgeMs: 10_000 });
    tracker.update({ batteryPercent: 40 });
    await clock.advance(5000);
    expect(tracker.snapshot().batteryPercent).toBe(40);
    await clock.advance(5001);
    expect(tracker.snapshot().batteryPercent).toBeUndefined();
  });

  it('forgets bolt and door the moment the connection is lost', () => {
    const tracker = new LockStateTracker({ clock: new FakeClock(), maxAgeMs: 60_000 });
    tracker.setConnected(true);
    tracker.update({ bolt: 'locked', door: 'closed' });
    tracker.setConnected(false);
    expect(tracker.snapshot()).toMatchObject({ bolt: 'unknown', door: 'unknown', connected: false });
  });

  it('forgets the bolt on request (a command whose outcome is unknown)', () => {
    const tracker = new LockStateTracker({ clock: new FakeClock(), maxAgeMs: 60_000 });
    tracker.update({ bolt: 'unlocked', door: 'closed' });
    tracker.forgetBolt();
    expect(tracker.snapshot()).toMatchObject({ bolt: 'unknown', door: 'closed' });
  });

  it('refuses a max age that is not positive', () => {
    expect(() => new LockStateTracker({ clock: new FakeClock(), maxAgeMs: 0 })).toThrow(RangeError);
  });

  it('property: battery always reads within 0–100', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (pct) => {
        const tracker = new LockStateTracker({ clock: new FakeClock(), maxAgeMs: 1 });
        tracker.update({ batteryPercent: pct });
        const got = tracker.snapshot().batteryPercent as number;
        expect(got).toBeGreaterThanOrEqual(0);
        expect(got).toBeLessThanOrEqual(100);
      }),
    );
  });

  it('property: bolt reads the last report exactly while age ≤ max age, and unknown after', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 200_000 }), async (maxAgeMs, wait) => {
        const clock = new FakeClock();
        const tracker = new LockStateTracker({ clock, maxAgeMs });
        tracker.update({ bolt: 'locked' });
        await clock.advance(wait);
        expect(tracker.snapshot().bolt).toBe(wait <= maxAgeMs ? 'locked' : 'unknown');
      }),
    );
  });
});

describe('LockEventFanout', () => {
  const event: LockEvent = { kind: 'jammed', atMs: 1 };

  it('delivers every event to every subscriber until it unsubscribes', () => {
    const fanout = new LockEventFanout(() => {});
    const a: LockEvent[] = [];
    const b: LockEvent[] = [];
    const offA = fanout.subscribe((e) => a.push(e));
    fanout.subscribe((e) => b.push(e));
    fanout.emit(event);
    offA();
    fanout.emit({ kind: 'tamper', atMs: 2 });
    expect(a).toEqual([event]);
    expect(b).toHaveLength(2);
  });

  it('a throwing listener neither stops the others nor the caller; its error is reported', () => {
    const errors: unknown[] = [];
    const fanout = new LockEventFanout((err) => errors.push(err));
    const got: LockEvent[] = [];
    fanout.subscribe(() => {
      throw new Error('bad listener');
    });
    fanout.subscribe((e) => got.push(e));
    expect(() => fanout.emit(event)).not.toThrow();
    expect(got).toEqual([event]);
    expect(errors).toHaveLength(1);
  });

  it('the same function subscribed twice is two subscriptions', () => {
    const fanout = new LockEventFanout(() => {});
    let n = 0;
    const listener = (): void => void n++;
    const off = fanout.subscribe(listener);
    fanout.subscribe(listener);
    off();
    fanout.emit(event);
    expect(n).toBe(1);
    expect(fanout.listenerCount).toBe(1);
  });
});
