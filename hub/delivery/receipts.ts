/**
 * The visit's receipt (protocols/grant/receipt.ts), signed with the hub's own key the moment the
 * outcome is known: relock confirmed, relock failed, or the door found open at the end of the
 * entry time. It names the audit entry of that moment and the clip as written then, is kept in the
 * journal (a courier who asks again gets the same bytes), answers the courier on the path it came
 * and goes to the cloud's `receipts`.
 */
import { signReceipt } from '../../protocols/grant/handheld.js';
import type { Signer } from '../../protocols/grant/ed25519.js';
import type { Receipt, ReceiptOutcome } from '../../protocols/grant/receipt.js';
import type { ClipMark } from '../camera/recorder.js';
import type { LockState } from '../lock/lock.js';
import type { Logger } from '../system/logger.js';
import type { Visit } from './visit.js';

export interface ReceiptFacts {
  outcome: ReceiptOutcome;
  atMs: number;
  auditSeq: number;
  lock: LockState;
  clip: ClipMark | undefined;
}

export function signVisitReceipt(hubId: string, hubKey: Signer, visit: Visit, facts: ReceiptFacts): Uint8Array {
  const grant = visit.grant;
  if (grant === undefined) throw new Error(`visit ${visit.id} has no grant: no receipt`);
  // A recovered visit may have no opening time on record (the crash came before the lock's report).
  const openedAt = visit.openedAtMs ?? facts.atMs;
  const receipt: Receipt = {
    hubId,
    grantId: grant.id,
    visitId: Uint8Array.from(Buffer.from(visit.id, 'hex')),
    openedAt,
    decidedAt: Math.max(openedAt, facts.atMs),
    outcome: facts.outcome,
    ...(facts.outcome === 'locked' ? { relockedAt: Math.max(openedAt, facts.atMs) } : {}),
    bolt: facts.lock.bolt,
    door: facts.lock.door,
    ...(facts.clip === undefined ? {} : { clip: { id: facts.clip.clipId, sha256: facts.clip.sha256, bytes: facts.clip.bytes } }),
    auditSeq: facts.auditSeq,
  };
  return Uint8Array.from(signReceipt(receipt, hubKey));
}

/** The clip as written now, or none: a clip whose writing failed is not vouched for (it surfaces at its end). */
export async function clipMark(visit: Visit, log: Logger): Promise<ClipMark | undefined> {
  if (visit.recording === undefined) return undefined;
  try {
    return await visit.recording.mark();
  } catch (err) {
    log.error({ visitId: visit.id, err: (err as Error)?.message }, 'the visit clip is not being written: the receipt names no clip');
    return undefined;
  }
}
