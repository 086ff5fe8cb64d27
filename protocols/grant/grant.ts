/**
 * The grant: one issuer's signed permission for one subject to open one lock of one hub, in a time
 * window, a bounded number of times (DESIGN.md, "Trust and tokens"). Encoded as a canonical CBOR
 * map with integer keys (the table below), wrapped in a signed envelope under `keyhub/grant/v1`.
 *
 *  key  field            type                              rule
 *   0   v                uint                              1
 *   1   kid              text ≤ 64                         issuer key id (certificate in the keyring)
 *   2   id               bytes 16                          random; the replay key
 *   3   hubId            text ≤ 64
 *   4   lockId           text ≤ 64
 *   5   kind             "delivery"|"guest"|"service"|"owner"
 *   6   subjectId        text ≤ 64                         courier / guest account, for people
 *   7   subjectKey       bytes 32                          Ed25519 key that signs presentations (the
 *                                                          hub refuses one of small order: point-check.ts)
 *   8   notBefore        time                              ms since epoch, ≤ MAX_TIME_MS (fields.ts)
 *   9   notAfter         time                              > notBefore
 *  10   maxEntryMs       uint ≤ 3,600,000                  door open → relock budget
 *  11   uses             uint 1..1000                      1 for a delivery
 *  12   issuedAt         time                              ≤ the hub's clock + skew; an allowed grant raises
 *                                                          the clock floor to it (README, "Security model")
 *  13   orderId          text ≤ 64                         delivery only, required
 *  14   packageIds       [text ≤ 64] 1..32                 delivery only, required
 *  15   addressDigest    bytes 32                          delivery only, required (SHA-256 of the address)
 *  16   weekly           [[isoDay 1..7, startMin, endMin]] guest/service only, with 17
 *  17   tz               text ≤ 64 (IANA zone name)        guest/service only, with 16
 */
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';
import { FieldReader, knownFields, textItem } from '../cbor/fields.js';

export const GRANT_MAX_BYTES = 1024;
export const GRANT_ID_BYTES = 16;
export const GRANT_KINDS = ['delivery', 'guest', 'service', 'owner'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];
export const MAX_ENTRY_MS = 3_600_000;
const ID_MAX = 64;

/** A local weekly window: ISO weekday (1 = Monday), minutes after local midnight [start, end). */
export interface WeeklyWindow {
  readonly day: number;
  readonly startMin: number;
  readonly endMin: number;
}

export interface Grant {
  readonly kid: string;
  readonly id: Uint8Array;
  readonly hubId: string;
  readonly lockId: string;
  readonly kind: GrantKind;
  readonly subjectId: string;
  readonly subjectKey: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly maxEntryMs: number;
  readonly uses: number;
  readonly issuedAt: number;
  readonly delivery?: { readonly orderId: string; readonly packageIds: readonly string[]; readonly addressDigest: Uint8Array };
  readonly recurring?: { readonly weekly: readonly WeeklyWindow[]; readonly tz: string };
}

const KNOWN = knownFields(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17);

export function encodeGrantPayload(g: Grant): Uint8Array {
  const m = new Map<number, CborValue>([
    [0, 1],
    [1, g.kid],
    [2, g.id],
    [3, g.hubId],
    [4, g.lockId],
    [5, g.kind],
    [6, g.subjectId],
    [7, g.subjectKey],
    [8, g.notBefore],
    [9, g.notAfter],
    [10, g.maxEntryMs],
    [11, g.uses],
    [12, g.issuedAt],
  ]);
  if (g.delivery !== undefined) {
    m.set(13, g.delivery.orderId);
    m.set(14, [...g.delivery.packageIds]);
    m.set(15, g.delivery.addressDigest);
  }
  if (g.recurring !== undefined) {
    m.set(16, g.recurring.weekly.map((w) => [w.day, w.startMin, w.endMin]));
    m.set(17, g.recurring.tz);
  }
  const bytes = encodeCanonical(m);
  // The encoder must never produce what the decoder refuses: a grant that breaks a rule is a bug
  // at the issuer, reported there rather than at the door.
  decodeGrantPayload(bytes);
  return bytes;
}

/** Decodes and checks a grant payload; throws CborError naming the first problem. */
export function decodeGrantPayload(payload: Uint8Array): Grant {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: GRANT_MAX_BYTES, maxDepth: 3 }), 'grant', KNOWN);
  if (r.uint(0) !== 1) throw new CborError('grant: unsupported version');
  const kind = r.oneOf(5, GRANT_KINDS);
  const grant: Grant = {
    kid: r.text(1, ID_MAX),
    id: r.bytes(2, GRANT_ID_BYTES),
    hubId: r.text(3, ID_MAX),
    lockId: r.text(4, ID_MAX),
    kind,
    subjectId: r.text(6, ID_MAX),
    subjectKey: r.bytes(7, 32),
    notBefore: r.time(8),
    notAfter: r.time(9),
    maxEntryMs: r.uint(10, MAX_ENTRY_MS),
    uses: r.int(11, 1, 1000),
    issuedAt: r.time(12),
    ...deliveryPart(r, kind),
    ...recurringPart(r, kind),
  };
  if (grant.notAfter <= grant.notBefore) throw new CborError('grant: notAfter must be after notBefore');
  if (kind === 'delivery' && grant.uses !== 1) throw new CborError('grant: a delivery grant has exactly one use');
  return grant;
}

function deliveryPart(r: FieldReader, kind: GrantKind): Pick<Grant, 'delivery'> {
  const present = r.has(13) || r.has(14) || r.has(15);
  if (kind !== 'delivery') {
    if (present) throw new CborError(`grant: order fields are for deliveries, not ${kind}`);
    return {};
  }
  const packageIds = r.array(14, 1, 32, textItem('grant packageIds', ID_MAX));
  if (new Set(packageIds).size !== packageIds.length) throw new CborError('grant: packageIds repeat');
  return { delivery: { orderId: r.text(13, ID_MAX), packageIds, addressDigest: r.bytes(15, 32) } };
}

function recurringPart(r: FieldReader, kind: GrantKind): Pick<Grant, 'recurring'> {
  if (!r.has(16) && !r.has(17)) return {};
  if (kind !== 'guest' && kind !== 'service') throw new CborError(`grant: weekly windows are for guests and service, not ${kind}`);
  const weekly = r.array(16, 1, 28, readWindow);
  return { recurring: { weekly, tz: r.text(17, ID_MAX) } };
}

function readWindow(v: CborValue, i: number): WeeklyWindow {
  const bad = (): CborError => new CborError(`grant weekly[${i}] must be [isoDay 1..7, startMin 0..1439, endMin start+1..1440]`);
  if (!Array.isArray(v) || v.length !== 3) throw bad();
  const [day, startMin, endMin] = v as CborValue[];
  if (typeof day !== 'number' || typeof startMin !== 'number' || typeof endMin !== 'number') throw bad();
  if (day < 1 || day > 7 || startMin < 0 || endMin > 1440 || endMin <= startMin) throw bad();
  return { day, startMin, endMin };
}
