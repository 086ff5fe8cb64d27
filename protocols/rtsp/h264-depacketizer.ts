import { emptyRtpHeader, readRtpHeader, sequenceDelta, TimestampUnwrapper, type RtpPacket } from './rtp.js';
import { isVcl, NalType } from './h264.js';

/**
 * H.264 over RTP (RFC 6184), non-interleaved mode, as a receiver: single NAL unit packets (§5.6),
 * STAP-A (§5.7.1) and FU-A (§5.8) turned into access units (one picture's NAL units) with their
 * RTP time. The sending half is h264-packetizer.ts.
 */
export interface AccessUnit {
  /** NAL units without start codes or length prefixes, in decode order (views into `data`). */
  readonly nalus: readonly Uint8Array[];
  /**
   * The same NAL units as one ISO/IEC 14496-15 sample, each prefixed with its 4-byte length: what
   * an MP4 muxer stores, assembled once as the packets arrive.
   */
  readonly data: Uint8Array;
  /** RTP timestamp extended past 32-bit wraps, in clock-rate units. */
  readonly rtpTime: number;
  /** Contains an IDR slice: a decoder (and a clip, and a live viewer) can start here. */
  readonly key: boolean;
  /** The parameter sets in force for this unit (from the SDP or in-band). */
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
  /** NAL unit bytes, length prefixes not counted. */
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

/**
 * Access units are assembled in place at the tail of a slab (one large buffer shared by many
 * units), NAL units written length-prefixed as their packets arrive (FU-A fragments appended in
 * place, the length patched at the end fragment). A finished unit's `data` is a view of the slab,
 * so each payload byte is copied exactly once, from the socket's read buffer into the slab; a new
 * slab is started when the tail runs out (the old one lives as long as units that view it). No
 * allocation per packet, one small object per picture. Nothing the caller passed in is kept.
 */
const SLAB_BYTES = 1024 * 1024;

export class H264Depacketizer {
  readonly stats: DepacketizerStats = { packets: 0, lostPackets: 0, droppedAccessUnits: 0, ignoredPackets: 0 };
  /** The RTP header of the packet last given to pushBytes (RTCP reception statistics read it). */
  readonly header = emptyRtpHeader();
  readonly #payloadType: number;
  readonly #maxBytes: number;
  readonly #maxNalus: number;
  readonly #unwrap = new TimestampUnwrapper();
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  #expectedSeq: number | undefined;
  /** After a gap (or at the start) nothing is emitted until an IDR: P-frames without their reference decode to garbage. */
  #waitingForKey = true;
  /** The slab; the open unit is [#base, #len): [4-byte length][NAL] repeated. */
  #buf = new Uint8Array(SLAB_BYTES);
  #base = 0;
  #len = 0;
  /** NAL units committed to the open unit, and what they hold. */
  #count = 0;
  #vcl = false;
  #key = false;
  #bytes = 0;
  #ts: number | undefined;
  /** Offset of the length prefix of the FU-A unit being reassembled, or -1. */
  #fu = -1;
  #broken = false;
  #out: AccessUnit[] | ((au: AccessUnit) => void) = [];

  constructor(options: DepacketizerOptions) {
    this.#payloadType = options.payloadType;
    this.#sps = options.sps;
    this.#pps = options.pps;
    this.#maxBytes = options.maxAccessUnitBytes ?? 4 * 1024 * 1024;
    this.#maxNalus = options.maxNalusPerAccessUnit ?? 1024;
  }

  /** Feed one RTP packet; returns the access units it completed (zero, one, or two on a missed marker). */
  push(packet: RtpPacket): AccessUnit[] {
    const out: AccessUnit[] = [];
    this.#out = out;
    this.#packet(packet.marker, packet.payloadType, packet.sequence, packet.timestamp, packet.payload, 0, packet.payload.length);
    return out;
  }

  /**
   * The hot path: one RTP packet in bytes[start, end), read only during the call (it may be a view
   * into a socket's reused read buffer). Completed access units go to `emit`, which owns them.
   * Throws RtspProtocolError on a malformed RTP header (RFC 3550 §5.1).
   */
  pushBytes(bytes: Uint8Array, start: number, end: number, emit: (au: AccessUnit) => void): void {
    const h = this.header;
    readRtpHeader(bytes, start, end, h);
    this.#out = emit;
    this.#packet(h.marker, h.payloadType, h.sequence, h.timestamp, bytes, h.payloadStart, h.payloadEnd);
  }

