/**
 * A simulated stretch of weekly windows (a year, for the test and the bench) on the fake clock
 * against the Kwikset on the mock stick: the clock is stepped from edge to edge, the lock's own log
 * of User Code Sets is compared with what the zone oracle says should have happened, and each
 * change's lag is measured from the moment the clock reached its edge to the lock's read-back
 * (fake time past the edge plus the real time the radio took).
 */
import type { CodeSlot, Lock } from '../../hub/lock/lock.js';
import type { ScheduleModuleSettings } from '../../hub/schedule/module.js';
import type { CodeInput } from '../../hub/schedule/service.js';
import { startScheduleRig, type ScheduleRig } from './schedule-rig.js';
import { ZoneOracle } from './zone-oracle.js';

export interface YearCode {
  name: string;
  pin: string;
  zone: string;
  weekly: { days: number[]; startMin: number; endMin: number }[];
}

export interface YearResult {
  edges: number;
  setsAndClears: number;
  missed: number;
  extra: number;
  maxEdgeLagMs: number;
  /** A few of the mismatches, for a failing test's message. */
  mismatches: string[];
  /** The five slowest edges (lag, change). */
  slowest: string[];
  reconcilePasses: number;
  wallMs: number;
}

/** How late a change may reach the lock and still be its edge's (fake time: the edge timer's resolution is exact). */
const MATCH_MS = 60_000;

export async function simulateYear(options: {
  codes: YearCode[];
  fromMs: number;
  toMs: number;
  settings?: Partial<ScheduleModuleSettings>;
  /** Runs on the rig after the year, before it closes (the bench times reconcile passes here). */
  after?: (rig: ScheduleRig) => Promise<void>;
}): Promise<YearResult> {
  const started = performance.now();
  let edgeReachedAt = 0;
  const confirmedAt = new Map<string, number>();
  let reads = 0;
  const timed = (lock: Lock): Lock => ({
    id: () => lock.id(),
    lock: () => lock.lock(),
    unlock: () => lock.unlock(),
    state: () => lock.state(),
    onEvent: (l) => lock.onEvent(l),
    setCode: async (slot, code) => {
      await lock.setCode(slot, code);
      confirmedAt.set(`set ${slot} ${rig.clock.now()}`, performance.now() - edgeReachedAt);
    },
    clearCode: async (slot) => {
      await lock.clearCode(slot);
      confirmedAt.set(`clear ${slot} ${rig.clock.now()}`, performance.now() - edgeReachedAt);
    },
    codes: async (): Promise<readonly CodeSlot[]> => {
      reads += 1;
      return lock.codes();
    },
  });
  const rig: ScheduleRig = await startScheduleRig({ wallMs: options.fromMs, lock: timed, ...(options.settings === undefined ? {} : { settings: options.settings }) });
  try {
    const svc = rig.module.service();
    const slotOf = new Map<string, number>();
    // A window open already when its code is added: its edge is the add.
    edgeReachedAt = performance.now();
    for (const c of options.codes) {
      const input: CodeInput = { name: c.name, kind: 'guest', pin: c.pin, zone: c.zone, windows: c.weekly.map((w) => ({ kind: 'weekly', ...w })) };
      slotOf.set(c.name, svc.add(input, 'bench').slot);
    }
    await rig.settle();
    const to = async (atMs: number): Promise<void> => {
      await rig.clock.advance(Math.max(0, atMs - rig.clock.now()));
      await rig.module.idle();
    };
    for (;;) {
      const next = rig.module.nextEdgeAtMs();
      if (next === undefined || next >= options.toMs) break;
      // Up to just before the edge first: simulating the quiet days in between is not lag. No
      // report comes from the lock in a year of windows, so the worker going idle is enough.
      await to(next - 1);
      edgeReachedAt = performance.now();
      await to(next);
    }
    // The end is exclusive: a window opening exactly then belongs to the next stretch.
    await rig.advanceTo(options.toMs - 1);
    await options.after?.(rig);
    return compare(rig, options, slotOf, confirmedAt, reads, performance.now() - started);
  } finally {
    await rig.close();
  }
}

function compare(rig: ScheduleRig, options: { codes: YearCode[]; fromMs: number; toMs: number }, slotOf: Map<string, number>, confirmedAt: Map<string, number>, reads: number, wallMs: number): YearResult {
  const expected: { slot: number; action: 'set' | 'clear'; atMs: number }[] = [];
  const oracles = new Map<string, ZoneOracle>();
  for (const c of options.codes) {
    const oracle = oracles.get(c.zone) ?? new ZoneOracle(c.zone, options.fromMs, options.toMs);
    oracles.set(c.zone, oracle);
    const slot = slotOf.get(c.name) ?? 0;
    for (const [s, e] of oracle.intervals(c.weekly, options.fromMs, options.toMs)) {
      // A window already open when the code is added is set then.
      expected.push({ slot, action: 'set', atMs: Math.max(s, options.fromMs) });
      if (e < options.toMs) expected.push({ slot, action: 'clear', atMs: e });
    }
  }
  const actual = rig.sim.keypad.log.filter((c) => c.slot > 0 && c.atMs >= options.fromMs);
  const used = new Set<number>();
  const mismatches: string[] = [];
  let missed = 0;
  let maxLag = 0;
  const lags: [number, string][] = [];
  for (const want of expected) {
    const i = actual.findIndex((a, j) => !used.has(j) && a.slot === want.slot && a.action === want.action && a.atMs >= want.atMs && a.atMs - want.atMs <= MATCH_MS);
    if (i < 0) {
      missed += 1;
      if (mismatches.length < 10) mismatches.push(`missed ${want.action} ${want.slot} at ${new Date(want.atMs).toISOString()}`);
      continue;
    }
    used.add(i);
    const a = actual[i] as (typeof actual)[number];
    const realMs = confirmedAt.get(`${a.action} ${a.slot} ${a.atMs}`) ?? 0;
    const lag = a.atMs - want.atMs + realMs;
    lags.push([lag, `${Math.round(lag)} ms: ${a.action} ${a.slot} at ${new Date(want.atMs).toISOString()}`]);
    maxLag = Math.max(maxLag, lag);
  }
  const extras = actual.filter((_, j) => !used.has(j));
  for (const x of extras.slice(0, Math.max(0, 10 - mismatches.length))) mismatches.push(`extra ${x.action} ${x.slot} at ${new Date(x.atMs).toISOString()}`);
  return {
    edges: expected.length,
    setsAndClears: actual.length,
    missed,
    extra: extras.length,
    maxEdgeLagMs: Math.round(maxLag),
    mismatches,
    slowest: lags.sort((x, y) => y[0] - x[0]).slice(0, 5).map(([, text]) => text),
    reconcilePasses: reads,
    wallMs: Math.round(wallMs),
  };
}
