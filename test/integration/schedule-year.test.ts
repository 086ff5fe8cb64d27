/**
 * A simulated year of weekly windows on a fake clock against the Kwikset on the mock Z-Wave stick,
 * through every DST change of three zones (one with a 30-minute shift), with windows placed in the
 * hours the changes skip and repeat. Every User Code Set the lock carried out is counted against an
 * independent reckoning of the windows (test/support/zone-oracle.ts): none missed, none extra.
 * The periodic reconcile runs every 30 days here (each pass reads 30 slots over the radio); it
 * must find nothing to fix.
 */
import { expect, it } from 'vitest';
import { simulateYear, type YearCode } from '../support/schedule-year.js';

const D = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const hm = (h: number, m = 0): number => h * 60 + m;

export const YEAR_CODES: YearCode[] = [
  { name: 'cleaner', pin: '482913', zone: 'Europe/Berlin', weekly: [{ days: [D.mon, D.thu], startMin: hm(9), endMin: hm(12) }] },
  { name: 'night baker', pin: '135790', zone: 'Europe/Berlin', weekly: [{ days: [D.sun], startMin: hm(2, 30), endMin: hm(4) }] },
  { name: 'nurse', pin: '246802', zone: 'America/New_York', weekly: [{ days: [D.sun], startMin: hm(1), endMin: hm(1, 30) }] },
  { name: 'dog walker', pin: '918273', zone: 'America/New_York', weekly: [{ days: [D.tue, D.fri], startMin: hm(22), endMin: hm(2) }] },
  { name: 'ferry crew', pin: '564738', zone: 'Australia/Lord_Howe', weekly: [{ days: [D.sun], startMin: hm(1, 45), endMin: hm(2, 45) }] },
  { name: 'gardener', pin: '102938', zone: 'Australia/Lord_Howe', weekly: [{ days: [D.sat], startMin: hm(7), endMin: hm(15) }] },
];

it('a year of weekly windows in three zones: every set and clear at its edge, none missed, none extra', async () => {
  const result = await simulateYear({
    codes: YEAR_CODES,
    fromMs: Date.UTC(2026, 0, 1),
    toMs: Date.UTC(2027, 0, 1),
    settings: { reconcileEveryMs: 30 * 86_400_000 },
  });
  expect(result.mismatches).toEqual([]);
  expect(result).toMatchObject({ missed: 0, extra: 0 });
  // Six codes, 52–53 weeks: 1 or 2 windows a week each.
  expect(result.edges).toBeGreaterThan(800);
  expect(result.setsAndClears).toBe(result.edges);
  expect(result.reconcilePasses).toBeGreaterThanOrEqual(12);
}, 600_000);
