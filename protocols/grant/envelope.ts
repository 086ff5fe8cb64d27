/**
 * A signed message: the canonical CBOR array [payload, signature], where payload is a byte string
 * holding the message's own canonical CBOR encoding. As in COSE_Sign1 (RFC 9052 §4.2), the payload
 * is signed as the exact bytes carried, so the verifier never re-encodes anything.
 *
 * The signature covers a domain-separation prefix, `domain || 0x00 || payload`, so that a signature
 * made for one kind of message (a grant) can never verify as another (a receipt, a keyring).
 */
import { CborError, decodeCanonical, encodeCanonical } from '../cbor/canonical.js';
import { SIGNATURE_BYTES, signBytes, verifyBytes, type Signer } from './ed25519.js';
import type { KeyObject } from 'node:crypto';

/**
 * One prefix per kind of signed message (domain separation): a signature made for one kind never
 * verifies as another.
 */
export const Domain = {
  grant: 'keyhub/grant/v1',
  presentation: 'keyhub/presentation/v1',
  receipt: 'keyhub/receipt/v1',
  keyring: 'keyhub/keyring/v1',
  revocations: 'keyhub/revocations/v1',
  time: 'keyhub/time/v1',
  /** The root's own time, which may move a hub's clock floor down (trust.ts, RootTime). */
  rootTime: 'keyhub/root-time/v1',
  /** Cloud → hub commands (protocols/grant/command.ts). */
  command: 'keyhub/command/v1',
} as const;
export type Domain = (typeof Domain)[keyof typeof Domain];

const ascii = new TextEncoder();
const PREFIXES = new Map<string, Uint8Array>(Object.values(Domain).map((d) => [d, Uint8Array.from([...ascii.encode(d), 0])]));

export function signingInput(domain: Domain, payload: Uint8Array): Uint8Array {
  const prefix = PREFIXES.get(domain) as Uint8Array;
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

export interface Envelope {
  /** The canonical CBOR encoding of the message body, exactly as signed. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

export function seal(domain: Domain, payload: Uint8Array, key: Signer): Uint8Array {
  return encodeCanonical([payload, signBytes(key, signingInput(domain, payload))]);
}

/** Splits a signed message; throws CborError unless it is exactly [bytes, 64 bytes], canonically. */
export function openEnvelope(bytes: Uint8Array, maxBytes: number): Envelope {
  // Views, not copies: the payload is decoded (and its fields copied) by the message decoder.
  const value = decodeCanonical(bytes, { maxBytes, maxDepth: 1, byteViews: true });
  if (!Array.isArray(value) || value.length !== 2) throw new CborError('a signed message is an array of [payload, signature]');
  const [payload, signature] = value as unknown[];
  if (!(payload instanceof Uint8Array)) throw new CborError('payload must be a byte string');
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    throw new CborError(`signature must be ${SIGNATURE_BYTES} bytes`);
  }
  return { payload, signature };
}

export function verifyEnvelope(domain: Domain, envelope: Envelope, publicKey: KeyObject): boolean {
  return verifyBytes(publicKey, signingInput(domain, envelope.payload), envelope.signature);
}
