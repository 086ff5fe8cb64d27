import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { Lock, LockActor, LockEvent } from './lock.js';

/**
 * Puts what the lock reports on its own into the audit log (DESIGN.md, the visit, step 7: every step
 * is an audit event): a bolt thrown by hand, by keypad or by auto-lock, a jam, the door. Commands the
 * hub sends are recorded by whoever sent them (with the grant or owner behind them), so `by: hub`
 * reports are not written twice here. Tamper, battery and connection events have no audit type yet:
 * they are logged.
 *
 * An audit write that fails is never swallowed: `onAuditFailure` is told, and main.ts stops the
 * daemon with a non-zero exit (fail secure: systemd restarts it; the bolt stays as it is).
 */
export function lockAuditModule(deps: {
  lock: Lock;
  audit: { append(event: AuditEvent): unknown };
  log: Logger;
  onAuditFailure: (err: unknown) => void;
}): Module {
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'lock-audit',
    start() {
      unsubscribe = deps.lock.onEvent((event) => {
        const entry = auditEntryFor(event);
        if (entry === undefined) {
          deps.log.info({ event }, 'lock event');
          return;
        }
        try {
          deps.audit.append(entry);
        } catch (err) {
          deps.onAuditFailure(err);
        }
      });
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}

const BY: Record<Exclude<LockActor, 'hub'>, 'manual' | 'keypad' | 'auto-lock' | undefined> = {
  manual: 'manual',
  keypad: 'keypad',
  auto: 'auto-lock',
  // The lock did not say who moved the bolt: on record as manual, the only actor left at the door.
  unknown: 'manual',
};

export function auditEntryFor(event: LockEvent): AuditEvent | undefined {
  switch (event.kind) {
    case 'locked':
    case 'unlocked': {
      if (event.by === 'hub') return undefined;
      const by = BY[event.by] ?? 'manual';
      const slot = event.by === 'keypad' && event.slot !== undefined ? { slot: event.slot } : {};
      return { type: 'bolt', body: { state: event.kind, by, ...slot } };
    }
    case 'jammed':
      return { type: 'jam', body: { during: 'idle' } };
    case 'door':
      return { type: 'door', body: { state: event.door } };
    default:
      return undefined;
  }
}