  #packet(marker: boolean, payloadType: number, sequence: number, timestamp: number, bytes: Uint8Array, start: number, end: number): void {
    this.stats.packets++;
    if (payloadType !== this.#payloadType) {
      this.stats.ignoredPackets++;
      return;
    }
    if (this.#expectedSeq !== undefined) {
      const delta = sequenceDelta(this.#expectedSeq, sequence);
      if (delta < 0) {
        // Late or duplicate (RFC 3550 §A.1): over TCP this does not happen; over UDP we drop it.
        this.stats.ignoredPackets++;
        return;
      }
      if (delta > 0) {
        this.stats.lostPackets += delta;
        this.#discard();
        this.#waitingForKey = true;
      }
    }
    this.#expectedSeq = (sequence + 1) & 0xffff;
    const ts = this.#unwrap.unwrap(timestamp);
    if (this.#ts !== undefined && ts !== this.#ts && (this.#count > 0 || this.#broken)) {
      // A new timestamp means a new picture (RFC 6184 §5.1) even if the marker bit was lost.
      this.#flush();
    }
    this.#ts = ts;
    this.#payload(bytes, start, end);
    if (marker) this.#flush();
  }

  #payload(bytes: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    const b0 = bytes[start] as number;
    const type = b0 & 0x1f;
    if (b0 & 0x80) {
      // forbidden_zero_bit set (RFC 6184 §5.3): the unit is corrupt.
      this.#broken = true;
      return;
    }
    if (type >= 1 && type <= 23) {
      this.#abandonFragment();
      this.#add(bytes, start, end);
    } else if (type === NalType.STAP_A) {
      this.#abandonFragment();
      let o = start + 1;
      while (o + 2 <= end) {
        const size = ((bytes[o] as number) << 8) | (bytes[o + 1] as number);
        o += 2;
        if (size === 0 || o + size > end) {
          this.#broken = true;
          return;
        }
        this.#add(bytes, o, o + size);
        o += size;
      }
    } else if (type === NalType.FU_A) {
      this.#fragment(bytes, start, end);
    } else {
      // STAP-B, MTAP, FU-B belong to interleaved mode (packetization-mode 2), which we refuse in SDP.
      this.stats.ignoredPackets++;
    }
  }

  #fragment(bytes: Uint8Array, start: number, end: number): void {
    if (end - start < 3) {
      this.#broken = true;
      return;
    }
    const indicator = bytes[start] as number;
    const fuHeader = bytes[start + 1] as number;
    const first = (fuHeader & 0x80) !== 0;
    const last = (fuHeader & 0x40) !== 0;
    const bodyLength = end - start - 2;
    if (first) {
      this.#abandonFragment();
      if (!this.#room(1 + bodyLength)) return;
      // §5.8: the NAL header is rebuilt from the indicator's F/NRI bits and the FU header's type.
      this.#fu = this.#len;
      this.#len += 4;
      this.#buf[this.#len++] = (indicator & 0xe0) | (fuHeader & 0x1f);
    } else if (this.#fu < 0) {
      this.#broken = true;
      return;
    } else if (!this.#room(bodyLength)) {
      return;
    }
    this.#buf.set(bytes.subarray(start + 2, end), this.#len);
    this.#len += bodyLength;
    if (last) {
      const at = this.#fu;
      this.#fu = -1;
      this.#commit(at);
    }
  }

  /** Makes room for `more` NAL bytes of the open unit; false (and the picture broken) past the bounds. */
  #room(more: number): boolean {
    const nalBytes = this.#fu < 0 ? 0 : this.#len - this.#fu - 4;
    if (this.#bytes + nalBytes + more > this.#maxBytes) {
      this.#abandonFragment();
      this.#broken = true;
      return false;
    }
    if (this.#len + 4 + more > this.#buf.length) {
      // The tail is used up: a new slab, the open unit moved to its start (the old slab stays alive
      // only as long as finished units view it).
      const open = this.#len - this.#base;
      const next = new Uint8Array(Math.max(SLAB_BYTES, 2 * (open + 4 + more)));
      next.set(this.#buf.subarray(this.#base, this.#len));
      if (this.#fu >= 0) this.#fu -= this.#base;
      this.#buf = next;
      this.#base = 0;
      this.#len = open;
    }
    return true;
  }

  /** Drops a half-reassembled FU-A unit (its end fragment never came). */
  #abandonFragment(): void {
    if (this.#fu < 0) return;
    this.#len = this.#fu;
    this.#fu = -1;
  }

  #add(bytes: Uint8Array, start: number, end: number): void {
    const type = (bytes[start] as number) & 0x1f;
    // Parameter sets are the decoder's, whatever becomes of this picture; copied, never views.
    if (type === NalType.SPS) this.#sps = copyOf(bytes, start, end);
    else if (type === NalType.PPS) this.#pps = copyOf(bytes, start, end);
    if (type === NalType.AUD) return; // the muxer does not want delimiters
    if (this.#count >= this.#maxNalus || !this.#room(end - start)) {
      this.#broken = true;
      return;
    }
    const at = this.#len;
    const size = end - start;
    this.#buf.set(bytes.subarray(start, end), at + 4);
    this.#len = at + 4 + size;
    this.#prefix(at, size, type);
  }

