/**
 * Payloads of the frame types (frame.ts):
 *   PAIR_HELLO   hub public key (32)
 *   PAIR_KEY     lock public key (32) · pairing challenge (32)
 *   SEALED       authorization id u32 LE (0 while pairing) · nonce (24) · crypto_box ciphertext
 *   PLAIN_ERROR  WireError (1)
 */
import { ByteReader, ByteWriter, ShortRead } from './bytes.js';
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES } from './channel.js';
import { FrameType, encodeFrame, type Frame } from './frame.js';
import { CHALLENGE_BYTES, type WireError } from './messages.js';

export interface SealedPayload {
  authId: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

export function sealedFrame(p: SealedPayload): Uint8Array {
  return encodeFrame(FrameType.SEALED, new ByteWriter().u32(p.authId).bytes(p.nonce).bytes(p.ciphertext).done());
}

export function parseSealed(frame: Frame): SealedPayload | undefined {
  if (frame.type !== FrameType.SEALED || frame.payload.length < 4 + NONCE_BYTES + MAC_BYTES) return undefined;
  const r = new ByteReader(frame.payload);
  return { authId: r.u32(), nonce: r.take(NONCE_BYTES), ciphertext: r.rest() };
}

export function pairHelloFrame(hubPublicKey: Uint8Array): Uint8Array {
  if (hubPublicKey.length !== KEY_BYTES) throw new RangeError('a Curve25519 public key is 32 bytes');
  return encodeFrame(FrameType.PAIR_HELLO, hubPublicKey);
}

export function parsePairHello(frame: Frame): Uint8Array | undefined {
  return frame.type === FrameType.PAIR_HELLO && frame.payload.length === KEY_BYTES ? frame.payload : undefined;
}

export function pairKeyFrame(lockPublicKey: Uint8Array, challenge: Uint8Array): Uint8Array {
  return encodeFrame(FrameType.PAIR_KEY, new ByteWriter().bytes(lockPublicKey).bytes(challenge).done());
}

export function parsePairKey(frame: Frame): { lockPublicKey: Uint8Array; challenge: Uint8Array } | undefined {
  if (frame.type !== FrameType.PAIR_KEY || frame.payload.length !== KEY_BYTES + CHALLENGE_BYTES) return undefined;
  try {
    const r = new ByteReader(frame.payload);
    return { lockPublicKey: r.take(KEY_BYTES), challenge: r.take(CHALLENGE_BYTES) };
  } catch (err) {
    if (err instanceof ShortRead) return undefined;
    throw err;
  }
}

export function plainErrorFrame(error: WireError): Uint8Array {
  return encodeFrame(FrameType.PLAIN_ERROR, Uint8Array.of(error));
}

export function parsePlainError(frame: Frame): number | undefined {
  return frame.type === FrameType.PLAIN_ERROR && frame.payload.length === 1 ? frame.payload[0] : undefined;
}
