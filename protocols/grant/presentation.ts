/**
 * The presentation: the subject (courier, guest) proves it holds the grant's key *now* by signing
 * the hub's fresh challenge, under `keyhub/presentation/v1` (DESIGN.md, "Trust and tokens").
 *
 *  key  field        type                        rule
 *   0   v            uint                        1
 *   1   grantId      bytes 16                    the grant being presented
 *   2   challenge    bytes 32                    the hub's nonce, single use
 *   3   transport    "ble" | "cloud"             how it reached the hub
 *   4   time         time (ms, ≤ MAX_TIME_MS)    the handheld's clock, for the audit log only
 *   5   packages     [text ≤ 64] 0..32           package ids scanned at the door (deliveries)
 *   6   position     [latE7, lonE7, accuracyM]   cloud path only: WGS 84 in 1e-7 degrees, metres
 *
 * Positions are integers (1e-7 degree, as GNSS receivers report them) because the encoding has no
 * floats: one value, one byte form.
 */
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';
import { FieldReader, knownFields, textItem } from '../cbor/fields.js';
import { GRANT_ID_BYTES } from './grant.js';

export const PRESENTATION_MAX_BYTES = 1024;
export const CHALLENGE_BYTES = 32;
export const TRANSPORTS = ['ble', 'cloud'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface Position {
  readonly latE7: number;
  readonly lonE7: number;
  readonly accuracyM: number;
}

export interface Presentation {
  readonly grantId: Uint8Array;
  readonly challenge: Uint8Array;
  readonly transport: Transport;
  readonly time: number;
  readonly packages: readonly string[];
  readonly position?: Position;
}

/** What the decoder returns: a cloud presentation always carries its position, a BLE one never. */
export type DecodedPresentation = (Presentation & { readonly transport: 'ble'; readonly position?: undefined }) | (Presentation & { readonly transport: 'cloud'; readonly position: Position });

const KNOWN = knownFields(0, 1, 2, 3, 4, 5, 6);

export function encodePresentationPayload(p: Presentation): Uint8Array {
  const m = new Map<number, CborValue>([
    [0, 1],
    [1, p.grantId],
    [2, p.challenge],
    [3, p.transport],
    [4, p.time],
    [5, [...p.packages]],
  ]);
  if (p.position !== undefined) m.set(6, [p.position.latE7, p.position.lonE7, p.position.accuracyM]);
  const bytes = encodeCanonical(m);
  decodePresentationPayload(bytes);
  return bytes;
}

export function decodePresentationPayload(payload: Uint8Array): DecodedPresentation {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: PRESENTATION_MAX_BYTES, maxDepth: 2 }), 'presentation', KNOWN);
  if (r.uint(0) !== 1) throw new CborError('presentation: unsupported version');
  const transport = r.oneOf(3, TRANSPORTS);
  const base = {
    grantId: r.bytes(1, GRANT_ID_BYTES),
    challenge: r.bytes(2, CHALLENGE_BYTES),
    transport,
    time: r.time(4),
    packages: r.array(5, 0, 32, textItem('presentation packages', 64)),
  };
  if (transport === 'ble') {
    if (r.has(6)) throw new CborError('presentation: a position is only sent on the cloud path');
    return { ...base, transport };
  }
  return { ...base, transport, position: readPosition(r.raw(6)) };
}

function readPosition(v: CborValue): Position {
  const bad = new CborError('presentation: position must be [latE7 ±900000000, lonE7 ±1800000000, accuracyM 0..100000]');
  if (!Array.isArray(v) || v.length !== 3) throw bad;
  const [latE7, lonE7, accuracyM] = v as CborValue[];
  if (typeof latE7 !== 'number' || typeof lonE7 !== 'number' || typeof accuracyM !== 'number') throw bad;
  if (Math.abs(latE7) > 900_000_000 || Math.abs(lonE7) > 1_800_000_000 || accuracyM < 0 || accuracyM > 100_000) throw bad;
  return { latE7, lonE7, accuracyM };
}
