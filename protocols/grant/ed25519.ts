/**
 * Ed25519 (RFC 8032) through node:crypto, i.e. OpenSSL: the fast path the hub verifies with.
 * Keys travel as raw 32-byte values (RFC 8032 §5.1.5 public keys, §5.1.6 seeds); node:crypto wants
 * DER, so the fixed ASN.1 prefixes of RFC 8410 (SubjectPublicKeyInfo and PKCS#8 for id-Ed25519,
 * OID 1.3.101.112) are put in front. KeyObjects are made once per key and reused.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }. */
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
/** RFC 8410 §7: PKCS#8 OneAsymmetricKey with the 32-byte seed as CurvePrivateKey. */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** A private signing key: the RFC 8032 seed, its public key, and the KeyObject made from the seed. */
export interface SigningKey {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new RangeError(`an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== SEED_BYTES) throw new RangeError(`an Ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { seed: Uint8Array.from(seed), publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)), privateKey };
}

export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return signingKeyFromSeed(new Uint8Array(pkcs8.subarray(PKCS8_PREFIX.length)));
}

/** Any holder of a private KeyObject signs: a SigningKey, or a key kept elsewhere (the hub's own). */
export type Signer = Pick<SigningKey, 'privateKey'>;

export function signBytes(key: Signer, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, key.privateKey));
}

/** True only for a valid signature; a malformed signature is simply not valid. */
export function verifyBytes(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  return verify(null, message, publicKey, signature);
}
