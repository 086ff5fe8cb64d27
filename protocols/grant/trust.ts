/**
 * The key chain (DESIGN.md, "Trust and tokens"): a root key pinned at provisioning signs a Keyring
 * of issuer certificates; issuers sign grants and signed times; the root signs revocation lists.
 * Keyring and revocation list carry a version that only grows: the hub refuses a version lower than
 * or equal to the one it holds (rollback protection, as TUF's root and targets metadata do).
 *
 * IssuerCertificate (a map inside the keyring, certified by the root's keyring signature)
 *   0 kid text ≤ 64 · 1 publicKey bytes 32 · 2 notBefore uint ms · 3 notAfter uint ms ·
 *   4 kinds [GrantKind] 1..4, no repeats
 * Keyring, signed by the root under `keyhub/keyring/v1`
 *   0 v = 1 · 1 version uint ≥ 1 · 2 issuedAt uint ms · 3 issuers [IssuerCertificate] 1..32, kids unique
 * RevocationList, signed by the root under `keyhub/revocations/v1`
 *   0 v = 1 · 1 version uint ≥ 1 · 2 issuedAt uint ms · 3 grantIds [bytes 16] 0..2048 · 4 kids [text] 0..64
 * SignedTime, signed by an issuer under `keyhub/time/v1`
 *   0 v = 1 · 1 kid text ≤ 64 · 2 time
 * RootTime, signed by the root under `keyhub/root-time/v1`: re-anchors one hub's clock floor, up or
 * down (README, "Security model: the clock floor"); its version only grows, per hub, so a captured
 * one cannot be played again to pull the floor back
 *   0 v = 1 · 1 version uint ≥ 1 · 2 hubId text ≤ 64 · 3 time
 * Times are ms since the epoch, at most MAX_TIME_MS (protocols/cbor/fields.ts).
 */
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';
import { FieldReader, bytesItem, knownFields, textItem } from '../cbor/fields.js';
import { GRANT_ID_BYTES, GRANT_KINDS, type GrantKind } from './grant.js';

export const KEYRING_MAX_BYTES = 16 * 1024;
export const REVOCATIONS_MAX_BYTES = 64 * 1024;
export const SIGNED_TIME_MAX_BYTES = 256;
const KEYRING_FIELDS = knownFields(0, 1, 2, 3);
const CERTIFICATE_FIELDS = knownFields(0, 1, 2, 3, 4);
const REVOCATIONS_FIELDS = knownFields(0, 1, 2, 3, 4);
const SIGNED_TIME_FIELDS = knownFields(0, 1, 2);
const ROOT_TIME_FIELDS = knownFields(0, 1, 2, 3);

export interface IssuerCertificate {
  readonly kid: string;
  readonly publicKey: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly kinds: readonly GrantKind[];
}

export interface Keyring {
  readonly version: number;
  readonly issuedAt: number;
  readonly issuers: readonly IssuerCertificate[];
}

export interface RevocationList {
  readonly version: number;
  readonly issuedAt: number;
  readonly grantIds: readonly Uint8Array[];
  readonly kids: readonly string[];
}

export interface SignedTime {
  readonly kid: string;
  readonly time: number;
}

export interface RootTime {
  readonly version: number;
  readonly hubId: string;
  readonly time: number;
}

export function encodeKeyringPayload(k: Keyring): Uint8Array {
  const issuers = k.issuers.map(
    (c) =>
      new Map<number, CborValue>([
        [0, c.kid],
        [1, c.publicKey],
        [2, c.notBefore],
        [3, c.notAfter],
        [4, [...c.kinds]],
      ]),
  );
  const bytes = encodeCanonical(new Map<number, CborValue>([[0, 1], [1, k.version], [2, k.issuedAt], [3, issuers]]));
  decodeKeyringPayload(bytes);
  return bytes;
}