  /** The FU-A unit written at `at` (length prefix first) is whole: keep it in the unit, or not. */
  #commit(at: number): void {
    const size = this.#len - at - 4;
    const type = (this.#buf[at + 4] as number) & 0x1f;
    if (type === NalType.SPS) this.#sps = this.#buf.slice(at + 4, this.#len);
    else if (type === NalType.PPS) this.#pps = this.#buf.slice(at + 4, this.#len);
    if (type === NalType.AUD || this.#count >= this.#maxNalus || this.#bytes + size > this.#maxBytes) {
      this.#len = at; // the muxer does not want delimiters; past the bounds the picture is broken
      if (type !== NalType.AUD) this.#broken = true;
      return;
    }
    this.#prefix(at, size, type);
  }

  /** ISO/IEC 14496-15 §5.3.3: a 4-byte big-endian NAL unit length before each unit. */
  #prefix(at: number, size: number, type: number): void {
    const buf = this.#buf;
    buf[at] = size >>> 24;
    buf[at + 1] = (size >>> 16) & 0xff;
    buf[at + 2] = (size >>> 8) & 0xff;
    buf[at + 3] = size & 0xff;
    this.#count++;
    this.#bytes += size;
    if (isVcl(type)) this.#vcl = true;
    if (type === NalType.IDR) this.#key = true;
  }

  #flush(): void {
    const broken = this.#broken || this.#fu >= 0;
    const vcl = this.#vcl;
    const key = this.#key;
    const bytes = this.#bytes;
    const base = this.#base;
    const len = this.#len;
    this.#discard();
    if (broken) {
      this.stats.droppedAccessUnits++;
      this.#waitingForKey = true;
      return;
    }
    if (!vcl) return; // parameter sets alone: kept above, no picture
    if (this.#waitingForKey && (!key || this.#sps === undefined || this.#pps === undefined)) {
      this.stats.droppedAccessUnits++;
      return;
    }
    this.#waitingForKey = false;
    if (this.#sps === undefined || this.#pps === undefined) return;
    // The unit keeps its bytes: the slab's tail moves past them, the next picture goes after.
    this.#base = this.#len = len;
    const au = new SlabAccessUnit(this.#buf.subarray(base, len), this.#ts ?? 0, key, this.#sps, this.#pps, bytes);
    const out = this.#out;
    if (typeof out === 'function') out(au);
    else out.push(au);
  }

  #discard(): void {
    this.#len = this.#base;
    this.#count = 0;
    this.#vcl = false;
    this.#key = false;
    this.#bytes = 0;
    this.#fu = -1;
    this.#broken = false;
  }
}

/** An access unit over its length-prefixed bytes; the NAL unit views are made only when asked for. */
class SlabAccessUnit implements AccessUnit {
  #nalus: Uint8Array[] | undefined;

  constructor(
    readonly data: Uint8Array,
    readonly rtpTime: number,
    readonly key: boolean,
    readonly sps: Uint8Array,
    readonly pps: Uint8Array,
    readonly bytes: number,
  ) {}

  get nalus(): readonly Uint8Array[] {
    if (this.#nalus === undefined) {
      const d = this.data;
      const out: Uint8Array[] = [];
      for (let o = 0; o + 4 <= d.length; ) {
        const size = (((d[o] as number) << 24) | ((d[o + 1] as number) << 16) | ((d[o + 2] as number) << 8) | (d[o + 3] as number)) >>> 0;
        out.push(d.subarray(o + 4, o + 4 + size));
        o += 4 + size;
      }
      this.#nalus = out;
    }
    return this.#nalus;
  }
}

/** A fresh copy of bytes[start, end) (Buffer#slice would be a view). */
function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

