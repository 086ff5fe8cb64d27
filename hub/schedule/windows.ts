/**
 * When a code's windows are open, as instants: each window's local start and end turned into the
 * instants they name in the code's zone (hub/system/local-time.ts), then merged, cut at the expiry.
 *
 * Zone rules, as a person reads a schedule (and the hub's grants read their weekly windows):
 * - a Monday 09:00–12:00 window is 09:00–12:00 local on both sides of a DST change;
 * - a window starting in a skipped hour starts at the first valid minute after the gap (and one
 *   lying wholly inside the gap never opens);
 * - a window in a repeated hour is open once, from the first time the wall clock reads its start
 *   to the first time after that it reads its end (RFC 5545 §3.3.5 reads an ambiguous local time as
 *   its first occurrence); the hour's second pass does not open it again.
 * Windows that touch or overlap are one interval: the slot is not cleared and set again between.
 */
import { addDays, isoWeekday, type CivilDate, type LocalTimes } from '../system/local-time.js';
import type { CodeWindow, LocalStamp } from './model.js';

export interface Interval {
  startMs: number;
  endMs: number;
}

/** What evaluation needs of a code. */
export interface WindowPlan {
  zone: string;
  windows: readonly CodeWindow[];
  expiresAtMs: number | undefined;
  paused: boolean;
}

const DAY_MS = 86_400_000;
/** Weekly instances are enumerated this far beyond a range on each side: an instance lasts < 2 days. */
const MARGIN_MS = 3 * DAY_MS;
/** How far ahead `nextEdge` looks: every weekly window recurs within it. */
export const EDGE_HORIZON_MS = 8 * DAY_MS;

/**
 * The open intervals of `plan` that overlap [fromMs, toMs), merged, in order. An interval that runs
 * on past the enumerated range is cut at its end (edges are only meaningful inside the range).
 * Unknown zone: no intervals (a code whose zone ICU no longer knows never opens; fail secure).
 */
export function openIntervals(times: LocalTimes, plan: WindowPlan, fromMs: number, toMs: number): Interval[] {
  if (plan.paused || !times.knows(plan.zone)) return [];
  const lo = fromMs - MARGIN_MS;
  const hi = toMs + MARGIN_MS;
  const raw: Interval[] = [];
  for (const w of plan.windows) {
    if (w.kind === 'once') {
      const s = instant(times, w.start, plan.zone);
      const e = instant(times, w.end, plan.zone);
      if (s !== undefined && e !== undefined && e > s && e > lo && s < hi) raw.push({ startMs: s, endMs: e });
      continue;
    }
    const first = times.dateTime(lo, plan.zone);
    const last = times.dateTime(hi, plan.zone);
    if (first === undefined || last === undefined) continue;
    for (let date: CivilDate = first; dayNumber(date) <= dayNumber(last); date = addDays(date, 1)) {
      if (!w.days.includes(isoWeekday(date))) continue;
      const s = times.instantOf(date, w.startMin, plan.zone);
      const endDate = w.endMin > w.startMin ? date : addDays(date, 1);
      const e = times.instantOf(endDate, w.endMin, plan.zone);
      if (s !== undefined && e !== undefined && e > s) raw.push({ startMs: s, endMs: e });
    }
  }
  const merged = merge(raw);
  const out: Interval[] = [];
  for (const i of merged) {
    const endMs = plan.expiresAtMs === undefined ? i.endMs : Math.min(i.endMs, plan.expiresAtMs);
    if (endMs <= i.startMs || endMs <= fromMs || i.startMs >= toMs) continue;
    out.push({ startMs: i.startMs, endMs });
  }
  return out;
}

/** Whether the code's slot should hold its PIN at `atMs`. */
export function isOpen(times: LocalTimes, plan: WindowPlan, atMs: number): boolean {
  return openIntervals(times, plan, atMs, atMs + 1).some((i) => i.startMs <= atMs && atMs < i.endMs);
}

/**
 * The first instant after `afterMs` at which the code opens or closes, looking at most
 * EDGE_HORIZON_MS ahead (undefined: nothing changes within it; ask again later).
 */
export function nextEdge(times: LocalTimes, plan: WindowPlan, afterMs: number): number | undefined {
  const toMs = afterMs + EDGE_HORIZON_MS;
  for (const i of openIntervals(times, plan, afterMs, toMs)) {
    // A start is always real; an end beyond the horizon may only be where enumeration stopped.
    if (i.startMs > afterMs) return i.startMs;
    if (i.endMs > afterMs) return i.endMs <= toMs ? i.endMs : undefined;
  }
  return nextOnceStart(times, plan, afterMs);
}

/** Whether any window can still open after `afterMs` (else the code is done for good). */
export function opensAgain(times: LocalTimes, plan: WindowPlan, afterMs: number): boolean {
  if (!times.knows(plan.zone)) return false;
  if (plan.expiresAtMs !== undefined && plan.expiresAtMs <= afterMs) return false;
  if (plan.windows.some((w) => w.kind === 'weekly')) return true;
  return plan.windows.some((w) => w.kind === 'once' && (instant(times, w.end, plan.zone) ?? 0) > afterMs);
}

/** A one-off window further ahead than the horizon: its start is the next edge. */
function nextOnceStart(times: LocalTimes, plan: WindowPlan, afterMs: number): number | undefined {
  if (plan.paused) return undefined;
  let best: number | undefined;
  for (const w of plan.windows) {
    if (w.kind !== 'once') continue;
    const s = instant(times, w.start, plan.zone);
    if (s === undefined || s <= afterMs) continue;
    if (plan.expiresAtMs !== undefined && s >= plan.expiresAtMs) continue;
    if (best === undefined || s < best) best = s;
  }
  return best;
}

function instant(times: LocalTimes, s: LocalStamp, zone: string): number | undefined {
  return times.instantOf(s, s.minute, zone);
}

function dayNumber(d: CivilDate): number {
  return Math.floor(Date.UTC(d.year, d.month - 1, d.day) / DAY_MS);
}

function merge(intervals: Interval[]): Interval[] {
  intervals.sort((a, b) => a.startMs - b.startMs);
  const out: Interval[] = [];
  for (const i of intervals) {
    const last = out.at(-1);
    if (last !== undefined && i.startMs <= last.endMs) last.endMs = Math.max(last.endMs, i.endMs);
    else out.push({ ...i });
  }
  return out;
}
