import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { Lock, LockActor, LockEvent } from './lock.js';

/**
 * Puts what the lock reports on its own into the audit log (DESIGN.md, the visit, step 7: every step
 * is an audit event): a bolt thrown by hand, by keypad or by auto-lock, a jam (and the command it
 * jammed under), the door (with the visit it happened in). A bolt the hub's own command moved is
 * recorded by whoever sent the command (with the grant or owner behind it) while that caller still
 * waits for it; a report that comes after its command gave up (a relock that timed out, then the
 * motor finished) has no one else to record it, and is recorded here. Tamper, battery and
 * connection events have no audit type yet: they are logged.
 *
 * An audit write that fails is never swallowed: `onAuditFailure` is told, and main.ts stops the
 * daemon with a non-zero exit (fail secure: systemd restarts it; the bolt stays as it is). Nothing
 * in the listener may throw past it: the lock's event fan-out would only log it.
 */
export function lockAuditModule(deps: {
  lock: Lock;
  audit: { append(event: AuditEvent): unknown };
  log: Logger;
  onAuditFailure: (err: unknown) => void;
  /** The visit holding the lock right now (hub/delivery), so door and jam entries name it. */
  currentVisit?: () => string | undefined;
}): Module {
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'lock-audit',
    start() {
      unsubscribe = deps.lock.onEvent((event) => {
        try {
          const entry = auditEntryFor(event, deps.currentVisit?.());
          if (entry === undefined) {
            deps.log.info({ event }, 'lock event');
            return;
          }
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

export function auditEntryFor(event: LockEvent, visitId?: string): AuditEvent | undefined {
  const visit = visitId === undefined ? {} : { visitId };
  switch (event.kind) {
    case 'locked':
    case 'unlocked': {
      if (event.by === 'hub') {
        // A caller waiting for it records it (with the grant or command behind it); absent means
        // the driver cannot tell, which is a caller waiting (BLE confirms inside the command).
        if (event.awaited !== false) return undefined;
        return { type: 'bolt', body: { state: event.kind, by: 'hub', ...visit } };
      }
      const by = BY[event.by] ?? 'manual';
      const slot = event.by === 'keypad' && event.slot !== undefined ? { slot: event.slot } : {};
      return { type: 'bolt', body: { state: event.kind, by, ...slot, ...visit } };
    }
    case 'jammed':
      return { type: 'jam', body: { during: event.during ?? 'idle', ...visit } };
    case 'door':
      return { type: 'door', body: { state: event.door, ...visit } };
    default:
      return undefined;
  }
}
