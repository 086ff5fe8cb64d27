/**
 * The relock receipt: the hub signs, under `keyhub/receipt/v1`, what happened to a grant's visit.
 * The courier's handheld will not start its next stop without one (DESIGN.md, step 6).
 *
 *  key  field        type                                  rule
 *   0   v            uint                                  1
 *   1   hubId        text ≤ 64
 *   2   grantId      bytes 16
 *   3   openedAt     time (ms since epoch, ≤ MAX_TIME_MS)
 *   4   relockedAt   time                                  ≥ openedAt
 *   5   doorState    "closed" | "open" | "unknown"         at relock
 *   6   clipId       text ≤ 64                             optional: absent when no clip exists
 *   7   auditSeq     uint                                  the audit event recording the relock
 */
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';
import { FieldReader, knownFields } from '../cbor/fields.js';
import { GRANT_ID_BYTES } from './grant.js';

export const RECEIPT_MAX_BYTES = 512;
const KNOWN = knownFields(0, 1, 2, 3, 4, 5, 6, 7);
export const DOOR_STATES = ['closed', 'open', 'unknown'] as const;
export type DoorState = (typeof DOOR_STATES)[number];

export interface Receipt {
  readonly hubId: string;
  readonly grantId: Uint8Array;
  readonly openedAt: number;
  readonly relockedAt: number;
  readonly doorState: DoorState;
  readonly clipId?: string;
  readonly auditSeq: number;
}

export function encodeReceiptPayload(r: Receipt): Uint8Array {
  const m = new Map<number, CborValue>([
    [0, 1],
    [1, r.hubId],
    [2, r.grantId],
    [3, r.openedAt],
    [4, r.relockedAt],
    [5, r.doorState],
    [7, r.auditSeq],
  ]);
  if (r.clipId !== undefined) m.set(6, r.clipId);
  const bytes = encodeCanonical(m);
  decodeReceiptPayload(bytes);
  return bytes;
}

export function decodeReceiptPayload(payload: Uint8Array): Receipt {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: RECEIPT_MAX_BYTES, maxDepth: 1 }), 'receipt', KNOWN);
  if (r.uint(0) !== 1) throw new CborError('receipt: unsupported version');
  const receipt: Receipt = {
    hubId: r.text(1, 64),
    grantId: r.bytes(2, GRANT_ID_BYTES),
    openedAt: r.time(3),
    relockedAt: r.time(4),
    doorState: r.oneOf(5, DOOR_STATES),
    ...(r.has(6) ? { clipId: r.text(6, 64) } : {}),
    auditSeq: r.uint(7),
  };
  if (receipt.relockedAt < receipt.openedAt) throw new CborError('receipt: relockedAt is before openedAt');
  return receipt;
}
