import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Writer } from './canonical.js';
import { HASH_BYTES } from './chain.js';

/**
 * A checkpoint: the hub's Ed25519 signature (RFC 8032, pure Ed25519) over
 *   DOMAIN || canonical({ v, hubId, seq, headHash, wallMs })
 * "at seq N the chain's head hash was H". Anyone holding the hub's public key can then check that
 * every entry up to N is the one the hub wrote, offline; the domain prefix keeps a checkpoint
 * signature from being valid as any other message the hub signs (receipts, replies).
 */
export const CHECKPOINT_DOMAIN = new TextEncoder().encode('keyhub/audit-checkpoint/v1\0');
export const CHECKPOINT_VERSION = 1;
export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;

export interface CheckpointClaim {
  hubId: string;
  seq: number;
  headHash: Uint8Array;
  wallMs: number;
}

export interface Checkpoint extends CheckpointClaim {
  signature: Uint8Array;
}

export function checkpointMessage(claim: CheckpointClaim): Uint8Array {
  if (claim.headHash.length !== HASH_BYTES) throw new RangeError(`head hash must be ${HASH_BYTES} bytes`);
  if (!Number.isSafeInteger(claim.seq) || claim.seq < 0 || !Number.isSafeInteger(claim.wallMs) || claim.wallMs < 0) {
    throw new RangeError('checkpoint seq and wallMs must be non-negative safe integers');
  }
  // The same bytes as canonicalEncode({ v, hubId, seq, headHash, wallMs }) (the unit test holds
  // them equal), written directly: the general encoder takes a byte string (headHash) to the
  // library path, which cost more than the signature itself. Keys in RFC 8949 §4.2.1 order:
  // shorter first, then bytewise.
  const w = new Writer();
  w.raw(CHECKPOINT_DOMAIN);
  w.mapHeader(5);
  w.text('v');
  w.value(CHECKPOINT_VERSION);
  w.text('seq');
  w.value(claim.seq);
  w.text('hubId');
  w.text(claim.hubId);
  w.text('wallMs');
  w.value(claim.wallMs);
  w.text('headHash');
  w.bytes(claim.headHash);
  return w.finish();
}

export function signCheckpoint(claim: CheckpointClaim, privateKey: KeyObject): Checkpoint {
  return { ...claim, signature: new Uint8Array(sign(null, checkpointMessage(claim), privateKey)) };
}

export function verifyCheckpoint(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  if (checkpoint.signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, checkpointMessage(checkpoint), publicKey, checkpoint.signature);
  } catch {
    return false;
  }
}

/** An Ed25519 public key from its 32 raw bytes (RFC 8032 §5.1.5 encoding), via JWK (RFC 8037). */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new RangeError(`an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** The 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new RangeError('not an Ed25519 key');
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}
