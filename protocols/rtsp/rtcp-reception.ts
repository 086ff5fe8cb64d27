import { lsrOf, type ReportBlock, type SenderReport } from './rtcp.js';

/**
 * RTCP as a receiver of one RTP stream (RFC 3550): the reception statistics behind its report
 * blocks (§A.1, §A.3, §A.8) and the report interval (§6.3.1, §A.7). Pure: times come in as
 * arguments (monotonic milliseconds), randomness as a number in [0, 1).
 */

/** §A.1's constants: a source is valid after 2 in-order packets; jumps past these are restarts. */
const MIN_SEQUENTIAL = 2;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const RTP_SEQ_MOD = 0x1_0000;

/**
 * Reception statistics of one RTP source, as §A.1 (sequence validation), §A.3 (expected and lost
 * packets) and §A.8 (interarrival jitter) compute them, and the report block built from them.
 */
export class ReceptionStats {
  readonly #clockRate: number;
  #ssrc: number | undefined;
  #maxSeq = 0;
  #cycles = 0;
  #baseSeq = 0;
  #badSeq = RTP_SEQ_MOD + 1;
  #probation = MIN_SEQUENTIAL;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #transit: number | undefined;
  /** §A.8's integer form: jitter scaled by 16. */
  #jitter16 = 0;
  #lastSr: { lsr: number; arrivedAtMs: number } | undefined;

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  get ssrc(): number | undefined {
    return this.#ssrc;
  }

  /** Packets counted as received (after probation). */
  get received(): number {
    return this.#received;
  }

  /** One RTP packet of the stream, arrived at `arrivalMs` (monotonic). */
  packet(ssrc: number, seq: number, timestamp: number, arrivalMs: number): void {
    if (this.#ssrc !== ssrc) {
      // A new source (or the camera restarted its stream with a new SSRC): start over (§8.2).
      this.#reset(ssrc, seq);
    }
    if (!this.#updateSeq(seq)) return;
    // §A.8: transit time in timestamp units; differences taken modulo 2^32 so a wrap is no jump.
    const arrival = Math.floor((arrivalMs * this.#clockRate) / 1000);
    const transit = (arrival - timestamp) >>> 0;
    if (this.#transit !== undefined) {
      let d = (transit - this.#transit) | 0;
      if (d < 0) d = -d;
      this.#jitter16 += d - Math.floor((this.#jitter16 + 8) / 16);
    }
    this.#transit = transit;
  }

  /** An SR from the source arrived at `arrivalMs`: its LSR and DLSR go into the next reports. */
  senderReport(sr: SenderReport, arrivalMs: number): void {
    if (this.#ssrc !== undefined && sr.ssrc !== this.#ssrc) return;
    this.#lastSr = { lsr: lsrOf(sr), arrivedAtMs: arrivalMs };
  }

  /** The report block as of `nowMs`; undefined before the source is valid. Moves the fraction-lost interval on (§A.3). */
  reportBlock(nowMs: number): ReportBlock | undefined {
    if (this.#ssrc === undefined || this.#probation > 0) return undefined;
    const extendedMax = this.#cycles + this.#maxSeq;
    const expected = extendedMax - this.#baseSeq + 1;
    const lost = expected - this.#received;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    const sr = this.#lastSr;
    return {
      ssrc: this.#ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: Math.max(-0x80_0000, Math.min(0x7f_ffff, lost)),
      extendedHighestSeq: extendedMax >>> 0,
      jitter: Math.min(0xffff_ffff, Math.floor(this.#jitter16 / 16)),
      lsr: sr?.lsr ?? 0,
      dlsr: sr === undefined ? 0 : Math.max(0, Math.min(0xffff_ffff, Math.round(((nowMs - sr.arrivedAtMs) * 65_536) / 1000))),
    };
  }

  #reset(ssrc: number, seq: number): void {
    this.#ssrc = ssrc;
    this.#initSeq(seq);
    this.#maxSeq = (seq - 1) & 0xffff;
    this.#probation = MIN_SEQUENTIAL;
    this.#transit = undefined;
    this.#jitter16 = 0;
    this.#lastSr = undefined;
  }

  #initSeq(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = RTP_SEQ_MOD + 1;
    this.#cycles = 0;
    this.#received = 0;
    this.#receivedPrior = 0;
    this.#expectedPrior = 0;
  }

  /** §A.1 update_seq: false while the source is on probation or for a packet taken as a restart's first. */
  #updateSeq(seq: number): boolean {
    const udelta = (seq - this.#maxSeq) & 0xffff;
    if (this.#probation > 0) {
      // Packets must be in sequence to leave probation.
      if (seq === ((this.#maxSeq + 1) & 0xffff)) {
        this.#probation--;
        this.#maxSeq = seq;
        if (this.#probation === 0) {
          this.#initSeq(seq);
          this.#received++;
          return true;
        }
      } else {
        this.#probation = MIN_SEQUENTIAL - 1;
        this.#maxSeq = seq;
      }
      return false;
    }
    if (udelta < MAX_DROPOUT) {
      // In order, with a permissible gap; a wrap counts another cycle.
      if (seq < this.#maxSeq) this.#cycles += RTP_SEQ_MOD;
      this.#maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // A very large jump: the sender restarted, or this is junk. Two in a row resync.
      if (seq === this.#badSeq) {
        this.#initSeq(seq);
      } else {
        this.#badSeq = (seq + 1) & 0xffff;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted as received (the RFC does so too).
    this.#received++;
    return true;
  }
}

/** §6.3.1 / §A.7 inputs for one participant. */
export interface IntervalInput {
  members: number;
  senders: number;
  /** The session's RTCP bandwidth in octets per second (5% of the session bandwidth, §6.2). */
  rtcpBandwidth: number;
  weSent: boolean;
  /** Average compound RTCP packet size in octets, lower-layer headers included (§6.3.3). */
  avgRtcpSize: number;
  /** Before the first report the minimum is halved (§6.2). */
  initial: boolean;
}

/** §6.2: the minimum deterministic interval. */
export const RTCP_MIN_INTERVAL_MS = 5_000;

/**
 * The randomized interval to the next report, in ms (§6.3.1, §A.7 rtcp_interval). The
 * deterministic interval Td is at least 5 s (2.5 s before the first report); the result is Td
 * times a uniform [0.5, 1.5) draw, divided by e − 3/2 to compensate for timer reconsideration
 * (§6.3.1), so single reports land between 0.41 Td and 1.23 Td, as the RFC has them.
 */
export function rtcpIntervalMs(input: IntervalInput, random: number): number {
  const RTCP_SENDER_BW_FRACTION = 0.25;
  const RTCP_RCVR_BW_FRACTION = 1 - RTCP_SENDER_BW_FRACTION;
  const COMPENSATION = Math.E - 1.5;
  const tmin = input.initial ? RTCP_MIN_INTERVAL_MS / 2 : RTCP_MIN_INTERVAL_MS;
  let n = input.members;
  let bandwidth = input.rtcpBandwidth;
  if (input.senders <= input.members * RTCP_SENDER_BW_FRACTION) {
    if (input.weSent) {
      bandwidth *= RTCP_SENDER_BW_FRACTION;
      n = input.senders;
    } else {
      bandwidth *= RTCP_RCVR_BW_FRACTION;
      n -= input.senders;
    }
  }
  const td = Math.max(tmin, bandwidth > 0 ? ((input.avgRtcpSize * n) / bandwidth) * 1000 : tmin);
  return (td * (Math.min(Math.max(random, 0), 1) + 0.5)) / COMPENSATION;
}
