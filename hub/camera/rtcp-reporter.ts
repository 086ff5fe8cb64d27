import { randomBytes, randomInt } from 'node:crypto';
import { parseRtcp, serializeRtcp, type ReceiverReport, type SenderReport } from '../../protocols/rtsp/rtcp.js';
import { ReceptionStats, rtcpIntervalMs } from '../../protocols/rtsp/rtcp-reception.js';
import type { Clock, Timer } from '../system/clock.js';

/**
 * The hub's RTCP as a receiver (RFC 3550 §6): reception statistics of the camera's RTP stream,
 * the camera's sender reports read, and a receiver report (RR + SDES CNAME, §6.1) sent at the
 * randomized interval of §6.3.1 on whatever path SETUP agreed (the interleaved RTCP channel over
 * TCP, the camera's RTCP port over UDP). Cameras use RRs to judge the link, and some end a
 * session that sends none; a BYE goes out when the hub leaves (§6.6).
 */
export interface RtcpReporterOptions {
  clock: Clock;
  clockRate: number;
  /** Sends one compound RTCP packet the way the session carries RTCP. */
  send(packet: Uint8Array): void;
  /** In [0, 1); injected so tests can pin the interval. */
  random?: () => number;
  /** Session bandwidth in bit/s (SDP b=AS), if the camera said; RTCP gets 5% of it (§6.2). */
  sessionBandwidth?: number;
}

/** IPv4 + UDP headers: §6.3.3 counts them in the average RTCP packet size. */
const LOWER_LAYER_OCTETS = 28;

export class RtcpReporter {
  readonly #opts: RtcpReporterOptions;
  readonly #stats: ReceptionStats;
  /** Our own SSRC (§8.1: random) and a random CNAME (RFC 7022: nothing that identifies the home). */
  readonly ssrc = randomInt(1, 0xffff_ffff);
  readonly cname = `keyhub-${randomBytes(6).toString('hex')}@hub`;
  #timer: Timer | undefined;
  #avgSize = 0;
  #initial = true;
  #stopped = false;
  #sent = 0;
  #sendFailures = 0;
  #malformed = 0;
  #lastSr: SenderReport | undefined;

  constructor(options: RtcpReporterOptions) {
    this.#opts = options;
    this.#stats = new ReceptionStats(options.clockRate);
  }

  /** Malformed RTCP packets from the camera, dropped. */
  get malformed(): number {
    return this.#malformed;
  }

  /** Reports that could not be sent. */
  get sendFailures(): number {
    return this.#sendFailures;
  }

  /** Receiver reports sent so far. */
  get reportsSent(): number {
    return this.#sent;
  }

  /** The last sender report the camera sent, if any. */
  get lastSenderReport(): SenderReport | undefined {
    return this.#lastSr;
  }

  /**
   * One RTP packet of the camera's stream (its header fields), read at `arrivalMs` (monotonic;
   * the caller reads the clock once per socket read, not per packet).
   */
  rtp(ssrc: number, sequence: number, timestamp: number, arrivalMs: number): void {
    this.#stats.packet(ssrc, sequence, timestamp, arrivalMs);
  }

  /**
   * One RTCP packet from the camera. SRs of the source we receive are kept for LSR/DLSR; RRs,
   * SDES, BYE and types we do not know are skipped. A malformed packet is counted and dropped:
   * RTCP is advisory (RFC 3550 §6), bad reports never end the video.
   */
  rtcp(bytes: Uint8Array, start: number, end: number): void {
    let packets;
    try {
      packets = parseRtcp(bytes, start, end);
    } catch {
      this.#malformed++;
      return;
    }
    for (const packet of packets) {
      if (packet.type !== 'sr') continue;
      this.#lastSr = packet;
      this.#stats.senderReport(packet, this.#opts.clock.monotonic());
    }
  }

  /** Schedules the first report (§6.2: half the minimum interval before the first). */
  start(): void {
    this.#schedule();
  }

  /** Stops reporting; with `bye`, sends a last report with a BYE (§6.6). */
  stop(bye: boolean): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (bye) this.#send(true);
  }

  /** The compound packet a report would be now (RR, SDES CNAME, and BYE when leaving). */
  compound(bye: boolean): Uint8Array {
    const block = this.#stats.reportBlock(this.#opts.clock.monotonic());
    const rr: ReceiverReport = { type: 'rr', ssrc: this.ssrc, reports: block === undefined ? [] : [block] };
    return serializeRtcp([rr, { type: 'sdes', chunks: [{ ssrc: this.ssrc, cname: this.cname }] }, ...(bye ? [{ type: 'bye' as const, ssrcs: [this.ssrc] }] : [])]);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const random = this.#opts.random ?? Math.random;
    const sessionBandwidth = this.#opts.sessionBandwidth ?? 0;
    const ms = rtcpIntervalMs(
      {
        members: 2, // the camera and the hub: a unicast session (§6.3.2's member table has two entries)
        senders: 1,
        rtcpBandwidth: (sessionBandwidth * 0.05) / 8,
        weSent: false,
        avgRtcpSize: this.#avgSize === 0 ? 100 : this.#avgSize,
        initial: this.#initial,
      },
      random(),
    );
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#initial = false;
      this.#send(false);
      this.#schedule();
    }, ms);
  }

  #send(bye: boolean): void {
    const packet = this.compound(bye);
    // §6.3.3: avg_rtcp_size = 1/16 × packet_size + 15/16 × avg_rtcp_size.
    const size = packet.length + LOWER_LAYER_OCTETS;
    this.#avgSize = this.#avgSize === 0 ? size : size / 16 + (15 * this.#avgSize) / 16;
    // RTCP is advisory (RFC 3550 §6): a report that cannot go out (a socket error, an address the
    // camera gave that no socket can reach) is counted, never thrown out of a timer or a close().
    try {
      this.#opts.send(packet);
      this.#sent++;
    } catch {
      this.#sendFailures++;
    }
  }
}
