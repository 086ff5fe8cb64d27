import { randomBytes, randomInt } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock, Timer } from '../../hub/system/clock.js';
import { verifyDigest, type Credentials } from '../../protocols/rtsp/auth.js';
import { header, RtspReader, serializeInterleaved, serializeResponse, type Header, type RtspRequest } from '../../protocols/rtsp/message.js';
import { lsrOf, ntpOf, parseRtcp, serializeRtcp, type SenderReport } from '../../protocols/rtsp/rtcp.js';
import { buildH264Sdp } from '../../protocols/rtsp/sdp.js';
import { loadH264Clip, type H264Clip } from './clip.js';
import { noFaults, type CameraFaults } from './faults.js';
import { framePackets, PAYLOAD_TYPE, type RtpSender } from './packets.js';
import { PictureSource } from './picture-source.js';
import { keepLast, newStats, STATS_KEPT_SESSIONS, type SimCameraStats } from './stats.js';
import { bindUdpPair } from './udp.js';

export type { CameraFaults } from './faults.js';
export type { ReceivedRtcp, SimCameraStats } from './stats.js';

/**
 * A door camera on the LAN, in TypeScript: RTSP/1.0 (RFC 2326) with Digest auth, one H.264 track
 * played in real time in a loop, RTP over TCP interleaved or UDP. Fault switches (./faults.ts)
 * reproduce what real cameras, relays and attackers do; they can be flipped while sessions run.
 */

export interface SimCameraOptions {
  clock: Clock;
  clipPath?: string;
  fps?: number;
  host?: string;
  port?: number;
  path?: string;
  credentials?: Credentials;
  realm?: string;
  mtu?: number;
  sessionTimeoutS?: number;
  /** How often each playing session gets an RTCP sender report (RFC 3550 §6.4.1); 0: never. Default 5000. */
  senderReportMs?: number;
  /** Fault switches on from the start (they can be flipped later through `faults`). */
  faults?: Partial<CameraFaults>;
}

interface Session {
  socket: Socket;
  id: string;
  sender: RtpSender;
  /** The client's RTP port (and RTCP on port + 1) when it asked for UDP. */
  udp: { host: string; port: number } | undefined;
  channel: number;
  playing: boolean;
  /** Ended by the camera (faults.expireAfterS): its id is answered 454 from then on. */
  expired: boolean;
  /** When a request last named the session (monotonic ms on the camera's clock). */
  refreshedAt: number;
  framesSent: number;
  /** What an SR counts (§6.4.1): packets and payload octets sent. */
  packetsSent: number;
  octetsSent: number;
  /** Sequence numbers (uncut counter, as the client's extended numbers run) the drop switch ate. */
  droppedSeqs: number[];
  loris: Timer | undefined;
}

export class SimCamera {
  readonly faults: CameraFaults = noFaults();
  readonly stats: SimCameraStats = newStats();
  readonly #source: PictureSource;
  readonly #opts: Required<Omit<SimCameraOptions, 'credentials' | 'clipPath' | 'faults'>> & { credentials: Credentials | undefined };
  readonly #sessions = new Set<Session>();
  readonly #nonce = randomBytes(16).toString('hex');
  #server: Server | undefined;
  #udp: UdpSocket | undefined;
  #udpRtcp: UdpSocket | undefined;
  #ticker: Timer | undefined;
  #reporter: Timer | undefined;
  #packetCount = 0;
  #port = 0;

