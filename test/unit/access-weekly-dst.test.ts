import { describe, expect, it } from 'vitest';
import { LocalTimes, withinWeekly } from '../../hub/access/local-time.js';

const MINUTE = 60_000;
const times = new LocalTimes();

/** Minutes of the UTC day starting at `dayStartUtc` (±12 h around it) at which the window is open. */
function openMinutes(fromUtc: number, hours: number, recurring: Parameters<typeof withinWeekly>[2]): number[] {
  const open: number[] = [];
  for (let m = 0; m < hours * 60; m++) if (withinWeekly(times, fromUtc + m * MINUTE, recurring)) open.push(m);
  return open;
}

const SUNDAY = 7;
const MONDAY = 1;

describe('weekly windows in the grant’s time zone, across daylight saving transitions', () => {
  it('Europe/Berlin spring-forward (2026-03-29): a 02:00–03:00 window never opens, the hour does not exist', () => {
    const open = openMinutes(Date.UTC(2026, 2, 28, 12), 24, { weekly: [{ day: SUNDAY, startMin: 120, endMin: 180 }], tz: 'Europe/Berlin' });
    expect(open).toEqual([]);
  });

  it('Europe/Berlin spring-forward: 08:00–09:00 local is 06:00–07:00 UTC that day (CEST, UTC+2)', () => {
    const from = Date.UTC(2026, 2, 29, 0);
    const open = openMinutes(from, 24, { weekly: [{ day: SUNDAY, startMin: 480, endMin: 540 }], tz: 'Europe/Berlin' });
    expect(open).toHaveLength(60);
    expect(open[0]).toBe(6 * 60);
  });

  it('Europe/Berlin fall-back (2026-10-25): a 02:00–03:00 window is open twice, 120 minutes in all', () => {
    const open = openMinutes(Date.UTC(2026, 9, 24, 12), 24, { weekly: [{ day: SUNDAY, startMin: 120, endMin: 180 }], tz: 'Europe/Berlin' });
    expect(open).toHaveLength(120);
    // 00:00–02:00 UTC: first as CEST (UTC+2), then again as CET (UTC+1).
    expect(open[0]).toBe(12 * 60);
    expect(open.at(-1)).toBe(12 * 60 + 119);
  });

  it('America/New_York spring-forward (2026-03-08): 02:00–03:00 never opens; Monday 08:00 is 12:00 UTC (EDT)', () => {
    expect(openMinutes(Date.UTC(2026, 2, 7, 12), 24, { weekly: [{ day: SUNDAY, startMin: 120, endMin: 180 }], tz: 'America/New_York' })).toEqual([]);
    const monday = openMinutes(Date.UTC(2026, 2, 9, 0), 24, { weekly: [{ day: MONDAY, startMin: 480, endMin: 540 }], tz: 'America/New_York' });
    expect(monday[0]).toBe(12 * 60);
    expect(monday).toHaveLength(60);
  });

  it('America/New_York fall-back (2026-11-01): a 01:00–02:00 window is open twice, 120 minutes in all', () => {
    const open = openMinutes(Date.UTC(2026, 10, 1, 0), 24, { weekly: [{ day: SUNDAY, startMin: 60, endMin: 120 }], tz: 'America/New_York' });
    expect(open).toHaveLength(120);
    expect(open[0]).toBe(5 * 60); // 01:00 EDT = 05:00 UTC; then 01:00 EST = 06:00 UTC
  });

  it('keeps a window on its local weekday even where UTC is already the next day', () => {
    // Saturday 23:30 in New York is Sunday 04:30 UTC.
    const sat = Date.UTC(2026, 10, 29, 4, 30);
    expect(withinWeekly(times, sat, { weekly: [{ day: 6, startMin: 23 * 60, endMin: 1440 }], tz: 'America/New_York' })).toBe(true);
    expect(withinWeekly(times, sat, { weekly: [{ day: 7, startMin: 0, endMin: 1440 }], tz: 'America/New_York' })).toBe(false);
  });

  it('answers undefined for a zone ICU does not know, and remembers that cheaply', () => {
    expect(withinWeekly(times, 0, { weekly: [{ day: 1, startMin: 0, endMin: 1440 }], tz: 'Not/AZone' })).toBeUndefined();
    expect(times.weekMinute(0, 'Not/AZone')).toBeUndefined();
  });
});

describe('zone formatter cache', () => {
  it('stays bounded under a flood of distinct unknown zones and still answers', () => {
    const local = new LocalTimes();
    for (let i = 0; i < 300; i++) expect(local.weekMinute(0, `Nowhere/Zone_${i}`)).toBeUndefined();
    expect(local.weekMinute(Date.UTC(2026, 10, 23, 12), 'UTC')).toEqual({ isoDay: 1, minute: 720 });
  });
});
