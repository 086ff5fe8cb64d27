import { RtspProtocolError } from './errors.js';

/** An RTP data packet (RFC 3550 §5.1). `payload` excludes CSRCs, the header extension and padding. */
export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Uint8Array;
}

export function parseRtp(bytes: Uint8Array): RtpPacket {
  if (bytes.length < 12) throw new RtspProtocolError('malformed', `RTP packet of ${bytes.length} bytes (header is 12)`);
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  if (b0 >> 6 !== 2) throw new RtspProtocolError('malformed', `RTP version ${b0 >> 6} (RFC 3550 §5.1 requires 2)`);
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12 + 4 * csrcCount;
  if (extension) {
    // §5.3.1: 16-bit profile-defined field, 16-bit length in 32-bit words, then the extension.
    if (bytes.length < offset + 4) throw new RtspProtocolError('malformed', 'RTP header extension truncated');
    offset += 4 + 4 * view.getUint16(offset + 2);
  }
  let end = bytes.length;
  if (padding) {
    // §5.1: the last octet counts the padding octets, itself included.
    const pad = bytes[bytes.length - 1] as number;
    if (pad === 0) throw new RtspProtocolError('malformed', 'RTP padding count of zero');
    end -= pad;
  }
  if (offset > end) throw new RtspProtocolError('malformed', 'RTP header longer than the packet');
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: bytes.subarray(offset, end),
  };
}

export function serializeRtp(packet: RtpPacket): Uint8Array {
  const out = new Uint8Array(12 + packet.payload.length);
  const view = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f);
  view.setUint16(2, packet.sequence & 0xffff);
  view.setUint32(4, packet.timestamp >>> 0);
  view.setUint32(8, packet.ssrc >>> 0);
  out.set(packet.payload, 12);
  return out;
}

/**
 * Extends 32-bit RTP timestamps to a monotonic count across wraps (RFC 3550 §5.1: the field wraps
 * every 13.25 h at 90 kHz). A jump of less than half the range forward or back is taken as motion
 * from the last value, so a wrap comes out as +small, not −4 G.
 */
export class TimestampUnwrapper {
  #last: number | undefined;
  #extended = 0;

  unwrap(ts: number): number {
    if (this.#last === undefined) {
      this.#last = ts;
      this.#extended = ts;
      return ts;
    }
    let delta = (ts - this.#last) >>> 0;
    if (delta >= 0x80000000) delta -= 0x100000000;
    this.#last = ts;
    this.#extended += delta;
    return this.#extended;
  }
}

/** Signed distance from sequence number a to b modulo 2^16 (RFC 3550 §A.1 arithmetic). */
export function sequenceDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}
