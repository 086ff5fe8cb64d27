/**
 * Weekly windows of recurring guests and service visits are local wall-clock times in the grant's
 * IANA time zone ("Tuesdays 08:00–10:00 in Europe/Berlin"). The instant is converted to local time
 * with the zone rules of ICU (Intl), so daylight saving transitions are handled as a person reads
 * the schedule: on spring-forward days the skipped hour never occurs locally; on fall-back days the
 * repeated hour occurs twice, and both are inside a window that covers it.
 */
export interface WeekMinute {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  isoDay: number;
  /** Minutes after local midnight, 0..1439. */
  minute: number;
}

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

/** en-US short weekday names in ISO order: index + 1 is the ISO weekday. */
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Converts instants to local week minutes; keeps one formatter per zone (building one is slow). */
export class LocalTimes {
  readonly #formatters = new Map<string, Intl.DateTimeFormat | null>();

  /** undefined when `tz` is not a time zone ICU knows. */
  weekMinute(instantMs: number, tz: string): WeekMinute | undefined {
    const f = this.#formatter(tz);
    if (f === null) return undefined;
    let isoDay = 0;
    let hour = 0;
    let minute = 0;
    for (const part of f.formatToParts(instantMs)) {
      if (part.type === 'weekday') isoDay = WEEKDAYS.indexOf(part.value) + 1;
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    return { isoDay, minute: hour * 60 + minute };
  }

  #formatter(tz: string): Intl.DateTimeFormat | null {
    let f = this.#formatters.get(tz);
    if (f === undefined) {
      try {
        f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      } catch {
        // RangeError: not an IANA zone. Remembered, so a flood of bad zones costs one lookup each.
        f = null;
      }
      if (this.#formatters.size < 256) this.#formatters.set(tz, f);
    }
    return f;
  }
}
