import { RtspProtocolError } from './errors.js';

/**
 * RTCP packets (RFC 3550 §6): SR, RR, SDES, BYE read and written, others skipped. The statistics
 * behind a receiver's report blocks and the report interval are rtcp-reception.ts.
 */
export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204 } as const;

/** One reception report block (§6.4.1). */
export interface ReportBlock {
  /** The source this block is about (the camera's SSRC, from its RTP packets). */
  readonly ssrc: number;
  /** Lost since the previous report, as a fixed-point fraction of 256. */
  readonly fractionLost: number;
  /** Cumulative number lost, signed 24-bit (duplicates can make it negative). */
  readonly cumulativeLost: number;
  /** Cycles of the sequence number in the high 16 bits, the highest sequence received in the low. */
  readonly extendedHighestSeq: number;
  /** Interarrival jitter in timestamp units (§6.4.1, §A.8). */
  readonly jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR from this source, 0 if none. */
  readonly lsr: number;
  /** Delay since that SR arrived, in units of 1/65536 s; 0 if none. */
  readonly dlsr: number;
}

export interface SenderReport {
  readonly type: 'sr';
  readonly ssrc: number;
  /** NTP timestamp (§4): seconds since 1900 and the fraction, as two 32-bit words. */
  readonly ntpMsw: number;
  readonly ntpLsw: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  readonly reports: readonly ReportBlock[];
}

export interface ReceiverReport {
  readonly type: 'rr';
  readonly ssrc: number;
  readonly reports: readonly ReportBlock[];
}

export interface SourceDescription {
  readonly type: 'sdes';
  /** One chunk per source: its CNAME (§6.5.1), the only item every chunk must carry. */
  readonly chunks: ReadonlyArray<{ readonly ssrc: number; readonly cname: string | undefined }>;
}

export interface Goodbye {
  readonly type: 'bye';
  readonly ssrcs: readonly number[];
}

/** APP, and types this code does not know (XR, RTPFB, …): skipped cleanly, never an error. */
export interface OtherRtcp {
  readonly type: 'other';
  readonly packetType: number;
}

export type RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | OtherRtcp;

/** Middle 32 bits of an SR's NTP timestamp: what the next report's LSR field carries (§6.4.1). */
export function lsrOf(sr: Pick<SenderReport, 'ntpMsw' | 'ntpLsw'>): number {
  return (((sr.ntpMsw & 0xffff) << 16) | (sr.ntpLsw >>> 16)) >>> 0;
}

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970): RFC 868. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** An NTP timestamp (§4) of a Unix time in ms. */
export function ntpOf(unixMs: number): { ntpMsw: number; ntpLsw: number } {
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 0x1_0000_0000);
  return { ntpMsw: (seconds + NTP_UNIX_OFFSET_S) >>> 0, ntpLsw: fraction >>> 0 };
}

const u32 = (b: Uint8Array, at: number): number => (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;

/**
 * Reads a compound RTCP packet (§6.1) from bytes[start, end). Every packet must have version 2
 * and a length that fits; padding is allowed on the last one only (§A.2's validity checks). The
 * first packet need not be SR or RR: reduced-size RTCP (RFC 5506) is accepted. Throws
 * RtspProtocolError('malformed') otherwise.
 */
export function parseRtcp(bytes: Uint8Array, start = 0, end = bytes.length): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let o = start;
  if (end - start < 4) throw new RtspProtocolError('malformed', `RTCP packet of ${end - start} bytes`);
  while (o < end) {
    if (end - o < 4) throw new RtspProtocolError('malformed', 'RTCP compound packet ends inside a header');
    const b0 = bytes[o] as number;
    if (b0 >> 6 !== 2) throw new RtspProtocolError('malformed', `RTCP version ${b0 >> 6} (RFC 3550 §6.4.1 requires 2)`);
    const count = b0 & 0x1f;
    const packetType = bytes[o + 1] as number;
    const length = 4 * ((((bytes[o + 2] as number) << 8) | (bytes[o + 3] as number)) + 1);
    const next = o + length;
    if (next > end) throw new RtspProtocolError('malformed', `RTCP length ${length} past the end of the packet`);
    let bodyEnd = next;
    if (b0 & 0x20) {
      if (next !== end) throw new RtspProtocolError('malformed', 'RTCP padding before the last packet of a compound (RFC 3550 §A.2)');
      const pad = bytes[next - 1] as number;
      if (pad === 0 || pad > length - 4) throw new RtspProtocolError('malformed', `RTCP padding count ${pad}`);
      bodyEnd -= pad;
    }
    out.push(parseOne(bytes, o, bodyEnd, packetType, count));
    o = next;
  }
  return out;
}

