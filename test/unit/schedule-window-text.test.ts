import { describe, expect, it } from 'vitest';
import { formatWindow, parseOnce, parseWeekly } from '../../hub/schedule/window-text.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isHubError(err, ErrorCode.SCHEDULE_CODE_INVALID)) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('windows as a person types them', () => {
  it('reads weekly windows: day lists, ranges, daily, overnight, 24:00', () => {
    expect(parseWeekly('mon,thu 09:00-12:00')).toEqual({ kind: 'weekly', days: [1, 4], startMin: 540, endMin: 720 });
    expect(parseWeekly('  Mon-Fri 08:00-10:30 ')).toEqual({ kind: 'weekly', days: [1, 2, 3, 4, 5], startMin: 480, endMin: 630 });
    expect(parseWeekly('daily 07:00-08:00').days).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseWeekly('sat 22:00-02:00')).toEqual({ kind: 'weekly', days: [6], startMin: 1320, endMin: 120 });
    expect(parseWeekly('sun 00:00-24:00')).toEqual({ kind: 'weekly', days: [7], startMin: 0, endMin: 1440 });
    expect(parseWeekly('thu,mon,thu 09:00-12:00').days).toEqual([1, 4]);
  });

  it('reads one-off windows: same day, or ending on another day', () => {
    expect(parseOnce('2026-12-19T14:00/18:00')).toEqual({
      kind: 'once',
      start: { year: 2026, month: 12, day: 19, minute: 840 },
      end: { year: 2026, month: 12, day: 19, minute: 1080 },
    });
    expect(parseOnce('2026-12-19T14:00/2026-12-21T10:00').end).toEqual({ year: 2026, month: 12, day: 21, minute: 600 });
  });

  it('refuses anything else, saying what it expected', () => {
    expect(refused(() => parseWeekly('monday 09:00-12:00'))).toContain('is not a day');
    expect(refused(() => parseWeekly('fri-mon 09:00-12:00'))).toContain('runs backwards');
    expect(refused(() => parseWeekly('mon 9:00-12:00'))).toContain('is not a time');
    expect(refused(() => parseWeekly('mon 09:00-24:01'))).toContain('past 24:00');
    expect(refused(() => parseWeekly('mon 24:00-01:00'))).toContain('cannot start at 24:00');
    expect(refused(() => parseWeekly('mon 09:00-09:00'))).toContain('must not end when it starts');
    expect(refused(() => parseWeekly('mon'))).toContain('expected e.g.');
    expect(refused(() => parseOnce('2026-02-30T10:00/11:00'))).toContain('not a calendar date');
    expect(refused(() => parseOnce('2026-12-19T14:00/13:00'))).toContain('must end after it starts');
    expect(refused(() => parseOnce('2026-12-01T14:00/2027-01-15T10:00'))).toContain('at most 31 days');
    expect(refused(() => parseOnce('1999-12-31T10:00/11:00'))).toContain('1999-12-31T10:00');
    expect(refused(() => parseOnce('2026-12-19 14:00/18:00'))).toContain('YYYY-MM-DDTHH:MM');
    expect(refused(() => parseWeekly(`mon ${'9'.repeat(100)}`))).toContain('at most 64 characters');
  });

  it('shows them as they are typed', () => {
    for (const text of ['mon,thu 09:00-12:00', 'daily 07:00-08:00', 'sat 22:00-02:00', 'sun 00:00-24:00']) expect(formatWindow(parseWeekly(text))).toBe(text);
    for (const text of ['2026-12-19T14:00/18:00', '2026-12-19T14:00/2026-12-21T10:00']) expect(formatWindow(parseOnce(text))).toBe(text);
  });
});