  constructor(options: SimCameraOptions) {
    const source = new PictureSource(loadH264Clip(options.clipPath, options.fps ?? 30), options.fps ?? 30);
    this.#source = source;
    Object.assign(this.faults, options.faults);
    this.#opts = {
      clock: options.clock,
      fps: options.fps ?? 30,
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      path: options.path ?? '/stream',
      credentials: options.credentials,
      realm: options.realm ?? 'keyhub-sim-camera',
      mtu: options.mtu ?? 1400,
      sessionTimeoutS: options.sessionTimeoutS ?? 60,
      senderReportMs: options.senderReportMs ?? 5_000,
    };
  }

  /** The clip playing now. */
  get clip(): H264Clip {
    return this.#source.clip;
  }

  /**
   * Switches to another clip at the next keyframe, as a camera does when its resolution is
   * changed: the new SPS and PPS go in-band (STAP-A) before the new clip's first IDR; the SDP of
   * sessions already set up still describes the old one.
   */
  switchClip(path: string): void {
    this.#source.switchClip(path);
  }

  /** The URL without credentials. */
  get url(): string {
    const host = this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host;
    return `rtsp://${host}:${this.#port}${this.#opts.path}`;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port, this.#opts.host, () => resolve());
    });
    this.#server = server;
    const address = server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : 0;
    // RTP leaves from an even port and RTCP is taken on the next one (RFC 3550 §11).
    const pair = await bindUdpPair(this.#opts.host);
    this.#udp = pair.rtp;
    this.#udpRtcp = pair.rtcp;
    this.#udpRtcp.on('message', (msg) => this.#receiveRtcp(undefined, msg));
    this.#ticker = this.#opts.clock.setInterval(() => this.#tick(), 1000 / this.#opts.fps);
    if (this.#opts.senderReportMs > 0) this.#reporter = this.#opts.clock.setInterval(() => this.#senderReports(), this.#opts.senderReportMs);
  }

  async stop(): Promise<void> {
    this.#ticker?.cancel();
    this.#reporter?.cancel();
    for (const s of this.#sessions) {
      s.loris?.cancel();
      s.socket.destroy();
    }
    this.#sessions.clear();
    this.#udp?.close();
    this.#udp = undefined;
    this.#udpRtcp?.close();
    this.#udpRtcp = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Ends every TCP connection now, as a camera rebooting does. */
  dropConnections(): void {
    for (const s of this.#sessions) s.socket.destroy();
  }

  #accept(socket: Socket): void {
    this.stats.connections++;
    if (this.faults.down) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const session: Session = {
      socket,
      id: randomBytes(8).toString('hex'),
      sender: { ssrc: randomInt(0, 2 ** 32), sequence: randomInt(0, 65536) },
      udp: undefined,
      channel: 0,
      playing: false,
      expired: false,
      refreshedAt: this.#opts.clock.monotonic(),
      framesSent: 0,
      packetsSent: 0,
      octetsSent: 0,
      droppedSeqs: [],
      loris: undefined,
    };
    this.stats.dropped.set(session.id, session.droppedSeqs);
    // Stats serve tests; under `npm start` the camera runs for days: only recent sessions are kept.
    for (const old of this.stats.dropped.keys()) {
      if (this.stats.dropped.size <= STATS_KEPT_SESSIONS) break;
      this.stats.dropped.delete(old);
    }
    this.#sessions.add(session);
    const reader = new RtspReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const item of reader.push(chunk)) {
          if (item.type === 'request') this.#handle(session, item);
          else if (item.type === 'interleaved' && item.channel === session.channel + 1) this.#receiveRtcp(session.id, item.payload);
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      session.loris?.cancel();
      this.#sessions.delete(session);
    });
  }

  #reply(session: Session, req: RtspRequest, status: number, reason: string, headers: Header[] = [], body?: string): void {
    const all: Header[] = [['CSeq', header(req, 'CSeq') ?? '0'], ['Server', 'keyhub-sim-camera'], ...headers];
    if (session.socket.writable) session.socket.write(serializeResponse(status, reason, all, body === undefined ? undefined : Buffer.from(body)));
  }

  #authorized(req: RtspRequest): boolean {
    if (this.faults.refuseAuth) return false;
    const cred = this.#opts.credentials;
    if (cred === undefined) return true;
    const value = header(req, 'Authorization');
    return value !== undefined && verifyDigest(value, { credentials: cred, realm: this.#opts.realm, nonce: this.#nonce, method: req.method });
  }

  #handle(session: Session, req: RtspRequest): void {
    keepLast(this.stats.requests, req.method);
    if (this.faults.slowLoris) return this.#slowLoris(session, req);
    if (!this.#authorized(req)) {
      return this.#reply(session, req, 401, 'Unauthorized', [['WWW-Authenticate', `Digest realm="${this.#opts.realm}", nonce="${this.#nonce}", qop="auth", algorithm=MD5`]]);
    }
    const base = this.url;
    const named = header(req, 'Session')?.split(';')[0]?.trim();
    if (named !== undefined) {
      // §12.37: a request naming the session keeps it alive, unless it has already ended.
      if (named !== session.id || session.expired) return this.#reply(session, req, 454, 'Session Not Found');
      if (!(req.method === 'GET_PARAMETER' && this.faults.noGetParameter)) session.refreshedAt = this.#opts.clock.monotonic();
    }
    const methods = `OPTIONS, DESCRIBE, SETUP, PLAY, ${this.faults.noGetParameter ? '' : 'GET_PARAMETER, '}TEARDOWN`;
    switch (req.method) {
      case 'OPTIONS':
        return this.#reply(session, req, 200, 'OK', [['Public', methods]]);
      case 'DESCRIBE': {
        const sdp = buildH264Sdp({ sessionName: 'keyhub sim camera', origin: this.#opts.host, payloadType: PAYLOAD_TYPE, sps: this.clip.sps, pps: this.clip.pps, control: 'trackID=0' });
        return this.#reply(session, req, 200, 'OK', [['Content-Base', `${base}/`], ['Content-Type', 'application/sdp']], sdp);
      }
      case 'SETUP':
        return this.#setup(session, req);
      case 'PLAY':
        if (named === undefined) return this.#reply(session, req, 454, 'Session Not Found');
        session.playing = true;
        return this.#reply(session, req, 200, 'OK', [['Session', session.id], ['RTP-Info', `url=${base}/trackID=0;seq=${session.sender.sequence & 0xffff};rtptime=${this.#source.rtpTime}`]]);
      case 'GET_PARAMETER':
        if (this.faults.noGetParameter) return this.#reply(session, req, 405, 'Method Not Allowed', [['Allow', methods]]);
        return this.#reply(session, req, 200, 'OK', [['Session', session.id]]);
      case 'TEARDOWN':
        session.playing = false;
        this.#reply(session, req, 200, 'OK', [['Session', session.id]]);
        session.socket.end();
        return;
      default:
        return this.#reply(session, req, 405, 'Method Not Allowed', [['Allow', methods]]);
    }
  }

  #setup(session: Session, req: RtspRequest): void {
    const transport = header(req, 'Transport') ?? '';
    if (session.expired) {
      // A new session on the same connection after the old one ended.
      session.id = randomBytes(8).toString('hex');
      session.expired = false;
    }
    session.refreshedAt = this.#opts.clock.monotonic();
    const sessionHeader: Header = ['Session', `${session.id};timeout=${this.#opts.sessionTimeoutS}`];
    const interleaved = /interleaved=(\d+)(?:-(\d+))?/.exec(transport);
    if (/RTP\/AVP\/TCP/i.test(transport) && interleaved !== null) {
      // A UDP-only server: some answer 461 Unsupported Transport (RFC 2326 §11.4.16), some 400.
      const refusal = this.faults.refuseTcp;
      if (refusal !== 0) return this.#reply(session, req, refusal, refusal === 461 ? 'Unsupported Transport' : 'Bad Request');
      session.channel = Number(interleaved[1]);
      return this.#reply(session, req, 200, 'OK', [sessionHeader, ['Transport', `RTP/AVP/TCP;unicast;interleaved=${session.channel}-${session.channel + 1};ssrc=${session.sender.ssrc.toString(16).padStart(8, '0')}`]]);
    }
    const clientPort = /client_port=(\d+)(?:-(\d+))?/.exec(transport);
    if (clientPort !== null && !this.faults.refuseUdp) {
      const remote = session.socket.remoteAddress ?? '127.0.0.1';
      session.udp = { host: remote.replace(/^::ffff:/, ''), port: Number(clientPort[1]) };
      const local = this.#udp?.address().port ?? 0; // and RTCP on local + 1
      return this.#reply(session, req, 200, 'OK', [sessionHeader, ['Transport', `RTP/AVP;unicast;client_port=${clientPort[1]}-${clientPort[2] ?? Number(clientPort[1]) + 1};server_port=${local}-${local + 1}`]]);
    }
    this.#reply(session, req, 461, 'Unsupported Transport');
  }

  #slowLoris(session: Session, req: RtspRequest): void {
    if (session.loris !== undefined) return;
    session.socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${header(req, 'CSeq') ?? '0'}\r\n`);
    let n = 0;
    session.loris = this.#opts.clock.setInterval(() => {
      if (!session.socket.writable) return session.loris?.cancel();
      session.socket.write(`X-Slow-${n++}: ${'z'.repeat(64)}\r\n`);
    }, 20);
  }

  #tick(): void {
    if (this.faults.down) this.dropConnections();
    this.#expire();
    const picture = this.#source.next(this.faults);
    this.stats.clipSwitches = this.#source.clipSwitches;
    if (picture === undefined) return;
    const { clip, frame, rtpTime, midGop } = picture;
    for (const session of this.#sessions) {
      if (!session.playing) continue;
      if (this.faults.garbage) {
        this.faults.garbage = false;
        session.socket.write(Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 1) & 0xff));
      }
      if (this.faults.freeze) continue;
      const firstSeq = session.sender.sequence;
      const packets = framePackets(clip, frame, rtpTime, session.sender, this.#opts.mtu);
      if (this.faults.closeMidGop && midGop) {
        // Half a picture, then the connection dies: the client holds a torn access unit.
        this.faults.closeMidGop = false;
        for (const p of packets.slice(0, Math.max(1, packets.length >> 1))) this.#send(session, p, 0);
        session.socket.destroy();
        continue;
      }
      // A camera drops frames for a viewer that cannot keep up rather than buffer without end.
      if (session.socket.writableLength > 8 * 1024 * 1024) continue;
      packets.forEach((p, i) => this.#send(session, p, firstSeq + i));
      session.framesSent++;
    }
  }

  /** Ends the sessions no request named for faults.expireAfterS (RFC 2326 §12.37). */
  #expire(): void {
    const afterMs = this.faults.expireAfterS * 1000;
    if (afterMs <= 0) return;
    const now = this.#opts.clock.monotonic();
    for (const session of this.#sessions) {
      if (!session.playing || now - session.refreshedAt <= afterMs) continue;
      session.expired = true;
      session.playing = false;
      this.stats.expiredSessions++;
    }
  }

  /** `seq`: the packet's sequence number as the uncut counter (what a client's extended number is). */
  #send(session: Session, packet: Uint8Array, seq: number): void {
    this.#packetCount++;
    if (this.faults.dropEvery > 0 && this.#packetCount % this.faults.dropEvery === 0) {
      this.stats.droppedPackets++;
      session.droppedSeqs.push(seq);
      return;
    }
    this.stats.rtpPackets++;
    session.packetsSent++;
    session.octetsSent += packet.length - 12;
    if (session.udp !== undefined) this.#udp?.send(packet, session.udp.port, session.udp.host);
    else if (session.socket.writable) session.socket.write(serializeInterleaved(session.channel, packet));
  }

  /** RFC 3550 §6.4.1: an SR per playing session, with the wall clock as NTP time and the RTP time of now. */
  #senderReports(): void {
    const ntp = ntpOf(this.#opts.clock.now());
    const junk = this.faults.badRtcp;
    this.faults.badRtcp = false;
    for (const session of this.#sessions) {
      if (!session.playing || this.faults.freeze) continue;
      if (junk) {
        // A length field pointing past the packet, then an APP packet (§6.7) a client must skip.
        this.#sendRtcp(session, Uint8Array.from([0x81, 200, 0x00, 0x40, 1, 2, 3, 4]));
        this.#sendRtcp(session, Uint8Array.from([0x80, 204, 0, 2, 0, 0, 0, 1, 0x6b, 0x65, 0x79, 0x68]));
      }
      const sr: SenderReport = { type: 'sr', ssrc: session.sender.ssrc, ...ntp, rtpTimestamp: this.#source.rtpTime, packetCount: session.packetsSent, octetCount: session.octetsSent, reports: [] };
      const packet = serializeRtcp([sr, { type: 'sdes', chunks: [{ ssrc: session.sender.ssrc, cname: `sim-camera@${this.#opts.host}` }] }]);
      keepLast(this.stats.senderReports, { session: session.id, ssrc: session.sender.ssrc, lsr: lsrOf(sr) });
      this.#sendRtcp(session, packet);
    }
  }

  #sendRtcp(session: Session, packet: Uint8Array): void {
    if (session.udp !== undefined) this.#udpRtcp?.send(packet, session.udp.port + 1, session.udp.host);
    else if (session.socket.writable) session.socket.write(serializeInterleaved(session.channel + 1, packet));
  }

  #receiveRtcp(session: string | undefined, bytes: Uint8Array): void {
    try {
      keepLast(this.stats.rtcp, { session, packets: parseRtcp(bytes) });
    } catch {
      this.stats.badRtcp++;
    }
  }
}
