/**
 * What the homeowner is told about visits and the door (DESIGN.md, step 6: "delivered, door locked,
 * watch the clip"; and every problem). The delivery room hands each notice to the sink main.ts gives
 * it (the cloud's notifications and the local list the LAN page shows); the audit log holds the
 * same facts independently.
 */
import type { ErrorCode } from '../system/errors.js';

export type VisitNotice =
  | { kind: 'delivered'; visitId: string; door: 'closed' | 'unknown'; clipId?: string }
  | { kind: 'refused' | 'left-outside'; visitId?: string; code: ErrorCode; codeName: string }
  | { kind: 'relock-failed'; visitId: string; code: ErrorCode; codeName: string }
  /** A relock that had failed (or waited for the door) succeeded after all. */
  | { kind: 'locked-after-all'; visitId: string; door: 'closed' | 'unknown' }
  | { kind: 'door-left-open'; visitId: string }
  | { kind: 'camera-stalled'; visitId: string }
  /** A visit a crash left open was closed at boot, the door relocked first. */
  | { kind: 'recovered-after-crash'; visitId: string; door: 'closed' | 'open' | 'unknown' }
  | { kind: 'door-forced-open' }
  | { kind: 'door-ajar'; openForMs: number }
  | { kind: 'clip-quota'; code: ErrorCode; detail: string };

export type NoticeSink = (notice: VisitNotice) => void;