export function decodeKeyringPayload(payload: Uint8Array): Keyring {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: KEYRING_MAX_BYTES, maxDepth: 4 }), 'keyring', KEYRING_FIELDS);
  if (r.uint(0) !== 1) throw new CborError('keyring: unsupported version');
  const keyring: Keyring = { version: r.int(1, 1, Number.MAX_SAFE_INTEGER), issuedAt: r.time(2), issuers: r.array(3, 1, 32, readCertificate) };
  if (new Set(keyring.issuers.map((c) => c.kid)).size !== keyring.issuers.length) throw new CborError('keyring: kids repeat');
  return keyring;
}

function readCertificate(v: CborValue, i: number): IssuerCertificate {
  const r = new FieldReader(v, `keyring issuers[${i}]`, CERTIFICATE_FIELDS);
  const kinds = r.array(4, 1, GRANT_KINDS.length, (k, j) => {
    if (typeof k !== 'string' || !(GRANT_KINDS as readonly string[]).includes(k)) throw new CborError(`keyring issuers[${i}].kinds[${j}] is not a grant kind`);
    return k as GrantKind;
  });
  if (new Set(kinds).size !== kinds.length) throw new CborError(`keyring issuers[${i}]: kinds repeat`);
  const cert: IssuerCertificate = { kid: r.text(0, 64), publicKey: r.bytes(1, 32), notBefore: r.time(2), notAfter: r.time(3), kinds };
  if (cert.notAfter <= cert.notBefore) throw new CborError(`keyring issuers[${i}]: notAfter must be after notBefore`);
  return cert;
}

export function encodeRevocationsPayload(l: RevocationList): Uint8Array {
  const bytes = encodeCanonical(
    new Map<number, CborValue>([
      [0, 1],
      [1, l.version],
      [2, l.issuedAt],
      [3, [...l.grantIds]],
      [4, [...l.kids]],
    ]),
  );
  decodeRevocationsPayload(bytes);
  return bytes;
}

export function decodeRevocationsPayload(payload: Uint8Array): RevocationList {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: REVOCATIONS_MAX_BYTES, maxDepth: 2 }), 'revocations', REVOCATIONS_FIELDS);
  if (r.uint(0) !== 1) throw new CborError('revocations: unsupported version');
  return {
    version: r.int(1, 1, Number.MAX_SAFE_INTEGER),
    issuedAt: r.time(2),
    grantIds: r.array(3, 0, 2048, bytesItem('revocations grantIds', GRANT_ID_BYTES)),
    kids: r.array(4, 0, 64, textItem('revocations kids', 64)),
  };
}

export function encodeSignedTimePayload(t: SignedTime): Uint8Array {
  const bytes = encodeCanonical(new Map<number, CborValue>([[0, 1], [1, t.kid], [2, t.time]]));
  decodeSignedTimePayload(bytes);
  return bytes;
}

export function decodeSignedTimePayload(payload: Uint8Array): SignedTime {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: SIGNED_TIME_MAX_BYTES, maxDepth: 1 }), 'signed time', SIGNED_TIME_FIELDS);
  if (r.uint(0) !== 1) throw new CborError('signed time: unsupported version');
  return { kid: r.text(1, 64), time: r.time(2) };
}

export function encodeRootTimePayload(t: RootTime): Uint8Array {
  const bytes = encodeCanonical(new Map<number, CborValue>([[0, 1], [1, t.version], [2, t.hubId], [3, t.time]]));
  decodeRootTimePayload(bytes);
  return bytes;
}

export function decodeRootTimePayload(payload: Uint8Array): RootTime {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: SIGNED_TIME_MAX_BYTES, maxDepth: 1 }), 'root time', ROOT_TIME_FIELDS);
  if (r.uint(0) !== 1) throw new CborError('root time: unsupported version');
  return { version: r.int(1, 1, Number.MAX_SAFE_INTEGER), hubId: r.text(2, 64), time: r.time(3) };
}
