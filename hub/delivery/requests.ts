/**
 * The transport seam of a visit: what a courier's handheld can ask, whichever way its messages
 * reach the hub (the cloud relaying them over MQTT, or BLE at the door). A transport turns its own
 * messages into these three calls and their answers into its replies; the visit state machine
 * behind them (doorkeeper.ts) does not know which transport asked.
 *
 * Every refusal carries the numbered reason the courier, the homeowner and the audit log all see,
 * and says whether the courier should leave the parcel outside (the home cannot take it now: camera
 * down, deliveries paused, pets inside, the lock unreachable) or was refused (the grant or its
 * presentation is not good here).
 */
import type { Transport } from '../../protocols/grant/presentation.js';
import type { ReceiptOutcome } from '../../protocols/grant/receipt.js';
import { ErrorCode } from '../system/errors.js';

export interface Refusal {
  ok: false;
  code: ErrorCode;
  codeName: string;
  reason: string;
  /** True: leave the parcel outside (the courier did nothing wrong); false: refused. */
  leaveOutside: boolean;
  /** The visit the refusal ended, when the request became one. */
  visitId?: string;
}

export type ChallengeAnswer = { ok: true; challenge: Uint8Array } | Refusal;

export interface Presented {
  transport: Transport;
  /** The signed grant (protocols/grant/grant.ts) and the signed presentation over our challenge. */
  grant: Uint8Array;
  presentation: Uint8Array;
  /** BLE: the signal strength the hub measured on the handheld's link. */
  rssiDbm?: number;
}

/**
 * `ok`: the lock reported the bolt unlocked; go in. The hub relocks by itself at `relockAtMs` (wall
 * time) if the courier does not ask first.
 */
export type PresentAnswer = { ok: true; visitId: string; relockAtMs: number } | Refusal;

/** The signed receipt (protocols/grant/receipt.ts): the handheld's ticket to its next stop. */
export type RelockAnswer = { ok: true; visitId: string; outcome: ReceiptOutcome; receipt: Uint8Array } | Refusal;

export interface VisitRequests {
  /** A fresh single-use challenge for the handheld to sign, unless the lock cannot take a visit now. */
  challenge(transport: Transport): ChallengeAnswer;
  /** Checks the presentation and, if it may enter, opens the door; resolves once open or refused. */
  present(request: Presented): Promise<PresentAnswer>;
  /**
   * Relocks now (once the door is closed) and resolves with the receipt when the outcome is known.
   * Asked again, or after the hub relocked by itself, it answers with the same receipt.
   */
  relock(visitId: string): Promise<RelockAnswer>;
}

/** Refusals that mean "the home cannot take it now", not "you may not". */
const LEAVE_OUTSIDE: ReadonlySet<ErrorCode> = new Set([ErrorCode.DELIVERIES_PAUSED, ErrorCode.PETS_INSIDE, ErrorCode.CAMERA_UNHEALTHY, ErrorCode.VISIT_IN_PROGRESS]);

export function refusal(code: ErrorCode, reason: string, visitId?: string): Refusal {
  // The lock's and the camera's own failures (3xx, 4xx) are the home's, never the courier's.
  const leaveOutside = LEAVE_OUTSIDE.has(code) || (code >= 300 && code < 500);
  return { ok: false, code, codeName: ErrorCode[code] ?? String(code), reason, leaveOutside, ...(visitId === undefined ? {} : { visitId }) };
}
