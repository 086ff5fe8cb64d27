/**
 * HubClock, the hub's three readings of time (own, decision, ceiling), to the millisecond: the rule
 * of README "Security model: the clock floor" in its smallest pieces.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HubClock } from '../../hub/access/hub-clock.js';
import { clockFloor, type ClockFloor } from '../../hub/store/clock-floor.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { NOW } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';

const SKEW = 300_000;
let store: Store;
let floor: ClockFloor;
beforeEach(async () => {
  store = await openStore({ path: ':memory:', busyTimeoutMs: 1000, log: silentLog() });
  floor = clockFloor(store);
});
afterEach(() => store.close());

const hubAt = (wallMs: number, floorMs: number) => {
  if (floorMs > 0) floor.raise(floorMs, 'shutdown');
  const clock = new FakeClock({ wallMs, monotonicMs: 5_000 });
  return { clock, hub: new HubClock({ clock, floor, skewMs: SKEW }) };
};

describe('HubClock: own time at start', () => {
  it('starts from a wall clock exactly the skew behind the floor, and from the floor when one ms further behind', () => {
    expect(hubAt(NOW - SKEW, NOW).hub.ownMs()).toBe(NOW - SKEW);
    floor.reanchor(0);
    expect(hubAt(NOW - SKEW - 1, NOW).hub.ownMs()).toBe(NOW);
  });

  it('starts from a wall clock inside the skew as it reads, not from the floor', () => {
    const { hub } = hubAt(NOW - 1, NOW);
    expect([hub.ownMs(), hub.ceilingMs(), hub.now(), hub.trusted()]).toEqual([NOW - 1, NOW - 1 + SKEW, NOW - 1, true]);
  });

  it('counts on with the monotonic clock and not with wall steps', async () => {
    const { clock, hub } = hubAt(NOW, 0);
    await clock.advance(1234);
    clock.setWall(NOW + 365 * 86_400_000);
    expect([hub.ownMs(), hub.now()]).toEqual([NOW + 1234, NOW + 365 * 86_400_000]);
  });
});

describe('HubClock: the decision clock', () => {
  it('runs on the wall clock down to floor − skew exactly, and on the latest signed time below that', async () => {
    const { clock, hub } = hubAt(NOW - SKEW, NOW);
    expect([hub.now(), hub.trusted()]).toEqual([NOW - SKEW, true]);
    clock.setWall(NOW - SKEW - 1);
    expect([hub.now(), hub.trusted()]).toEqual([NOW - SKEW - 1, false]);
    clock.setWall(0); // the RTC lost power
    hub.issuerTime(NOW + 10_000);
    await clock.advance(2_500);
    expect([hub.now(), hub.trusted()]).toEqual([NOW + 12_500, true]);
  });

  it('takes a root time as own time and decision time, counting on from the instant it came', async () => {
    const { clock, hub } = hubAt(0, NOW);
    await clock.advance(700);
    hub.rootTime(NOW - 50);
    await clock.advance(300);
    expect([hub.ownMs(), hub.now(), hub.ceilingMs()]).toEqual([NOW + 250, NOW + 250, NOW + 250 + SKEW]);
  });
});

describe('HubClock: raises', () => {
  it('caps every raise at own time + skew and keeps the floor where it was when it is higher', () => {
    const { hub } = hubAt(NOW, 0);
    expect(hub.raise(NOW + SKEW + 1, 'grant')).toBe(NOW + SKEW);
    expect(floor.source()).toBe('grant');
    expect(hub.raise(NOW - 1, 'signed-time')).toBe(NOW + SKEW);
    hub.issuerTime(NOW + 86_400_000);
    expect([floor.floorMs(), floor.source()]).toEqual([NOW + SKEW, 'grant']);
  });

  it('persists at a stop the smaller of the decision clock and own time', async () => {
    const { clock, hub } = hubAt(NOW, 0);
    await clock.advance(1_000);
    clock.setWall(NOW + 86_400_000);
    hub.stop();
    expect([floor.floorMs(), floor.source()]).toEqual([NOW + 1_000, 'shutdown']);
    clock.setWall(NOW + 500);
    hub.stop();
    expect(floor.floorMs()).toBe(NOW + 1_000);
  });
});
