/**
 * Keypad code windows as instants, in the zone's rules, across the 2026 daylight saving changes of
 * America/New_York (Mar 8 02:00 → 03:00, Nov 1 02:00 → 01:00), Europe/Berlin (Mar 29 02:00 →
 * 03:00, Oct 25 03:00 → 02:00) and Australia/Lord_Howe (a 30-minute shift: Apr 5 02:00 → 01:30,
 * Oct 4 02:00 → 02:30). Every expected instant is written out in UTC by hand.
 */
import { describe, expect, it } from 'vitest';
import type { CodeWindow } from '../../hub/schedule/model.js';
import { parseOnce, parseWeekly } from '../../hub/schedule/window-text.js';
import { isOpen, nextEdge, openIntervals, type WindowPlan } from '../../hub/schedule/windows.js';
import { LocalTimes } from '../../hub/system/local-time.js';

const times = new LocalTimes();
const Z = (iso: string): number => Date.parse(iso);
const plan = (zone: string, ...windows: CodeWindow[]): WindowPlan => ({ zone, windows, expiresAtMs: undefined, paused: false });
const spans = (p: WindowPlan, from: string, to: string): string[][] =>
  openIntervals(times, p, Z(from), Z(to)).map((i) => [new Date(i.startMs).toISOString(), new Date(i.endMs).toISOString()]);

describe('a weekly window is the same local hours on both sides of a DST change', () => {
  const monday = parseWeekly('mon 09:00-12:00');

  it('America/New_York: 14:00–17:00 UTC in EST, 13:00–16:00 UTC in EDT', () => {
    expect(spans(plan('America/New_York', monday), '2026-03-01T00:00Z', '2026-03-11T00:00Z')).toEqual([
      ['2026-03-02T14:00:00.000Z', '2026-03-02T17:00:00.000Z'],
      ['2026-03-09T13:00:00.000Z', '2026-03-09T16:00:00.000Z'],
    ]);
  });

  it('Europe/Berlin: 08:00–11:00 UTC in CET, 07:00–10:00 UTC in CEST, and back in the autumn', () => {
    expect(spans(plan('Europe/Berlin', monday), '2026-03-22T00:00Z', '2026-04-01T00:00Z')).toEqual([
      ['2026-03-23T08:00:00.000Z', '2026-03-23T11:00:00.000Z'],
      ['2026-03-30T07:00:00.000Z', '2026-03-30T10:00:00.000Z'],
    ]);
    expect(spans(plan('Europe/Berlin', monday), '2026-10-18T00:00Z', '2026-10-28T00:00Z')).toEqual([
      ['2026-10-19T07:00:00.000Z', '2026-10-19T10:00:00.000Z'],
      ['2026-10-26T08:00:00.000Z', '2026-10-26T11:00:00.000Z'],
    ]);
  });

  it('Australia/Lord_Howe: the 30-minute shift moves the window by 30 minutes, not an hour', () => {
    expect(spans(plan('Australia/Lord_Howe', monday), '2026-03-28T00:00Z', '2026-04-08T00:00Z')).toEqual([
      ['2026-03-29T22:00:00.000Z', '2026-03-30T01:00:00.000Z'],
      ['2026-04-05T22:30:00.000Z', '2026-04-06T01:30:00.000Z'],
    ]);
  });
});

describe('a window that starts in a skipped hour starts at the first valid minute', () => {
  it('Europe/Berlin Sunday 02:30–04:00 on Mar 29 opens at 03:00 CEST (01:00 UTC)', () => {
    expect(spans(plan('Europe/Berlin', parseOnce('2026-03-29T02:30/04:00')), '2026-03-28T00:00Z', '2026-03-30T00:00Z')).toEqual([
      ['2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'],
    ]);
  });

  it('America/New_York Sunday 02:15–03:30 on Mar 8 opens at 03:00 EDT (07:00 UTC)', () => {
    expect(spans(plan('America/New_York', parseWeekly('sun 02:15-03:30')), '2026-03-07T00:00Z', '2026-03-09T00:00Z')).toEqual([
      ['2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z'],
    ]);
  });

  it('Australia/Lord_Howe Sunday 02:00–03:00 on Oct 4 opens at 02:30 LHDT (15:30 UTC the day before)', () => {
    expect(spans(plan('Australia/Lord_Howe', parseWeekly('sun 02:00-03:00')), '2026-10-02T00:00Z', '2026-10-05T00:00Z')).toEqual([
      ['2026-10-03T15:30:00.000Z', '2026-10-03T16:00:00.000Z'],
    ]);
  });

  it('a window wholly inside the skipped hour never opens (as a grant’s weekly window never does)', () => {
    const p = plan('Europe/Berlin', parseWeekly('sun 02:00-03:00'));
    expect(spans(p, '2026-03-28T00:00Z', '2026-03-30T00:00Z')).toEqual([]);
    expect(nextEdge(times, p, Z('2026-03-28T12:00Z'))).toBe(Z('2026-04-05T00:00Z'));
  });
});