function parseOne(b: Uint8Array, at: number, end: number, packetType: number, count: number): RtcpPacket {
  switch (packetType) {
    case RtcpType.SR: {
      // §6.4.1: header, SSRC of sender, 20 bytes of sender info, then `count` report blocks.
      need(at, end, 28 + 24 * count, 'SR');
      return { type: 'sr', ssrc: u32(b, at + 4), ntpMsw: u32(b, at + 8), ntpLsw: u32(b, at + 12), rtpTimestamp: u32(b, at + 16), packetCount: u32(b, at + 20), octetCount: u32(b, at + 24), reports: blocks(b, at + 28, count) };
    }
    case RtcpType.RR:
      need(at, end, 8 + 24 * count, 'RR');
      return { type: 'rr', ssrc: u32(b, at + 4), reports: blocks(b, at + 8, count) };
    case RtcpType.SDES:
      return { type: 'sdes', chunks: sdesChunks(b, at + 4, end, count) };
    case RtcpType.BYE: {
      need(at, end, 4 + 4 * count, 'BYE');
      return { type: 'bye', ssrcs: Array.from({ length: count }, (_, i) => u32(b, at + 4 + 4 * i)) };
    }
    default:
      return { type: 'other', packetType };
  }
}

function need(at: number, end: number, bytes: number, what: string): void {
  if (end - at < bytes) throw new RtspProtocolError('malformed', `RTCP ${what} of ${end - at} bytes needs ${bytes}`);
}

function blocks(b: Uint8Array, at: number, count: number): ReportBlock[] {
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + 24 * i;
    const lost24 = ((b[o + 5] as number) << 16) | ((b[o + 6] as number) << 8) | (b[o + 7] as number);
    out.push({
      ssrc: u32(b, o),
      fractionLost: b[o + 4] as number,
      cumulativeLost: lost24 & 0x80_0000 ? lost24 - 0x100_0000 : lost24,
      extendedHighestSeq: u32(b, o + 8),
      jitter: u32(b, o + 12),
      lsr: u32(b, o + 16),
      dlsr: u32(b, o + 20),
    });
  }
  return out;
}

/** §6.5: chunks of an SSRC and items (type, length, text) ending in a null item, each chunk padded to 32 bits. */
function sdesChunks(b: Uint8Array, at: number, end: number, count: number): Array<{ ssrc: number; cname: string | undefined }> {
  const out: Array<{ ssrc: number; cname: string | undefined }> = [];
  let o = at;
  for (let i = 0; i < count; i++) {
    if (end - o < 4) throw new RtspProtocolError('malformed', 'RTCP SDES chunk truncated');
    const ssrc = u32(b, o);
    o += 4;
    let cname: string | undefined;
    for (;;) {
      if (o >= end) throw new RtspProtocolError('malformed', 'RTCP SDES items run past the packet');
      const item = b[o] as number;
      if (item === 0) break;
      if (o + 2 > end) throw new RtspProtocolError('malformed', 'RTCP SDES item truncated');
      const len = b[o + 1] as number;
      if (o + 2 + len > end) throw new RtspProtocolError('malformed', 'RTCP SDES item longer than the packet');
      if (item === 1) cname = String.fromCharCode(...b.subarray(o + 2, o + 2 + len));
      o += 2 + len;
    }
    o += 4 - ((o - at) % 4); // the null item, then padding to the next 32-bit boundary
    out.push({ ssrc, cname });
  }
  return out;
}

