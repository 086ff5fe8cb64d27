import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Module } from '../system/lifecycle.js';
import type { DoorCamera } from './no-camera.js';

/**
 * A camera stall is on record (DESIGN.md, "Camera": stall — alert, audit): one `camera.stall` entry
 * when pictures stop, whatever the cause and however many reconnects the outage takes, and one
 * `camera.recovered` with the outage's length when they come back. A failed audit write is
 * handed to `onAuditFailure`, never swallowed.
 */
export function cameraAuditModule(deps: {
  camera: Pick<DoorCamera, 'onEvent'>;
  audit: { append(event: AuditEvent): unknown };
  onAuditFailure: (err: unknown) => void;
  /** The visit holding the lock right now (hub/delivery): a stall mid-visit names it. */
  currentVisit?: () => string | undefined;
}): Module {
  let unsubscribe: (() => void) | undefined;
  const append = (event: AuditEvent): void => {
    try {
      deps.audit.append(event);
    } catch (err) {
      deps.onAuditFailure(err);
    }
  };
  return {
    name: 'camera-audit',
    start() {
      unsubscribe = deps.camera.onEvent((event) => {
        const visitId = deps.currentVisit?.();
        const visit = visitId === undefined ? {} : { visitId };
        if (event.type === 'stall') append({ type: 'camera.stall', body: { silentMs: Math.round(event.record.silentForMs), reason: event.record.reason, ...visit } });
        else if (event.type === 'recovered') append({ type: 'camera.recovered', body: { outageMs: Math.round(event.outageMs), reason: event.reason, ...visit } });
      });
    },
    stop() {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