describe('a window in a repeated hour is not doubled', () => {
  it('America/New_York Sunday 01:00–01:30 on Nov 1 is open once, on the first pass (EDT)', () => {
    expect(spans(plan('America/New_York', parseWeekly('sun 01:00-01:30')), '2026-10-31T00:00Z', '2026-11-02T00:00Z')).toEqual([
      ['2026-11-01T05:00:00.000Z', '2026-11-01T05:30:00.000Z'],
    ]);
    // The wall clock reads 01:10 again at 06:10 UTC: the window stays shut.
    expect(isOpen(times, plan('America/New_York', parseWeekly('sun 01:00-01:30')), Z('2026-11-01T06:10Z'))).toBe(false);
  });

  it('Europe/Berlin Sunday 02:15–02:45 on Oct 25 is open once (CEST, 00:15–00:45 UTC)', () => {
    expect(spans(plan('Europe/Berlin', parseWeekly('sun 02:15-02:45')), '2026-10-24T00:00Z', '2026-10-26T00:00Z')).toEqual([
      ['2026-10-25T00:15:00.000Z', '2026-10-25T00:45:00.000Z'],
    ]);
  });

  it('Australia/Lord_Howe Sunday 01:35–01:55 on Apr 5 is open once (LHDT, 14:35–14:55 UTC the day before)', () => {
    expect(spans(plan('Australia/Lord_Howe', parseWeekly('sun 01:35-01:55')), '2026-04-03T00:00Z', '2026-04-06T00:00Z')).toEqual([
      ['2026-04-04T14:35:00.000Z', '2026-04-04T14:55:00.000Z'],
    ]);
  });

  it('a window across the repeated hour is one opening from its start to the wall clock reading its end', () => {
    // 00:30 EDT (04:30 UTC) until 02:00 EST (07:00 UTC): one set, one clear.
    expect(spans(plan('America/New_York', parseWeekly('sun 00:30-02:00')), '2026-10-31T00:00Z', '2026-11-02T00:00Z')).toEqual([
      ['2026-11-01T04:30:00.000Z', '2026-11-01T07:00:00.000Z'],
    ]);
  });
});

describe('window shapes', () => {
  it('ends the next morning when the end is before the start, on the local date it started', () => {
    expect(spans(plan('Europe/Berlin', parseWeekly('sat 22:00-02:00')), '2026-10-23T00:00Z', '2026-10-26T00:00Z')).toEqual([
      ['2026-10-24T20:00:00.000Z', '2026-10-25T00:00:00.000Z'],
    ]);
  });

  it('merges windows that touch or overlap: the slot is not cleared and set again between them', () => {
    const p = plan('Europe/Berlin', parseWeekly('mon 09:00-12:00'), parseWeekly('mon 12:00-14:00'), parseWeekly('mon 13:00-13:30'));
    expect(spans(p, '2026-11-22T00:00Z', '2026-11-24T00:00Z')).toEqual([['2026-11-23T08:00:00.000Z', '2026-11-23T13:00:00.000Z']]);
  });

  it('an every-day, all-day window has no edge within the week (none invented where enumeration stops)', () => {
    const p = plan('Europe/Berlin', parseWeekly('daily 00:00-24:00'));
    expect(isOpen(times, p, Z('2026-11-25T12:00Z'))).toBe(true);
    expect(nextEdge(times, p, Z('2026-11-25T12:00Z'))).toBeUndefined();
  });

  it('an expiry closes an open window early and nothing opens after it', () => {
    const p = { ...plan('Europe/Berlin', parseWeekly('mon 09:00-12:00')), expiresAtMs: Z('2026-11-23T09:30Z') };
    expect(spans(p, '2026-11-22T00:00Z', '2026-12-10T00:00Z')).toEqual([['2026-11-23T08:00:00.000Z', '2026-11-23T09:30:00.000Z']]);
    expect(nextEdge(times, p, Z('2026-11-23T09:00Z'))).toBe(Z('2026-11-23T09:30Z'));
    expect(nextEdge(times, p, Z('2026-11-23T10:00Z'))).toBeUndefined();
  });

  it('a paused code never opens; a zone ICU does not know never opens (fail secure)', () => {
    expect(isOpen(times, { ...plan('Europe/Berlin', parseWeekly('daily 00:00-24:00')), paused: true }, Z('2026-11-25T12:00Z'))).toBe(false);
    expect(isOpen(times, plan('Mars/Olympus_Mons', parseWeekly('daily 00:00-24:00')), Z('2026-11-25T12:00Z'))).toBe(false);
  });

  it('the next edge: the next start when closed, the end when open, a one-off far ahead by its start', () => {
    const p = plan('Europe/Berlin', parseWeekly('mon,thu 09:00-12:00'));
    expect(nextEdge(times, p, Z('2026-11-23T06:00Z'))).toBe(Z('2026-11-23T08:00Z'));
    expect(nextEdge(times, p, Z('2026-11-23T08:00Z'))).toBe(Z('2026-11-23T11:00Z'));
    expect(nextEdge(times, p, Z('2026-11-23T11:00Z'))).toBe(Z('2026-11-26T08:00Z'));
    const far = plan('Europe/Berlin', parseOnce('2027-06-19T14:00/18:00'));
    expect(nextEdge(times, far, Z('2026-11-23T06:00Z'))).toBe(Z('2027-06-19T12:00Z'));
    expect(nextEdge(times, far, Z('2027-06-19T12:00Z'))).toBe(Z('2027-06-19T16:00Z'));
    expect(nextEdge(times, far, Z('2027-06-19T16:00Z'))).toBeUndefined();
  });
});
