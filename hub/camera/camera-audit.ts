import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Module } from '../system/lifecycle.js';
import type { DoorCamera } from './no-camera.js';

/**
 * A camera stall is on record (DESIGN.md, "Camera": stall — alert, audit). A failed audit write is
 * handed to `onAuditFailure`, never swallowed.
 */
export function cameraAuditModule(deps: {
  camera: Pick<DoorCamera, 'onEvent'>;
  audit: { append(event: AuditEvent): unknown };
  onAuditFailure: (err: unknown) => void;
}): Module {
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'camera-audit',
    start() {
      unsubscribe = deps.camera.onEvent((event) => {
        if (event.type !== 'stall') return;
        try {
          deps.audit.append({ type: 'camera.stall', body: { silentMs: Math.round(event.record.silentForMs) } });
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
