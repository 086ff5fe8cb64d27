import { RtspProtocolError } from './errors.js';
import { NalType } from './h264.js';

/**
 * H.264 over RTP (RFC 6184) as a sender, the simulated camera's half of the rules the hub's
 * depacketizer (h264-depacketizer.ts) reads: FU-A fragments (§5.8) and STAP-A aggregates (§5.7.1).
 */
/** RTP payloads for one NAL unit: itself if it fits in `mtu`, else FU-A fragments (RFC 6184 §5.8). */
export function packetizeNal(nal: Uint8Array, mtu: number): Uint8Array[] {
  if (nal.length <= mtu) return [nal];
  if (mtu < 3) throw new RtspProtocolError('malformed', `mtu ${mtu} too small for FU-A`);
  const header = nal[0] as number;
  const indicator = (header & 0xe0) | NalType.FU_A;
  const type = header & 0x1f;
  const out: Uint8Array[] = [];
  const step = mtu - 2;
  for (let o = 1; o < nal.length; o += step) {
    const chunk = nal.subarray(o, Math.min(nal.length, o + step));
    const start = o === 1 ? 0x80 : 0;
    const end = o + step >= nal.length ? 0x40 : 0;
    const payload = new Uint8Array(2 + chunk.length);
    payload[0] = indicator;
    payload[1] = start | end | type;
    payload.set(chunk, 2);
    out.push(payload);
  }
  return out;
}

/** One STAP-A payload aggregating small NAL units (RFC 6184 §5.7.1), e.g. SPS + PPS. */
export function stapA(nalus: readonly Uint8Array[]): Uint8Array {
  const nri = nalus.reduce((m, n) => Math.max(m, (n[0] ?? 0) & 0x60), 0);
  const total = 1 + nalus.reduce((s, n) => s + 2 + n.length, 0);
  const out = new Uint8Array(total);
  out[0] = nri | NalType.STAP_A;
  let o = 1;
  for (const n of nalus) {
    out[o++] = n.length >> 8;
    out[o++] = n.length & 0xff;
    out.set(n, o);
    o += n.length;
  }
  return out;
}
