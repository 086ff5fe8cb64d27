import { RtspProtocolError } from './errors.js';
import { sequenceDelta, TimestampUnwrapper, type RtpPacket } from './rtp.js';

/**
 * H.264 over RTP (RFC 6184), non-interleaved mode: single NAL unit packets (§5.6), STAP-A (§5.7.1)
 * and FU-A (§5.8). The depacketizer turns packets into access units (one picture's NAL units) with
 * their RTP time; the packetizer is the simulated camera's half of the same rules.
 */
export const NalType = { NON_IDR: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9, STAP_A: 24, STAP_B: 25, MTAP16: 26, MTAP24: 27, FU_A: 28, FU_B: 29 } as const;

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

export function isVcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

export interface AccessUnit {
  /** NAL units without start codes or length prefixes, in decode order. */
  readonly nalus: readonly Uint8Array[];
  /** RTP timestamp extended past 32-bit wraps, in clock-rate units. */
  readonly rtpTime: number;
  /** Contains an IDR slice: a decoder (and a clip, and a live viewer) can start here. */
  readonly key: boolean;
  /** The parameter sets in force for this unit (from the SDP or in-band). */
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
  readonly bytes: number;
}

export interface DepacketizerOptions {
  payloadType: number;
  sps?: Uint8Array | undefined;
  pps?: Uint8Array | undefined;
  /** An access unit larger than this is dropped (a 1080p I-frame is ~0.5 MB). */
  maxAccessUnitBytes?: number;
  maxNalusPerAccessUnit?: number;
}

export interface DepacketizerStats {
  packets: number;
  lostPackets: number;
  droppedAccessUnits: number;
  ignoredPackets: number;
}

export class H264Depacketizer {
  readonly stats: DepacketizerStats = { packets: 0, lostPackets: 0, droppedAccessUnits: 0, ignoredPackets: 0 };
  readonly #payloadType: number;
  readonly #maxBytes: number;
  readonly #maxNalus: number;
  readonly #unwrap = new TimestampUnwrapper();
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  #expectedSeq: number | undefined;
  /** After a gap (or at the start) nothing is emitted until an IDR: P-frames without their reference decode to garbage. */
  #waitingForKey = true;
  #nalus: Uint8Array[] = [];
  #bytes = 0;
  #ts: number | undefined;
  #fu: Uint8Array[] | undefined;
  #fuBytes = 0;
  #broken = false;

  constructor(options: DepacketizerOptions) {
    this.#payloadType = options.payloadType;
    this.#sps = options.sps;
    this.#pps = options.pps;
    this.#maxBytes = options.maxAccessUnitBytes ?? 4 * 1024 * 1024;
    this.#maxNalus = options.maxNalusPerAccessUnit ?? 1024;
  }

  /** Feed one RTP packet; returns the access units it completed (zero, one, or two on a missed marker). */
  push(packet: RtpPacket): AccessUnit[] {
    this.stats.packets++;
    if (packet.payloadType !== this.#payloadType) {
      this.stats.ignoredPackets++;
      return [];
    }
    const out: AccessUnit[] = [];
    if (this.#expectedSeq !== undefined) {
      const delta = sequenceDelta(this.#expectedSeq, packet.sequence);
      if (delta < 0) {
        // Late or duplicate (RFC 3550 §A.1): over TCP this does not happen; over UDP we drop it.
        this.stats.ignoredPackets++;
        return [];
      }
      if (delta > 0) {
        this.stats.lostPackets += delta;
        this.#discard();
        this.#waitingForKey = true;
      }
    }
    this.#expectedSeq = (packet.sequence + 1) & 0xffff;
    const ts = this.#unwrap.unwrap(packet.timestamp);
    if (this.#ts !== undefined && ts !== this.#ts && (this.#nalus.length > 0 || this.#broken)) {
      // A new timestamp means a new picture (RFC 6184 §5.1) even if the marker bit was lost.
      this.#flush(out);
    }
    this.#ts = ts;
    this.#payload(packet.payload);
    if (packet.marker) this.#flush(out);
    return out;
  }

  #payload(payload: Uint8Array): void {
    if (payload.length === 0) return;
    const type = nalType(payload);
    if ((payload[0] as number) & 0x80) {
      // forbidden_zero_bit set (RFC 6184 §5.3): the unit is corrupt.
      this.#broken = true;
      return;
    }
    if (type >= 1 && type <= 23) {
      this.#fu = undefined;
      this.#add(payload);
    } else if (type === NalType.STAP_A) {
      this.#fu = undefined;
      let o = 1;
      while (o + 2 <= payload.length) {
        const size = ((payload[o] as number) << 8) | (payload[o + 1] as number);
        o += 2;
        if (size === 0 || o + size > payload.length) {
          this.#broken = true;
          return;
        }
        this.#add(payload.subarray(o, o + size));
        o += size;
      }
    } else if (type === NalType.FU_A) {
      this.#fragment(payload);
    } else {
      // STAP-B, MTAP, FU-B belong to interleaved mode (packetization-mode 2), which we refuse in SDP.
      this.stats.ignoredPackets++;
    }
  }

