/**
 * The relock receipt: the hub signs, under `keyhub/receipt/v1`, how a grant's visit ended at the
 * door. The courier's handheld will not start its next stop without one (DESIGN.md, step 6).
 *
 * Payload version 2 (version 1 could not say that a relock failed, so it is refused: a hub never
 * signed one that a handheld holds, and accepting it would read as "locked"):
 *
 *  key  field        type                                        rule
 *   0   v            uint                                        2
 *   1   hubId        text ≤ 64
 *   2   grantId      bytes 16
 *   3   visitId      bytes 16                                    the hub's id of the visit
 *   4   openedAt     time (ms, ≤ MAX_TIME_MS)                  the lock reported the bolt unlocked
 *   5   decidedAt    time (ms, ≤ MAX_TIME_MS)                  ≥ openedAt: when the outcome was known
 *   6   outcome      "locked" | "relock-failed" | "door-left-open"
 *   7   relockedAt   time (ms, ≤ MAX_TIME_MS)                  with outcome "locked" only; ≥ openedAt
 *   8   bolt         "locked"|"unlocked"|"jammed"|"unknown"      as the lock last reported it
 *   9   door         "closed" | "open" | "unknown"               "unknown": the lock has no door sensor
 *  10   clipId       text ≤ 64                                   optional, with 11 and 12
 *  11   clipSha256   bytes 32                                    SHA-256 of the clip's first `clipBytes` bytes
 *  12   clipBytes    uint                                        the clip as written when the outcome was known
 *  13   auditSeq     uint                                        the audit entry of the relock (bolt locked),
 *                                                                of the failed relock, or of the door alarm
 *
 * The clip goes on after the receipt (the post-roll), so the receipt vouches for its beginning: the
 * finished clip's first `clipBytes` bytes hash to `clipSha256`, and the audit log's `clip` entry
 * carries the hash of the whole file.
 */
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';
import { FieldReader, knownFields } from '../cbor/fields.js';
import { GRANT_ID_BYTES } from './grant.js';

export const RECEIPT_VERSION = 2;
export const RECEIPT_MAX_BYTES = 512;
export const VISIT_ID_BYTES = 16;
const KNOWN = knownFields(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
export const RECEIPT_OUTCOMES = ['locked', 'relock-failed', 'door-left-open'] as const;
export type ReceiptOutcome = (typeof RECEIPT_OUTCOMES)[number];
export const BOLT_STATES = ['locked', 'unlocked', 'jammed', 'unknown'] as const;
export type ReceiptBolt = (typeof BOLT_STATES)[number];
export const DOOR_STATES = ['closed', 'open', 'unknown'] as const;
export type DoorState = (typeof DOOR_STATES)[number];

export interface ReceiptClip {
  readonly id: string;
  readonly sha256: Uint8Array;
  readonly bytes: number;
}

export interface Receipt {
  readonly hubId: string;
  readonly grantId: Uint8Array;
  readonly visitId: Uint8Array;
  readonly openedAt: number;
  readonly decidedAt: number;
  readonly outcome: ReceiptOutcome;
  /** Present exactly when the outcome is `locked`. */
  readonly relockedAt?: number;
  readonly bolt: ReceiptBolt;
  readonly door: DoorState;
  readonly clip?: ReceiptClip;
  readonly auditSeq: number;
}

export function encodeReceiptPayload(r: Receipt): Uint8Array {
  const m = new Map<number, CborValue>([
    [0, RECEIPT_VERSION],
    [1, r.hubId],
    [2, r.grantId],
    [3, r.visitId],
    [4, r.openedAt],
    [5, r.decidedAt],
    [6, r.outcome],
    [8, r.bolt],
    [9, r.door],
    [13, r.auditSeq],
  ]);
  if (r.relockedAt !== undefined) m.set(7, r.relockedAt);
  if (r.clip !== undefined) {
    m.set(10, r.clip.id);
    m.set(11, r.clip.sha256);
    m.set(12, r.clip.bytes);
  }
  const bytes = encodeCanonical(m);
  // The encoder never produces what the decoder refuses: a wrong receipt is the hub's bug, said here.
  decodeReceiptPayload(bytes);
  return bytes;
}

export function decodeReceiptPayload(payload: Uint8Array): Receipt {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: RECEIPT_MAX_BYTES, maxDepth: 1 }), 'receipt', KNOWN);
  if (r.uint(0) !== RECEIPT_VERSION) throw new CborError('receipt: unsupported version');
  const outcome = r.oneOf(6, RECEIPT_OUTCOMES);
  const openedAt = r.time(4);
  const receipt: Receipt = {
    hubId: r.text(1, 64),
    grantId: r.bytes(2, GRANT_ID_BYTES),
    visitId: r.bytes(3, VISIT_ID_BYTES),
    openedAt,
    decidedAt: r.time(5),
    outcome,
    ...(r.has(7) ? { relockedAt: r.time(7) } : {}),
    bolt: r.oneOf(8, BOLT_STATES),
    door: r.oneOf(9, DOOR_STATES),
    ...clipPart(r),
    auditSeq: r.uint(13),
  };
  if (receipt.decidedAt < openedAt) throw new CborError('receipt: decidedAt is before openedAt');
  if ((outcome === 'locked') !== (receipt.relockedAt !== undefined)) throw new CborError('receipt: relockedAt goes with the outcome "locked" and only with it');
  if (receipt.relockedAt !== undefined && receipt.relockedAt < openedAt) throw new CborError('receipt: relockedAt is before openedAt');
  // "Locked" is the lock's own word: a receipt that says so with the bolt reading otherwise is a lie.
  if (outcome === 'locked' && receipt.bolt !== 'locked') throw new CborError('receipt: outcome "locked" with the bolt not locked');
  return receipt;
}

function clipPart(r: FieldReader): { clip?: ReceiptClip } {
  const any = r.has(10) || r.has(11) || r.has(12);
  if (!any) return {};
  return { clip: { id: r.text(10, 64), sha256: r.bytes(11, 32), bytes: r.uint(12) } };
}
