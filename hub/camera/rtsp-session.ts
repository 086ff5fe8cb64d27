import type { Socket as UdpSocket } from 'node:dgram';
import type { Credentials } from '../../protocols/rtsp/auth.js';
import { H264Depacketizer, type AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';
import { keepAliveIntervalMs, keepAliveMethod, parseSessionHeader, type KeepAliveMethod } from '../../protocols/rtsp/keep-alive.js';
import { header, serializeInterleaved, type ReaderLimits, type RtspResponse } from '../../protocols/rtsp/message.js';
import { h264Track, parseSdp, resolveControl, type H264Track } from '../../protocols/rtsp/sdp.js';
import { parseTransport, refusesTransport, transportRequest, type TransportKind } from '../../protocols/rtsp/transport.js';
import type { Clock, Timer } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import { startKeepAlive, type KeepAlive } from './keep-alive.js';
import { RtcpReporter } from './rtcp-reporter.js';
import { abortError, protocolError, RtspConnection } from './rtsp-connection.js';
import { bindUdpPair } from './udp-ports.js';

/**
 * One RTSP session (RFC 2326 §A.1): OPTIONS, DESCRIBE (following redirects), SETUP, PLAY, then
 * keep-alive until closed. Access units come out of `onAccessUnit`; when anything ends the session,
 * `ended` resolves with the reason. Reconnecting is the caller's job (hub/camera/camera.ts).
 */
export interface SessionOptions {
  /** rtsp://host[:port]/path, credentials NOT in it. */
  url: string;
  credentials: Credentials | undefined;
  /**
   * RTP transports to SETUP, in order: when the camera refuses one (461, or 400: see
   * protocols/rtsp/transport.ts), the next is tried on the same connection.
   */
  transports: readonly [TransportKind, ...TransportKind[]];
  /** Config `camera.transport`, which the error names when every transport was refused. */
  configuredTransport?: 'auto' | TransportKind;
  clock: Clock;
  log: Logger;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  limits?: Partial<ReaderLimits>;
  maxRedirects?: number;
  /** ConnectionOptions.readBatchMs once the stream plays (requests before PLAY are answered without delay). */
  readBatchMs?: number;
  onAccessUnit(au: AccessUnit, track: H264Track): void;
  /** In [0, 1): the RTCP interval's randomness (tests pin it). */
  random?: () => number;
  /** Aborts the handshake wherever it is (TCP connect or any request): the camera module stopping. */
  signal?: AbortSignal;
}

/** A SETUP the camera refused for its transport. */
export interface TransportRefusal {
  readonly transport: TransportKind;
  readonly status: number;
  readonly reason: string;
}

export interface RtspSession {
  readonly track: H264Track;
  /** The transport the camera took. */
  readonly transport: TransportKind;
  /** Transports it refused before that one. */
  readonly refused: readonly TransportRefusal[];
  /** What keeps the session alive now (the server's Public list decides, RFC 2326 §12.28). */
  readonly keepAlive: KeepAliveMethod;
  readonly ended: Promise<HubError>;
  readonly depacketizer: H264Depacketizer;
  /** RTCP as a receiver: statistics, the camera's sender reports, our receiver reports. */
  readonly rtcp: RtcpReporter;
  close(reason?: HubError): Promise<void>;
}

const DEFAULT_PORT = 554; // RFC 2326 §3.2

/** The URL as logs may show it: never user info (credentials never appear in logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return '<unparseable url>';
  }
}

export async function openRtspSession(opts: SessionOptions): Promise<RtspSession> {
  const responseTimeoutMs = opts.responseTimeoutMs ?? 5_000;
  // User info never goes on the wire or into a log line; it is only a place to carry credentials.
  const credentials = opts.credentials ?? credentialsFromUrl(opts.url);
  let url = redactUrl(opts.url);
  let conn: RtspConnection | undefined;
  let describe: RtspResponse | undefined;
  let publicHeader: string | undefined;
  let udp: { rtp: UdpSocket; rtcp: UdpSocket } | undefined;
  let onFrame: (channel: number, bytes: Uint8Array, start: number, end: number) => void = () => {};
  let onRead: () => void = () => {};
  // A stop must not wait for a slow or silent camera to answer four requests (up to
  // responseTimeoutMs each): an abort fails the connection at once, and every pending request with it.
  const onAbort = (): void => conn?.fail(abortError(opts.signal));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    opts.signal?.throwIfAborted();
    for (let hop = 0; ; hop++) {
      const target = new URL(url);
      if (!/^rtsp:$/i.test(target.protocol)) throw new HubError(ErrorCode.CAMERA_UNSUPPORTED, `camera URL scheme ${target.protocol} (rtsp: only)`);
      conn = await RtspConnection.open({
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port === '' ? DEFAULT_PORT : Number(target.port),
        clock: opts.clock,
        credentials,
        connectTimeoutMs: opts.connectTimeoutMs ?? 5_000,
        responseTimeoutMs,
        ...(opts.limits === undefined ? {} : { limits: opts.limits }),
        onFrame: (ch, bytes, start, end) => onFrame(ch, bytes, start, end),
        onRead: () => onRead(),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
      if (opts.signal?.aborted === true) conn.fail(abortError(opts.signal));
      publicHeader = header(await conn.request('OPTIONS', url), 'Public');
      describe = await conn.request('DESCRIBE', url, [['Accept', 'application/sdp']]);
      const location = header(describe, 'Location');
      // RFC 2326 §11.3.3–11.3.5: 3xx redirects carry the new URL in Location.
      if (describe.status >= 300 && describe.status < 400 && location !== undefined) {
        if (hop >= (opts.maxRedirects ?? 3)) throw new HubError(ErrorCode.CAMERA_REQUEST_FAILED, `more than ${opts.maxRedirects ?? 3} redirects`);
        opts.log.info({ from: redactUrl(url), to: redactUrl(location) }, 'camera redirected');
        conn.fail(new HubError(ErrorCode.CAMERA_DISCONNECTED, 'redirected'));
        url = new URL(location, url).href;
        continue;
      }
      break;
    }
    expectOk(describe, 'DESCRIBE');
    let track: H264Track;
    let sessionControl: string | undefined;
    try {
      const sdp = parseSdp(Buffer.from(describe.body).toString('utf8'));
      sessionControl = sdp.control;
      track = h264Track(sdp);
    } catch (err) {
      throw protocolError(err, 'session description');
    }
    // RFC 2326 §C.1.1: Content-Base, then Content-Location, then the request URL.
    const base = header(describe, 'Content-Base') ?? header(describe, 'Content-Location') ?? url;
    const trackUrl = resolveControl(base, track.control);
    const depacketizer = new H264Depacketizer({ payloadType: track.payloadType, sps: track.sps, pps: track.pps });
    const active = conn;
    const emit = (au: AccessUnit): void => opts.onAccessUnit(au, track);
    let arrival = 0;
    let rtcpTarget: ((packet: Uint8Array) => void) | undefined;
    const rtcp = new RtcpReporter({
      clock: opts.clock,
      clockRate: track.clockRate,
      ...(opts.random === undefined ? {} : { random: opts.random }),
      send: (packet) => rtcpTarget?.(packet),
    });
    const onRtp = (bytes: Uint8Array, start: number, end: number): void => {
      try {
        depacketizer.pushBytes(bytes, start, end, emit);
      } catch (err) {
        // Only the RTP header parse throws (the depacketizer drops bad payloads itself); a
        // listener's throw lands here too and ends the session rather than vanish.
        active.fail(protocolError(err, 'RTP'));
        return;
      }
      const h = depacketizer.header;
      if (h.payloadType === track.payloadType) rtcp.rtp(h.ssrc, h.sequence, h.timestamp, arrival);
    };
    const onRtcp = (bytes: Uint8Array, start: number, end: number): void => rtcp.rtcp(bytes, start, end);
    // RFC 2326 §10.12: RTP on the first interleaved channel, RTCP on the second, as SETUP agrees.
    let channels = { rtp: 0, rtcp: 1 };
    onRead = () => (arrival = opts.clock.monotonic());
    onFrame = (channel, bytes, start, end) => {
      if (channel === channels.rtp) onRtp(bytes, start, end);
      else if (channel === channels.rtcp) onRtcp(bytes, start, end);
    };
    const bindUdp = async (): Promise<{ rtp: UdpSocket; rtcp: UdpSocket }> => {
      const pair = await bindUdpPair(active.localAddress);
      pair.rtp.on('message', (msg) => {
        arrival = opts.clock.monotonic();
        onRtp(msg, 0, msg.length);
      });
      pair.rtcp.on('message', (msg) => onRtcp(msg, 0, msg.length));
      return pair;
    };
    const refused: TransportRefusal[] = [];
    let setup: RtspResponse | undefined;
    let transport: TransportKind | undefined;
    for (const kind of opts.transports) {
      if (kind === 'udp') udp ??= await bindUdp();
      const res = await active.request('SETUP', trackUrl, [['Transport', transportRequest(kind, udp?.rtp.address().port)]]);
      if (refusesTransport(res.status)) {
        refused.push({ transport: kind, status: res.status, reason: res.reason });
        continue;
      }
      expectOk(res, 'SETUP');
      setup = res;
      transport = kind;
      break;
    }
    if (setup === undefined || transport === undefined) throw transportRefused(refused, opts.configuredTransport ?? 'auto');
    if (transport === 'tcp' && udp !== undefined) {
      // UDP was tried first and refused: its sockets are not this session's.
      udp.rtp.close();
      udp.rtcp.close();
      udp = undefined;
    }
    const chosen = parseTransport(header(setup, 'Transport') ?? '');
    if (udp === undefined) {
      channels = chosen.interleaved ?? channels;
      const channel = channels.rtcp;
      rtcpTarget = (packet) => active.write(serializeInterleaved(channel, packet));
    } else if (chosen.serverPorts !== undefined) {
      const { rtcp: rtcpSocket } = udp;
      const port = chosen.serverPorts.rtcp;
      const host = active.remoteAddress;
      rtcpTarget = (packet) => rtcpSocket.send(packet, port, host);
    }
    const sessionHeader = header(setup, 'Session');
    if (sessionHeader === undefined) throw new HubError(ErrorCode.CAMERA_PROTOCOL_ERROR, 'SETUP answer without a Session header');
    const session = parseSessionHeader(sessionHeader);
    if (session === undefined) throw new HubError(ErrorCode.CAMERA_PROTOCOL_ERROR, 'SETUP answer with an unusable Session id');
    const sessionId = session.id;
    // PLAY addresses the aggregate (session-level control, §C.1.1).
    const play = await active.request('PLAY', resolveControl(base, sessionControl), [['Session', sessionId], ['Range', 'npt=0.000-']]);
    expectOk(play, 'PLAY');
    active.readBatchMs = opts.readBatchMs ?? 0;
    rtcp.start();
    // §12.37: the server ends a session left without requests for its timeout; RTCP alone does
    // not count for every server, so a request refreshes it, of a method the server offers.
    let keepAlive: KeepAlive | undefined = startKeepAlive({
      clock: opts.clock,
      log: opts.log,
      intervalMs: keepAliveIntervalMs(session.timeoutS),
      method: keepAliveMethod(publicHeader),
      request: (method) => active.request(method, url, [['Session', sessionId]]),
      fail: (err) => active.fail(err),
    });
    const boundUdp = udp;
    return {
      track,
      transport,
      refused,
      get keepAlive() {
        return keepAlive?.method ?? keepAliveMethod(publicHeader);
      },
      depacketizer,
      rtcp,
      ended: active.closed.then((err) => {
        keepAlive?.cancel();
        keepAlive = undefined;
        rtcp.stop(false);
        boundUdp?.rtp.close();
        boundUdp?.rtcp.close();
        return err;
      }),
      async close(reason) {
        keepAlive?.cancel();
        keepAlive = undefined;
        rtcp.stop(true); // RFC 3550 §6.6: BYE when leaving the session
        // TEARDOWN is a courtesy so the camera frees the session; it must not hold up a stop.
        let cap: Timer | undefined;
        const capped = new Promise<void>((resolve) => (cap = opts.clock.setTimeout(resolve, 1_000)));
        await Promise.race([active.request('TEARDOWN', url, [['Session', sessionId]]).catch(() => undefined), active.closed, capped]);
        cap?.cancel();
        active.fail(reason ?? new HubError(ErrorCode.CAMERA_DISCONNECTED, 'session closed by the hub'));
      },
    };
  } catch (err) {
    const failure = protocolError(err, 'camera session');
    conn?.fail(failure);
    udp?.rtp.close();
    udp?.rtcp.close();
    throw failure;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function credentialsFromUrl(url: string): Credentials | undefined {
  try {
    const u = new URL(url);
    return u.username === '' ? undefined : { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  } catch {
    return undefined;
  }
}

function expectOk(res: RtspResponse, method: string): void {
  if (res.status < 200 || res.status >= 300) throw new HubError(ErrorCode.CAMERA_REQUEST_FAILED, `${method} answered ${res.status} ${res.reason}`);
}

const TRANSPORT_NAME: Record<TransportKind, string> = { tcp: 'RTP over TCP', udp: 'RTP over UDP' };

/**
 * Every transport tried was refused. With one configured explicitly, the error names the other
 * (and auto), so the installer sees the way forward in the first line of the log.
 */
function transportRefused(refused: readonly TransportRefusal[], configured: 'auto' | TransportKind): HubError {
  const what = refused.map((r) => `${TRANSPORT_NAME[r.transport]} (SETUP answered ${r.status} ${r.reason})`).join(' and ');
  if (configured === 'auto') return new HubError(ErrorCode.CAMERA_TRANSPORT_REFUSED, `camera refused ${what}: it offers no transport the hub speaks`);
  const other: TransportKind = configured === 'tcp' ? 'udp' : 'tcp';
  return new HubError(
    ErrorCode.CAMERA_TRANSPORT_REFUSED,
    `camera refused ${what}; camera.transport is "${configured}": set it to "${other}", or to "auto" (the default), which falls back from TCP to UDP by itself`,
  );
}
