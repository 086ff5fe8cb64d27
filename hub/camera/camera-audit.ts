import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Module } from '../system/lifecycle.js';
import type { Camera } from './camera.js';

/**
 * A camera stall is on record (DESIGN.md, "Camera": stall — alert, audit). A failed audit write is
 * handed to `onAuditFailure`, never swallowed.
 */
export function cameraAuditModule(deps: {
  camera: () => Pick<Camera, 'onEvent'>;
  audit: () => { append(event: AuditEvent): unknown };
  onAuditFailure: (err: unknown) => void;
  /** The visit holding the lock right now (hub/delivery): a stall mid-visit names it. */
  currentVisit?: () => string | undefined;
}): Module {
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'camera-audit',
    start() {
      unsubscribe = deps.camera().onEvent((event) => {
        if (event.type !== 'stall') return;
        try {
          const visitId = deps.currentVisit?.();
          deps.audit().append({ type: 'camera.stall', body: { silentMs: Math.round(event.record.silentForMs), ...(visitId === undefined ? {} : { visitId }) } });
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
