/**
 * Windows as a person types them (the CLI's `--weekly` / `--once`) and as `keyhub codes list` shows
 * them:
 *   weekly: `mon,thu 09:00-12:00`, `mon-fri 08:00-10:30`, `daily 07:00-08:00`, `sat 22:00-02:00`
 *           (ends the next morning), `sun 00:00-24:00`
 *   once:   `2026-12-19T14:00/18:00` (same day) or `2026-12-19T14:00/2026-12-21T10:00`
 * Local times in the code's zone. Parsing is strict (no guessing at a typo in something that opens
 * a door): anything else is SCHEDULE_CODE_INVALID with what was expected.
 */
import { ErrorCode, HubError } from '../system/errors.js';
import { windowSchema, type CodeWindow, type LocalStamp, type OnceWindow, type WeeklyWindow } from './model.js';

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const TIME = /^([01][0-9]|2[0-4]):([0-5][0-9])$/;
const DATE_TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}:[0-9]{2})$/;
/** Nothing a person types for a window is longer. */
const MAX_TEXT = 64;

export function parseWeekly(text: string): WeeklyWindow {
  const t = bounded(text).trim().toLowerCase();
  const m = /^([a-z,-]+)\s+(\S+)-(\S+)$/.exec(t);
  if (m === null) throw invalid(text, 'expected e.g. "mon,thu 09:00-12:00"');
  const window = { kind: 'weekly' as const, days: parseDays(m[1] ?? '', text), startMin: parseTime(m[2] ?? '', text), endMin: parseTime(m[3] ?? '', text) };
  if (window.startMin === 1440) throw invalid(text, 'a window cannot start at 24:00');
  return checked(window, text) as WeeklyWindow;
}

export function parseOnce(text: string): OnceWindow {
  const t = bounded(text).trim();
  const slash = t.indexOf('/');
  if (slash < 0) throw invalid(text, 'expected e.g. "2026-12-19T14:00/18:00"');
  const start = parseStamp(t.slice(0, slash), text);
  const endText = t.slice(slash + 1);
  const end = endText.includes('T') ? parseStamp(endText, text) : { year: start.year, month: start.month, day: start.day, minute: parseTime(endText, text) };
  return checked({ kind: 'once', start, end }, text) as OnceWindow;
}

export function formatWindow(w: CodeWindow): string {
  if (w.kind === 'weekly') return `${formatDays(w.days)} ${formatTime(w.startMin)}-${formatTime(w.endMin)}`;
  const sameDay = w.start.year === w.end.year && w.start.month === w.end.month && w.start.day === w.end.day;
  return `${formatStamp(w.start)}/${sameDay ? formatTime(w.end.minute) : formatStamp(w.end)}`;
}

function parseDays(text: string, whole: string): number[] {
  if (text === 'daily') return [1, 2, 3, 4, 5, 6, 7];
  const days: number[] = [];
  for (const part of text.split(',')) {
    const range = part.split('-');
    if (range.length > 2) throw invalid(whole, `"${part}" is not a day or a range of days`);
    const from = dayOf(range[0] ?? '', whole);
    const to = range.length === 2 ? dayOf(range[1] ?? '', whole) : from;
    if (to < from) throw invalid(whole, `"${part}" runs backwards (weeks start on Monday)`);
    for (let d = from; d <= to; d++) if (!days.includes(d)) days.push(d);
  }
  return days.sort((a, b) => a - b);
}

function dayOf(text: string, whole: string): number {
  const i = DAY_NAMES.indexOf(text);
  if (i < 0) throw invalid(whole, `"${text}" is not a day (mon, tue, wed, thu, fri, sat, sun, daily)`);
  return i + 1;
}

function parseTime(text: string, whole: string): number {
  const m = TIME.exec(text);
  if (m === null) throw invalid(whole, `"${text}" is not a time (HH:MM, 24-hour)`);
  const minute = Number(m[1]) * 60 + Number(m[2]);
  if (minute > 1440) throw invalid(whole, `"${text}" is past 24:00`);
  return minute;
}

function parseStamp(text: string, whole: string): LocalStamp {
  const m = DATE_TIME.exec(text);
  if (m === null) throw invalid(whole, `"${text}" is not a local date and time (YYYY-MM-DDTHH:MM)`);
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), minute: parseTime(m[4] ?? '', whole) };
}

function checked(window: CodeWindow, text: string): CodeWindow {
  const parsed = windowSchema.safeParse(window);
  if (!parsed.success) throw invalid(text, parsed.error.issues[0]?.message ?? 'not a window');
  return parsed.data;
}

function bounded(text: string): string {
  if (text.length > MAX_TEXT) throw invalid(text.slice(0, MAX_TEXT), `a window is at most ${MAX_TEXT} characters`);
  return text;
}

function formatDays(days: readonly number[]): string {
  if (days.length === 7) return 'daily';
  return days.map((d) => DAY_NAMES[d - 1] ?? '?').join(',');
}

function formatTime(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function formatStamp(s: LocalStamp): string {
  return `${String(s.year).padStart(4, '0')}-${String(s.month).padStart(2, '0')}-${String(s.day).padStart(2, '0')}T${formatTime(s.minute)}`;
}

function invalid(text: string, why: string): HubError {
  return new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `window ${JSON.stringify(text)}: ${why}`);
}