/** A compound packet from the given parts, in order (§6.1: a report first, then SDES with CNAME). */
export function serializeRtcp(packets: readonly Exclude<RtcpPacket, OtherRtcp>[]): Uint8Array {
  const parts = packets.map(serializeOne);
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function serializeOne(p: Exclude<RtcpPacket, OtherRtcp>): Uint8Array {
  switch (p.type) {
    case 'sr':
    case 'rr': {
      if (p.reports.length > 31) throw new RtspProtocolError('too-large', 'more than 31 report blocks');
      const info = p.type === 'sr' ? 20 : 0;
      const out = new Uint8Array(8 + info + 24 * p.reports.length);
      const v = new DataView(out.buffer);
      header(out, p.reports.length, p.type === 'sr' ? RtcpType.SR : RtcpType.RR);
      v.setUint32(4, p.ssrc >>> 0);
      if (p.type === 'sr') {
        v.setUint32(8, p.ntpMsw >>> 0);
        v.setUint32(12, p.ntpLsw >>> 0);
        v.setUint32(16, p.rtpTimestamp >>> 0);
        v.setUint32(20, p.packetCount >>> 0);
        v.setUint32(24, p.octetCount >>> 0);
      }
      p.reports.forEach((r, i) => {
        const o = 8 + info + 24 * i;
        v.setUint32(o, r.ssrc >>> 0);
        // §6.4.1: the cumulative count is a signed 24-bit field; clamp rather than wrap.
        const lost = Math.max(-0x80_0000, Math.min(0x7f_ffff, r.cumulativeLost)) & 0xff_ffff;
        v.setUint32(o + 4, ((r.fractionLost & 0xff) << 24) | lost);
        v.setUint32(o + 8, r.extendedHighestSeq >>> 0);
        v.setUint32(o + 12, r.jitter >>> 0);
        v.setUint32(o + 16, r.lsr >>> 0);
        v.setUint32(o + 20, r.dlsr >>> 0);
      });
      return out;
    }
    case 'sdes': {
      if (p.chunks.length > 31) throw new RtspProtocolError('too-large', 'more than 31 SDES chunks');
      const bodies = p.chunks.map((c) => {
        const text = [...(c.cname ?? '')].map((ch) => ch.charCodeAt(0) & 0xff).slice(0, 255);
        const items = c.cname === undefined ? [] : [1, text.length, ...text];
        const size = 4 + items.length + 1;
        const padded = size + ((4 - (size % 4)) % 4);
        const chunk = new Uint8Array(padded);
        new DataView(chunk.buffer).setUint32(0, c.ssrc >>> 0);
        chunk.set(items, 4);
        return chunk;
      });
      const out = new Uint8Array(4 + bodies.reduce((s, c) => s + c.length, 0));
      header(out, bodies.length, RtcpType.SDES);
      let o = 4;
      for (const c of bodies) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    }
    case 'bye': {
      if (p.ssrcs.length > 31) throw new RtspProtocolError('too-large', 'more than 31 SSRCs in BYE');
      const out = new Uint8Array(4 + 4 * p.ssrcs.length);
      header(out, p.ssrcs.length, RtcpType.BYE);
      p.ssrcs.forEach((s, i) => new DataView(out.buffer).setUint32(4 + 4 * i, s >>> 0));
      return out;
    }
  }
}

function header(out: Uint8Array, count: number, type: number): void {
  out[0] = 0x80 | count;
  out[1] = type;
  const words = out.length / 4 - 1; // §6.4.1: length in 32-bit words minus one
  out[2] = words >> 8;
  out[3] = words & 0xff;
}
