/**
 * Keypad codes on a schedule: what a guest or service code is, and the limits every input is held
 * to before it can reach the store or the lock. A code has a name, a kind, a PIN, windows in a time
 * zone (one-off ranges and weekly windows), an optional expiry, and is paused or not. The hub puts
 * the PIN into the code's own slot (from the range reserved for the hub) while a window is open and
 * clears the slot when it closes.
 *
 * Worst legal values, and why they are bounded here: a name ends up in audit entries and
 * notifications (≤ 64 characters, no control characters); a code's windows are evaluated at every
 * edge (≤ 16 windows); a one-off window spans at most 31 days and lies in 2000–2199 (zone rules
 * outside that are guesses); an expiry or window in the past is refused at input, not stored.
 */
import { z } from 'zod';
import type { CivilDate } from '../system/local-time.js';

export const CODE_KINDS = ['guest', 'service'] as const;
export type CodeKind = (typeof CODE_KINDS)[number];

/** A local date and minute (0..1440; 1440 is the next day's midnight) in the code's zone. */
export interface LocalStamp extends CivilDate {
  minute: number;
}

/**
 * Every week on `days` (ISO 1 = Monday … 7 = Sunday) from `startMin` to `endMin` local minutes.
 * `endMin` ≤ `startMin` ends on the next day (22:00–06:00); 1440 is midnight at the end of the day.
 */
export interface WeeklyWindow {
  kind: 'weekly';
  days: readonly number[];
  startMin: number;
  endMin: number;
}

/** Once, from `start` to `end` local time. */
export interface OnceWindow {
  kind: 'once';
  start: LocalStamp;
  end: LocalStamp;
}

export type CodeWindow = WeeklyWindow | OnceWindow;

/** A code as the store keeps it. */
export interface ScheduledCode {
  /** 16 hex digits, random: what the audit log and the interfaces name a code by. */
  id: string;
  name: string;
  kind: CodeKind;
  slot: number;
  zone: string;
  windows: readonly CodeWindow[];
  expiresAtMs: number | undefined;
  paused: boolean;
  /** The digits, kept only while the hub may still have to put them into the lock; undefined after. */
  pin: string | undefined;
  /** Keyed hash of the PIN (pin-hash.ts): the only form of it in logs, audit, status. */
  pinHash: string;
  /** Removal asked for: the row stays until the slot reads back empty. */
  removed: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

export const LIMITS = {
  nameMaxChars: 64,
  windowsPerCode: 16,
  onceMaxDays: 31,
  firstYear: 2000,
  lastYear: 2199,
} as const;

export const CODE_ID = /^[0-9a-f]{16}$/;

const minuteOfDay = z.int().min(0).max(1440);
const civil = {
  year: z.int().min(LIMITS.firstYear).max(LIMITS.lastYear),
  month: z.int().min(1).max(12),
  day: z.int().min(1).max(31),
};
const stamp = z
  .strictObject({ ...civil, minute: minuteOfDay })
  .refine((s) => isRealDate(s), { message: 'not a calendar date' });

const weeklySchema = z
  .strictObject({
    kind: z.literal('weekly'),
    days: z
      .array(z.int().min(1).max(7))
      .min(1)
      .max(7)
      .refine((d) => new Set(d).size === d.length, { message: 'a day is listed twice' }),
    startMin: z.int().min(0).max(1439),
    endMin: z.int().min(1).max(1440),
  })
  .refine((w) => w.endMin !== w.startMin, { message: 'a weekly window must not end when it starts' });

const onceSchema = z
  .strictObject({ kind: z.literal('once'), start: stamp, end: stamp })
  .refine((w) => stampOrder(w.start) < stampOrder(w.end), { message: 'a one-off window must end after it starts' })
  .refine((w) => stampOrder(w.end) - stampOrder(w.start) <= LIMITS.onceMaxDays * 1440, { message: `a one-off window spans at most ${LIMITS.onceMaxDays} days` });

export const windowSchema = z.discriminatedUnion('kind', [weeklySchema, onceSchema]);
export const windowsSchema = z.array(windowSchema).min(1).max(LIMITS.windowsPerCode);

/** Printable text without control characters (they would forge lines in a log or a terminal). */
export const nameSchema = z
  .string()
  .transform((s) => s.trim())
  .pipe(
    z
      .string()
      .min(1, { message: 'a code needs a name' })
      .max(LIMITS.nameMaxChars)
      .refine((s) => !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(s), { message: 'a name must not contain control characters' }),
  );

/** Minutes since 0000-01-01 of a local stamp, for ordering two stamps of one zone. */
export function stampOrder(s: LocalStamp): number {
  return Math.floor(Date.UTC(s.year, s.month - 1, s.day) / 60_000) + s.minute;
}

function isRealDate(d: CivilDate): boolean {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day));
  return t.getUTCFullYear() === d.year && t.getUTCMonth() === d.month - 1 && t.getUTCDate() === d.day;
}

/** How a code is shown: the PIN masked, one mark per digit. */
export function maskPin(length: number): string {
  return '•'.repeat(length);
}
