import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock, Timer } from '../../hub/system/clock.js';
import { verifyDigest, type Credentials } from '../../protocols/rtsp/auth.js';
import { header, RtspReader, serializeInterleaved, serializeResponse, type Header, type RtspRequest } from '../../protocols/rtsp/message.js';
import { lsrOf, ntpOf, parseRtcp, serializeRtcp, type RtcpPacket, type SenderReport } from '../../protocols/rtsp/rtcp.js';
import { buildH264Sdp } from '../../protocols/rtsp/sdp.js';
import { loadH264Clip, type H264Clip } from './clip.js';
import { CLOCK_RATE, framePackets, PAYLOAD_TYPE, type RtpSender } from './packets.js';

/**
 * A door camera on the LAN, in TypeScript: RTSP/1.0 (RFC 2326) with Digest auth, one H.264 track
 * played in real time in a loop, RTP over TCP interleaved or UDP. Fault switches reproduce what
 * real cameras and attackers do; they can be flipped while sessions run.
 */
export interface CameraFaults {
  /** Keep TCP and answer RTSP, but send no RTP: the Wi-Fi deauthentication case. */
  freeze: boolean;
  /** Drop every Nth RTP packet (0: none). */
  dropEvery: number;
  /** Write binary junk into the RTSP/interleaved stream once, then go on. */
  garbage: boolean;
  /** Answer the next request with a header that never ends, one line at a time. */
  slowLoris: boolean;
  /** Close the TCP connection halfway through the next GOP. */
  closeMidGop: boolean;
  /** Answer every request 401, whatever the credentials. */
  refuseAuth: boolean;
  /** Send one malformed RTCP packet, then an APP packet, on the next sender report. */
  badRtcp: boolean;
}

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
}

/** An RTCP compound packet the camera received from a client, parsed. */
export interface ReceivedRtcp {
  /** The session it came in on (TCP), or undefined for the UDP RTCP port. */
  readonly session: string | undefined;
  readonly packets: readonly RtcpPacket[];
}

interface Session {
  socket: Socket;
  id: string;
  sender: RtpSender;
  /** The client's RTP port (and RTCP on port + 1) when it asked for UDP. */
  udp: { host: string; port: number } | undefined;
  channel: number;
  playing: boolean;
  framesSent: number;
  /** What an SR counts (§6.4.1): packets and payload octets sent. */
  packetsSent: number;
  octetsSent: number;
  /** Sequence numbers (uncut counter, as the client's extended numbers run) the drop switch ate. */
  droppedSeqs: number[];
  loris: Timer | undefined;
}

export class SimCamera {
  readonly faults: CameraFaults = { freeze: false, dropEvery: 0, garbage: false, slowLoris: false, closeMidGop: false, refuseAuth: false, badRtcp: false };
  readonly stats = {
    connections: 0,
    requests: [] as string[],
    rtpPackets: 0,
    droppedPackets: 0,
    /** RTCP the clients sent (receiver reports, SDES, BYE), in arrival order. */
    rtcp: [] as ReceivedRtcp[],
    /** RTCP that did not parse. */
    badRtcp: 0,
    /** Sender reports sent: the session, the SSRC and the LSR value a client should echo. */
    senderReports: [] as Array<{ session: string; ssrc: number; lsr: number }>,
    /** Per session: sequence numbers dropped by the drop switch. */
    dropped: new Map<string, number[]>(),
    /** Clip switches done (switchClip). */
    clipSwitches: 0,
  };
  #clip: H264Clip;
  #nextClip: H264Clip | undefined;
  readonly #opts: Required<Omit<SimCameraOptions, 'credentials' | 'clipPath'>> & { credentials: Credentials | undefined };
  readonly #sessions = new Set<Session>();
  readonly #nonce = randomBytes(16).toString('hex');
  #server: Server | undefined;
  #udp: UdpSocket | undefined;
  #udpRtcp: UdpSocket | undefined;
  #ticker: Timer | undefined;
  #reporter: Timer | undefined;
  #frame = 0;
  #rtpTime = randomInt(0, 2 ** 32);
  #packetCount = 0;
  #port = 0;

  constructor(options: SimCameraOptions) {
    this.#clip = loadH264Clip(options.clipPath, options.fps ?? 30);
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
    return this.#clip;
  }

