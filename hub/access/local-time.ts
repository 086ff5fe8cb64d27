/**
 * Weekly windows of recurring guests and service visits are local wall-clock times in the grant's
 * IANA time zone ("Tuesdays 08:00–10:00 in Europe/Berlin"). The instant is converted to local time
 * with the hub's one local-time code (hub/system/local-time.ts, ICU's zone rules), so daylight
 * saving transitions are handled as a person reads the schedule: on spring-forward days the
 * skipped hour never occurs locally; on fall-back days the repeated hour occurs twice, and both are
 * inside a window that covers it (a grant is checked at the moment it is presented, so both passes
 * of the wall clock count).
 */
import type { LocalTimes } from '../system/local-time.js';

export { LocalTimes, type WeekMinute } from '../system/local-time.js';

/**
 * Inside one of the weekly windows at `instantMs` in zone `tz`? undefined when the zone is unknown.
 * Windows are half-open [start, end) in local minutes of the given ISO weekday.
 */
export function withinWeekly(
  localTimes: LocalTimes,
  instantMs: number,
  recurring: { readonly weekly: readonly { day: number; startMin: number; endMin: number }[]; readonly tz: string },
): boolean | undefined {
  const local = localTimes.weekMinute(instantMs, recurring.tz);
  if (local === undefined) return undefined;
  return recurring.weekly.some((w) => w.day === local.isoDay && local.minute >= w.startMin && local.minute < w.endMin);
}
