/**
 * Local wall-clock time in an IANA time zone, both ways, with the zone rules of ICU (Intl): the
 * one local-time code of the hub. Grants' weekly windows (hub/access) read an instant as a local
 * week minute; keypad schedules (hub/schedule) also turn a local date and time back into the
 * instant it names.
 *
 * Daylight saving transitions are handled as a person reads a schedule:
 * - a local time in a skipped hour (spring forward) names the first valid minute after the gap
 *   (Europe/Berlin 2026-03-29 02:30 is 03:00 CEST);
 * - a local time in a repeated hour (fall back) names its first occurrence (RFC 5545 §3.3.5 reads
 *   an ambiguous local time the same way).
 * Minute precision: every offset in use since 1970 is a whole number of minutes (Lord Howe's
 * 30-minute shift included).
 */
export interface WeekMinute {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  isoDay: number;
  /** Minutes after local midnight, 0..1439. */
  minute: number;
}

/** A calendar date (proleptic Gregorian): month 1–12, day 1–31. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export interface LocalDateTime extends CivilDate, WeekMinute {}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** en-US short weekday names in ISO order: index + 1 is the ISO weekday. */
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Converts between instants and local times; keeps its formatters per zone (building one is slow). */
export class LocalTimes {
  readonly #weekFormatters = new Map<string, Intl.DateTimeFormat | null>();
  readonly #dateFormatters = new Map<string, Intl.DateTimeFormat | null>();

  /** undefined when `tz` is not a time zone ICU knows. */
  weekMinute(instantMs: number, tz: string): WeekMinute | undefined {
    const f = cached(this.#weekFormatters, tz, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
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

  /** Whether ICU knows `tz` as a time zone. */
  knows(tz: string): boolean {
    return cached(this.#dateFormatters, tz, DATE_PARTS) !== null;
  }

  /** The local date, weekday and minute of an instant; undefined when the zone is unknown. */
  dateTime(instantMs: number, tz: string): LocalDateTime | undefined {
    const f = cached(this.#dateFormatters, tz, DATE_PARTS);
    if (f === null) return undefined;
    const out: LocalDateTime = { year: 0, month: 0, day: 0, isoDay: 0, minute: 0 };
    let hour = 0;
    for (const part of f.formatToParts(instantMs)) {
      switch (part.type) {
        case 'year':
          out.year = Number(part.value);
          break;
        case 'month':
          out.month = Number(part.value);
          break;
        case 'day':
          out.day = Number(part.value);
          break;
        case 'weekday':
          out.isoDay = WEEKDAYS.indexOf(part.value) + 1;
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          out.minute = Number(part.value);
          break;
      }
    }
    out.minute += hour * 60;
    return out;
  }

  /**
   * The instant at which the zone's wall clock first reads `date` at `minute` (0..1440; 1440 is
   * the next day's midnight), or, when that local time does not exist, the first valid minute
   * after the gap. undefined when the zone is unknown.
   */
  instantOf(date: CivilDate, minute: number, tz: string): number | undefined {
    if (!this.knows(tz)) return undefined;
    // The wall time written as if it were UTC; the zone's offset turns it into the instant.
    const wall = Date.UTC(date.year, date.month - 1, date.day) + minute * MINUTE_MS;
    // Zones change offset at most once within a day on either side (true of every zone since 1970).
    const offsets = new Set([this.#offset(wall - DAY_MS, tz), this.#offset(wall + DAY_MS, tz)]);
    let first: number | undefined;
    for (const offset of offsets) {
      const t = wall - offset;
      if (this.#wallOf(t, tz) === wall && (first === undefined || t < first)) first = t;
    }
    if (first !== undefined) return first;
    // In a gap: between the two candidates the wall clock jumps over `wall`; the first minute at
    // which it reads `wall` or later is the end of the gap.
    let lo = Math.min(...[...offsets].map((o) => wall - o));
    let hi = Math.max(...[...offsets].map((o) => wall - o));
    while (hi - lo > MINUTE_MS) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
      if (this.#wallOf(mid, tz) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /** The local wall time of `instantMs` written as if it were UTC (ms, minute precision). */
  #wallOf(instantMs: number, tz: string): number {
    const local = this.dateTime(instantMs, tz);
    if (local === undefined) return Number.NaN;
    return Date.UTC(local.year, local.month - 1, local.day) + local.minute * MINUTE_MS;
  }

  /** The zone's offset from UTC at an instant (ms, minute precision). */
  #offset(instantMs: number, tz: string): number {
    const t = Math.floor(instantMs / MINUTE_MS) * MINUTE_MS;
    return this.#wallOf(t, tz) - t;
  }
}

/** The date `days` after `date` (negative: before). */
export function addDays(date: CivilDate, days: number): CivilDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day) + days * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a calendar date. */
export function isoWeekday(date: CivilDate): number {
  const day = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return day === 0 ? 7 : day;
}

const DATE_PARTS: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short', hour: '2-digit', minute: '2-digit' };

function cached(cache: Map<string, Intl.DateTimeFormat | null>, tz: string, parts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat | null {
  let f = cache.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', ...parts });
    } catch {
      // RangeError: not an IANA zone. Remembered, so a flood of bad zones costs one lookup each.
      f = null;
    }
    if (cache.size < 256) cache.set(tz, f);
  }
  return f;
}