  #fragment(payload: Uint8Array): void {
    if (payload.length < 3) {
      this.#broken = true;
      return;
    }
    const indicator = payload[0] as number;
    const fuHeader = payload[1] as number;
    const start = (fuHeader & 0x80) !== 0;
    const end = (fuHeader & 0x40) !== 0;
    const body = payload.subarray(2);
    if (start) {
      // §5.8: the NAL header is rebuilt from the indicator's F/NRI bits and the FU header's type.
      this.#fu = [Uint8Array.of((indicator & 0xe0) | (fuHeader & 0x1f)), body];
      this.#fuBytes = 1 + body.length;
    } else if (this.#fu === undefined) {
      this.#broken = true;
      return;
    } else {
      this.#fu.push(body);
      this.#fuBytes += body.length;
    }
    if (this.#bytes + this.#fuBytes > this.#maxBytes) {
      this.#fu = undefined;
      this.#broken = true;
      return;
    }
    if (end) {
      const nal = concat(this.#fu, this.#fuBytes);
      this.#fu = undefined;
      this.#add(nal);
    }
  }

  #add(nal: Uint8Array): void {
    const type = nalType(nal);
    if (type === NalType.SPS) this.#sps = nal.slice();
    else if (type === NalType.PPS) this.#pps = nal.slice();
    if (type === NalType.AUD) return; // the muxer does not want delimiters
    if (this.#nalus.length >= this.#maxNalus || this.#bytes + nal.length > this.#maxBytes) {
      this.#broken = true;
      return;
    }
    this.#nalus.push(nal);
    this.#bytes += nal.length;
  }

  #flush(out: AccessUnit[]): void {
    const nalus = this.#nalus;
    const broken = this.#broken || this.#fu !== undefined;
    this.#discard();
    if (broken) {
      this.stats.droppedAccessUnits++;
      this.#waitingForKey = true;
      return;
    }
    if (!nalus.some((n) => isVcl(nalType(n)))) return; // parameter sets alone: kept above, no picture
    const key = nalus.some((n) => nalType(n) === NalType.IDR);
    if (this.#waitingForKey && (!key || this.#sps === undefined || this.#pps === undefined)) {
      this.stats.droppedAccessUnits++;
      return;
    }
    this.#waitingForKey = false;
    if (this.#sps === undefined || this.#pps === undefined) return;
    const bytes = nalus.reduce((n, u) => n + u.length, 0);
    out.push({ nalus, rtpTime: this.#ts ?? 0, key, sps: this.#sps, pps: this.#pps, bytes });
  }

  #discard(): void {
    this.#nalus = [];
    this.#bytes = 0;
    this.#fu = undefined;
    this.#fuBytes = 0;
    this.#broken = false;
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

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

/** NAL units of an Annex B byte stream (H.264 §B.1), start codes removed. */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const starts: Array<{ at: number; len: number }> = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      const four = i > 0 && stream[i - 1] === 0;
      starts.push({ at: four ? i - 1 : i, len: four ? 4 : 3 });
      i += 2;
    }
  }
  const out: Uint8Array[] = [];
  starts.forEach((s, k) => {
    const end = starts[k + 1]?.at ?? stream.length;
    const nal = stream.subarray(s.at + s.len, end);
    if (nal.length > 0) out.push(nal);
  });
  return out;
}

/**
 * Groups a decode-order NAL sequence into access units (H.264 §7.4.1.2.3): an AUD, SPS, PPS or SEI
 * after a picture's slices, or a slice with first_mb_in_slice = 0, begins the next unit.
 */
export function groupAccessUnits(nalus: readonly Uint8Array[]): Uint8Array[][] {
  const units: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let seenVcl = false;
  for (const nal of nalus) {
    const type = nalType(nal);
    const firstSlice = isVcl(type) && ((nal[1] ?? 0) & 0x80) !== 0; // ue(v) == 0 starts with bit 1
    const startsUnit = seenVcl && (firstSlice || type === NalType.AUD || type === NalType.SPS || type === NalType.PPS || type === NalType.SEI || (type >= 14 && type <= 18));
    if (startsUnit) {
      units.push(current);
      current = [];
      seenVcl = false;
    }
    current.push(nal);
    if (isVcl(type)) seenVcl = true;
  }
  if (current.length > 0) units.push(current);
  return units;
}

/** ISO/IEC 14496-15 sample format: each NAL unit prefixed with its 4-byte length. */
export function toLengthPrefixed(nalus: readonly Uint8Array[]): Uint8Array {
  const total = nalus.reduce((s, n) => s + 4 + n.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const n of nalus) {
    view.setUint32(o, n.length);
    out.set(n, o + 4);
    o += 4 + n.length;
  }
  return out;
}