  /**
   * Switches to another clip at the next keyframe, as a camera does when its resolution is
   * changed: the new SPS and PPS go in-band (STAP-A) before the new clip's first IDR; the SDP of
   * sessions already set up still describes the old one.
   */
  switchClip(path: string): void {
    this.#nextClip = loadH264Clip(path, this.#opts.fps);
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
    socket.setNoDelay(true);
    const session: Session = {
      socket,
      id: randomBytes(8).toString('hex'),
      sender: { ssrc: randomInt(0, 2 ** 32), sequence: randomInt(0, 65536) },
      udp: undefined,
      channel: 0,
      playing: false,
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
    switch (req.method) {
      case 'OPTIONS':
        return this.#reply(session, req, 200, 'OK', [['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN']]);
      case 'DESCRIBE': {
        const sdp = buildH264Sdp({ sessionName: 'keyhub sim camera', origin: this.#opts.host, payloadType: PAYLOAD_TYPE, sps: this.clip.sps, pps: this.clip.pps, control: 'trackID=0' });
        return this.#reply(session, req, 200, 'OK', [['Content-Base', `${base}/`], ['Content-Type', 'application/sdp']], sdp);
      }
      case 'SETUP':
        return this.#setup(session, req);
      case 'PLAY':
        if (header(req, 'Session')?.split(';')[0] !== session.id) return this.#reply(session, req, 454, 'Session Not Found');
        session.playing = true;
        return this.#reply(session, req, 200, 'OK', [['Session', session.id], ['RTP-Info', `url=${base}/trackID=0;seq=${session.sender.sequence & 0xffff};rtptime=${this.#rtpTime >>> 0}`]]);
      case 'GET_PARAMETER':
        return this.#reply(session, req, 200, 'OK', [['Session', session.id]]);
      case 'TEARDOWN':
        session.playing = false;
        this.#reply(session, req, 200, 'OK', [['Session', session.id]]);
        session.socket.end();
        return;
      default:
        return this.#reply(session, req, 405, 'Method Not Allowed', [['Allow', 'OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN']]);
    }
  }

  #setup(session: Session, req: RtspRequest): void {
    const transport = header(req, 'Transport') ?? '';
    const sessionHeader: Header = ['Session', `${session.id};timeout=${this.#opts.sessionTimeoutS}`];
    const interleaved = /interleaved=(\d+)(?:-(\d+))?/.exec(transport);
    if (/RTP\/AVP\/TCP/i.test(transport) && interleaved !== null) {
      session.channel = Number(interleaved[1]);
      return this.#reply(session, req, 200, 'OK', [sessionHeader, ['Transport', `RTP/AVP/TCP;unicast;interleaved=${session.channel}-${session.channel + 1};ssrc=${session.sender.ssrc.toString(16).padStart(8, '0')}`]]);
    }
    const clientPort = /client_port=(\d+)(?:-(\d+))?/.exec(transport);
    if (clientPort !== null) {
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
    if (this.#nextClip !== undefined && this.#clip.frames[this.#frame]?.key === true) {
      this.#clip = this.#nextClip;
      this.#nextClip = undefined;
      this.#frame = 0;
      this.stats.clipSwitches++;
    }
    const clip = this.#clip;
    const frame = clip.frames[this.#frame];
    if (frame === undefined) return;
    const rtpTime = this.#rtpTime;
    const midGop = this.#frame % clip.gop === Math.floor(clip.gop / 2);
    this.#frame = (this.#frame + 1) % clip.frames.length;
    // The clock rate is 90 kHz for all video (RFC 6184 §8.2.1); timestamps keep rising across loops.
    this.#rtpTime = (this.#rtpTime + Math.round(CLOCK_RATE / this.#opts.fps)) >>> 0;
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
      const sr: SenderReport = { type: 'sr', ssrc: session.sender.ssrc, ...ntp, rtpTimestamp: this.#rtpTime >>> 0, packetCount: session.packetsSent, octetCount: session.octetsSent, reports: [] };
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

/** How many records each stats list keeps (the newest), and how many sessions' drop lists. */
const STATS_KEPT_RECORDS = 10_000;
const STATS_KEPT_SESSIONS = 64;

function keepLast<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > STATS_KEPT_RECORDS) list.splice(0, list.length - STATS_KEPT_RECORDS);
}

async function bindUdpPair(host: string): Promise<{ rtp: UdpSocket; rtcp: UdpSocket }> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const bind = (port: number): Promise<UdpSocket | undefined> =>
    new Promise((resolve) => {
      const socket = createSocket(type);
      socket.once('error', () => {
        socket.close();
        resolve(undefined);
      });
      socket.bind(port, host, () => {
        socket.removeAllListeners('error');
        // A send to a client that went away fails asynchronously; the sim goes on.
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const rtp = await bind(0);
    const port = rtp?.address().port ?? 1;
    if (rtp === undefined || port % 2 !== 0) {
      rtp?.close();
      continue;
    }
    const rtcp = await bind(port + 1);
    if (rtcp !== undefined) return { rtp, rtcp };
    rtp.close();
  }
  throw new Error('sim camera: no free UDP port pair');
}
