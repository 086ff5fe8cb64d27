/**
 * The BLE lock protocol's frame: the unit the hub and the lock exchange over the GATT
 * characteristics, before fragmentation (fragment.ts) to the link's ATT MTU.
 *
 *   offset  size  field
 *   0       1     version (FRAME_VERSION)
 *   1       1     type (FrameType)
 *   2       2     payload length, little-endian (Bluetooth Core Spec byte order)
 *   4       n     payload
 *   4+n     2     CRC-16/CCITT-FALSE over bytes 0..4+n, little-endian
 *
 * The CRC catches transport corruption only; authenticity comes from crypto_box (channel.ts).
 */
import { crc16 } from './crc16.js';

export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 4;
export const FRAME_CRC_BYTES = 2;
/** Largest payload either side accepts: bounds memory per link (a codes list fits easily). */
export const MAX_PAYLOAD_BYTES = 1024;
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_PAYLOAD_BYTES + FRAME_CRC_BYTES;

export enum FrameType {
  /** Hub → lock, plaintext: the hub's Curve25519 public key (pairing step 1). */
  PAIR_HELLO = 0x01,
  /** Lock → hub, plaintext: the lock's public key and a pairing challenge (pairing step 2). */
  PAIR_KEY = 0x02,
  /** Either way: authorization id, nonce and crypto_box ciphertext of a message (messages.ts). */
  SEALED = 0x03,
  /** Lock → hub, plaintext: an error the lock cannot seal (unknown authorization, bad frame). */
  PLAIN_ERROR = 0x04,
}

export interface Frame {
  type: FrameType;
  payload: Uint8Array;
}

export type FrameError = 'short' | 'version' | 'type' | 'length' | 'crc';
export type FrameResult = { ok: true; frame: Frame } | { ok: false; error: FrameError };

const TYPES: ReadonlySet<number> = new Set([FrameType.PAIR_HELLO, FrameType.PAIR_KEY, FrameType.SEALED, FrameType.PLAIN_ERROR]);

export function encodeFrame(type: FrameType, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`frame payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length + FRAME_CRC_BYTES);
  const view = new DataView(out.buffer);
  out[0] = FRAME_VERSION;
  out[1] = type;
  view.setUint16(2, payload.length, true);
  out.set(payload, FRAME_HEADER_BYTES);
  const end = FRAME_HEADER_BYTES + payload.length;
  view.setUint16(end, crc16(out, end), true);
  return out;
}

/** Parses exactly one frame; any trailing or missing byte is an error. Never throws. */
export function decodeFrame(bytes: Uint8Array): FrameResult {
  if (bytes.length < FRAME_HEADER_BYTES + FRAME_CRC_BYTES) return { ok: false, error: 'short' };
  if (bytes.length > MAX_FRAME_BYTES) return { ok: false, error: 'length' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(2, true);
  if (FRAME_HEADER_BYTES + length + FRAME_CRC_BYTES !== bytes.length) return { ok: false, error: 'length' };
  const end = FRAME_HEADER_BYTES + length;
  // The CRC comes first: a corrupted version or type byte is a transport error, not a protocol one.
  if (view.getUint16(end, true) !== crc16(bytes, end)) return { ok: false, error: 'crc' };
  if (bytes[0] !== FRAME_VERSION) return { ok: false, error: 'version' };
  const type = bytes[1] ?? 0;
  if (!TYPES.has(type)) return { ok: false, error: 'type' };
  return { ok: true, frame: { type: type as FrameType, payload: bytes.slice(FRAME_HEADER_BYTES, end) } };
}
