/**
 * What the schedule tells the homeowner (DESIGN.md: `notifications` is what the phone shows). Each
 * carries the sentence to show and the facts behind it; never a PIN (a code is named by its name,
 * kind and slot). Where they go is the daemon's business (main.ts hands a Notifier in).
 */
import type { Logger } from '../system/logger.js';
import type { CodeKind } from './model.js';

export type AlarmKind = 'out-of-window' | 'unknown-code' | 'wrong-codes' | 'keypad-locked-out' | 'clear-failing' | 'set-failing';

export type ScheduleNotification =
  | { kind: 'code-used'; who: 'code' | 'owner' | 'master'; name?: string; codeKind?: CodeKind; slot?: number; atMs: number; text: string }
  | { kind: 'alarm'; alarm: AlarmKind; name?: string; codeKind?: CodeKind; slot?: number; count?: number; atMs: number; text: string };

export interface Notifier {
  notify(notification: ScheduleNotification): void;
}

/** "cleaner, service code" */
export function describeCode(name: string, kind: CodeKind): string {
  return `${name}, ${kind} code`;
}

/**
 * Notifications into the daemon's log (alarms as warnings), until the cloud link carries a
 * `notifications` topic to the homeowner's phone.
 */
export function logNotifier(log: Logger): Notifier {
  return {
    notify(n) {
      if (n.kind === 'alarm') log.warn({ notification: n }, n.text);
      else log.info({ notification: n }, n.text);
    },
  };
}
