/**
 * An independent reckoning of when weekly windows open and close, for checking the schedule over a
 * simulated year: the zone's UTC offset is read through Intl's `longOffset` time zone names (not the
 * hub's date-part formatting), sampled every 15 minutes, its changes found by bisection; each local
 * start and end is then solved against that offset table by the rules the schedule promises (a
 * skipped local time is the end of the gap; a repeated one its first occurrence).
 */
const MIN = 60_000;
const DAY = 86_400_000;

export interface OracleWindow {
  days: readonly number[];
  startMin: number;
  endMin: number;
}

export class ZoneOracle {
  readonly #zone: string;
  readonly #format: Intl.DateTimeFormat;
  /** [instant from which, offset ms], in order. */
  readonly #table: [number, number][] = [];

  constructor(zone: string, fromMs: number, toMs: number) {
    this.#zone = zone;
    this.#format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    let t = fromMs - 2 * DAY;
    let off = this.#probe(t);
    this.#table.push([Number.NEGATIVE_INFINITY, off]);
    for (; t < toMs + 2 * DAY; t += 15 * MIN) {
      const next = this.#probe(t + 15 * MIN);
      if (next === off) continue;
      let lo = t;
      let hi = t + 15 * MIN;
      while (hi - lo > MIN) {
        const mid = lo + Math.floor((hi - lo) / 2 / MIN) * MIN;
        if (this.#probe(mid) === off) lo = mid;
        else hi = mid;
      }
      this.#table.push([hi, next]);
      off = next;
    }
  }

  get zone(): string {
    return this.#zone;
  }

  offsetAt(t: number): number {
    let off = 0;
    for (const [from, o] of this.#table) if (t >= from) off = o;
    return off;
  }

  /** The instant the wall clock first reads local `wall` (local time written as UTC ms). */
  instant(wall: number): number {
    const candidates = [...new Set(this.#table.map(([, o]) => o))].map((o) => wall - o).filter((t) => t + this.offsetAt(t) === wall);
    if (candidates.length > 0) return Math.min(...candidates);
    // A gap: the change that jumped over `wall`.
    for (const [from, o] of this.#table) if (from !== Number.NEGATIVE_INFINITY && from + o > wall && from + this.offsetAt(from - 1) <= wall) return from;
    throw new Error(`no instant for ${new Date(wall).toISOString()} in ${this.#zone}`);
  }

  /** Open intervals of weekly windows that overlap [fromMs, toMs). */
  intervals(windows: readonly OracleWindow[], fromMs: number, toMs: number): [number, number][] {
    const out: [number, number][] = [];
    for (let day = Math.floor((fromMs - 2 * DAY) / DAY) * DAY; day < toMs + 2 * DAY; day += DAY) {
      const weekday = ((new Date(day).getUTCDay() + 6) % 7) + 1;
      for (const w of windows) {
        if (!w.days.includes(weekday)) continue;
        const s = this.instant(day + w.startMin * MIN);
        const e = this.instant(day + (w.endMin > w.startMin ? 0 : DAY) + w.endMin * MIN);
        if (e > s && e > fromMs && s < toMs) out.push([s, e]);
      }
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  #probe(t: number): number {
    const name = this.#format.formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
    if (m === null) throw new Error(`unexpected offset name ${name}`);
    if (m[1] === undefined) return 0;
    return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * MIN;
  }
}
