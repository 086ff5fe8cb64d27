import { bytesEqual } from '../../protocols/cbor/canonical.js';
import type { Credentials } from '../../protocols/rtsp/auth.js';
import type { AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';
import { parseSps } from '../../protocols/rtsp/h264-sps.js';
import type { H264Track } from '../../protocols/rtsp/sdp.js';
import type { TransportKind } from '../../protocols/rtsp/transport.js';
import { sleep, type Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { Frame } from './frame.js';
import { FrozenPictureWatch } from './frozen-picture.js';
import { LivenessWatch, type Stall, type StallReason } from './liveness.js';
import { PreRollRing } from './preroll.js';
import type { RtcpReporter } from './rtcp-reporter.js';
import { openRtspSession, redactUrl, type RtspSession } from './rtsp-session.js';
import { MediaTimeline } from './timeline.js';

/**
 * The door camera as the hub sees it: one RTSP session kept up for as long as the hub runs
 * (reconnecting with jittered backoff), a pre-roll ring, a liveness watch, and a fan-out of frames
 * to the recorder and live viewers. It never decodes video.
 */
export interface CameraOptions {
  url: string;
  credentials?: Credentials | undefined;
  /**
   * Config `camera.transport`. `auto` (the default) asks for RTP over TCP and falls back to UDP
   * when the camera refuses TCP in its SETUP answer (461 or 400); `tcp` and `udp` take only that.
   */
  transport?: 'auto' | TransportKind;
  clock: Clock;
  log: Logger;
  /** Config `camera.stallS`: no new picture for this long is a stall (default 3 s). */
  stallS?: number;
  /** Config `camera.frozenKeyframes`: identical keyframes in a row that are a frozen picture (default 3). */
  frozenKeyframes?: number;
  /** Config `camera.preRollS` (default 10 s). */
  preRollS?: number;
  preRollMaxBytes?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** In [0, 1); injected so tests can pin the jitter. */
  random?: () => number;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /**
   * While streaming over TCP, gather bytes this long between socket reads
   * (hub/camera/rtsp-connection.ts): a wakeup then takes a few pictures instead of a few packets,
   * which cuts the recorder's CPU by about a third (test/bench/camera.bench.ts). Arrival times
   * (liveness, RTCP jitter) are then known to this precision. Default 100 ms; 0 reads at once.
   */
  readBatchMs?: number;
}

/** What goes into the audit log when the camera stalls. */
export interface StallRecord {
  readonly type: 'camera.stall';
  readonly code: ErrorCode.CAMERA_STALL;
  readonly codeName: 'CAMERA_STALL';
  /** Wall time of detection (ms since epoch). */
  readonly at: number;
  readonly reason: StallReason;
  /** From the last real picture to the detection. */
  readonly silentForMs: number;
  readonly thresholdMs: number;
}

export type CameraEvent =
  /** Healthy: a session delivers real pictures (after each connect; after `recovered` when it ends a stall). */
  | { type: 'streaming'; width: number; height: number; transport: TransportKind }
  /** A keyframe brought new parameter sets (the camera's resolution or encoding changed). */
  | { type: 'format-changed'; width: number; height: number }
  /** Pictures stopped: one event per incident, however many reconnects it lasts. */
  | { type: 'stall'; error: HubError; record: StallRecord }
  /** Pictures are back: the incident's end, `outageMs` from its last picture to this one. */
  | { type: 'recovered'; outageMs: number; reason: StallReason }
  | { type: 'session-ended'; error: HubError; retryInMs: number };

/** What `keyhub status` and the logs say about the camera. */
export interface CameraStatus {
  readonly healthy: boolean;
  readonly state: 'connecting' | 'streaming' | 'stalled';
  readonly configuredTransport: 'auto' | TransportKind;
  /** The transport of the session up now, or of the last one. */
  readonly transport: TransportKind | undefined;
  readonly stall: { readonly reason: StallReason; readonly silentForMs: number } | undefined;
  readonly lastError: string | undefined;
  /** RTP timestamp jumps the timeline was re-based at. */
  readonly discontinuities: number;
}

const REASON_TEXT: Record<StallReason, string> = {
  silence: 'no picture from the camera',
  disconnected: 'no connection to the camera',
  'frozen-picture': 'the camera keeps sending the same picture',
  'frozen-timestamps': "the camera's RTP timestamps stopped advancing",
};

export class Camera implements Module {
  readonly name = 'camera';
  readonly #opts: CameraOptions;
  readonly #log: Logger;
  readonly #ring: PreRollRing;
  readonly #liveness: LivenessWatch;
  readonly #frozen: FrozenPictureWatch;
  readonly #timeline = new MediaTimeline();
  readonly #stallMs: number;
  readonly #frameListeners = new Set<(frame: Frame) => void>();
  readonly #eventListeners = new Set<(event: CameraEvent) => void>();
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #session: RtspSession | undefined;
  #healthy = false;
  /** With `auto`: the transport that worked last, tried first on the next connection. */
  #preferred: TransportKind = 'tcp';
  #transport: TransportKind | undefined;
  /** A real picture came in the current session (the backoff starts over after one). */
  #streamed = false;
  /** A timestamp jump was logged at info in the current session. */
  #jumpLogged = false;
  #lastError: HubError | undefined;
  /** The parameter sets of the last keyframe. */
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  constructor(options: CameraOptions) {
    this.#opts = options;
    this.#log = options.log;
    const preRollS = options.preRollS ?? 10;
    this.#ring = new PreRollRing({ seconds: preRollS, maxBytes: options.preRollMaxBytes ?? 48 * 1024 * 1024 });
    this.#stallMs = (options.stallS ?? 3) * 1000;
    this.#frozen = new FrozenPictureWatch(options.frozenKeyframes ?? 3);
    this.#liveness = new LivenessWatch({
      clock: options.clock,
      stallMs: this.#stallMs,
      onStall: (stall) => this.#stall(stall),
      onSilentSession: (silentForMs) => {
        // The session plays but brings nothing new: drop it and let the loop reconnect.
        void this.#session?.close(new HubError(ErrorCode.CAMERA_STALL, `no new picture for ${Math.round(silentForMs)} ms in this session (threshold ${this.#stallMs} ms)`));
      },
    });
  }

  /** True while pictures flow and have since a keyframe after the last stall or reconnect. */
  healthy(): boolean {
    return this.#healthy;
  }

  get lastError(): HubError | undefined {
    return this.#lastError;
  }

  status(): CameraStatus {
    const stall = this.#liveness.stall;
    return {
      healthy: this.#healthy,
      state: this.#healthy ? 'streaming' : stall === undefined ? 'connecting' : 'stalled',
      configuredTransport: this.#opts.transport ?? 'auto',
      transport: this.#transport,
      stall: stall === undefined ? undefined : { reason: stall.reason, silentForMs: Math.round(this.#opts.clock.monotonic() - stall.lastPictureAt) },
      lastError: this.#lastError?.toLine(),
      discontinuities: this.#timeline.discontinuities,
    };
  }

  /** RTCP of the current session (reception statistics, the camera's last SR), if one is up. */
  get rtcp(): RtcpReporter | undefined {
    return this.#session?.rtcp;
  }

  preRoll(): Frame[] {
    return this.#ring.snapshot();
  }

  latestGop(): Frame[] {
    return this.#ring.latestGop();
  }

  /** Listeners run synchronously per frame and must not block: queue and return. */
  onFrame(listener: (frame: Frame) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  onEvent(listener: (event: CameraEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  start(): void {
    // The hub runs without a camera (it then refuses entries); connecting happens in the background.
    this.#abort = new AbortController();
    this.#liveness.start();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort(new HubError(ErrorCode.CAMERA_DISCONNECTED, 'camera module stopping'));
    await this.#session?.close();
    await this.#loop;
    this.#liveness.stop();
    this.#healthy = false;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { initialMs, maxMs } = this.#opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const random = this.#opts.random ?? Math.random;
    const configured = this.#opts.transport ?? 'auto';
    let attempt = 0;
    while (!signal.aborted) {
      let failure: HubError;
      this.#streamed = false;
      this.#jumpLogged = false;
      try {
        const first = configured === 'auto' ? this.#preferred : configured;
        const session = await openRtspSession({
          url: this.#opts.url,
          credentials: this.#opts.credentials,
          transports: configured === 'auto' ? [first, first === 'tcp' ? 'udp' : 'tcp'] : [configured],
          configuredTransport: configured,
          clock: this.#opts.clock,
          log: this.#log,
          ...(this.#opts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#opts.connectTimeoutMs }),
          ...(this.#opts.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: this.#opts.responseTimeoutMs }),
          readBatchMs: this.#opts.readBatchMs ?? 100,
          signal,
          ...(this.#opts.random === undefined ? {} : { random: this.#opts.random }),
          onAccessUnit: (au, track) => this.#accessUnit(au, track),
        });
        this.#session = session;
        this.#timeline.newSession();
        this.#liveness.sessionPlaying();
        this.#transport = session.transport;
        if (configured === 'auto') this.#preferred = session.transport;
        const refused = session.refused.map((r) => `${r.transport} ${r.status} ${r.reason}`);
        this.#log.info(
          { url: redactUrl(this.#opts.url), transport: session.transport, configuredTransport: configured, keepAlive: session.keepAlive, ...(refused.length === 0 ? {} : { refused }) },
          `camera session playing over RTP/${session.transport.toUpperCase()}${refused.length === 0 ? '' : ` (the camera refused ${refused.join(', ')})`}`,
        );
        if (signal.aborted) await session.close();
        failure = await session.ended;
      } catch (err) {
        failure = err instanceof HubError ? err : new HubError(ErrorCode.CAMERA_PROTOCOL_ERROR, String(err), { cause: err });
      }
      this.#session = undefined;
      this.#liveness.sessionEnded();
      this.#ring.breakGop();
      this.#healthy = false;
      this.#lastError = failure;
      if (signal.aborted) break;
      if (this.#streamed) attempt = 0;
      // Exponential backoff with "equal jitter": never hammer a rebooting camera in lockstep.
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
      const retryInMs = Math.round(ceiling / 2 + (random() * ceiling) / 2);
      attempt++;
      this.#log.warn({ err: failure.toLine(), retryInMs }, 'camera session ended');
      this.#emit({ type: 'session-ended', error: failure, retryInMs });
      try {
        await sleep(this.#opts.clock, retryInMs, signal);
      } catch {
        break;
      }
    }
  }

  #accessUnit(au: AccessUnit, track: H264Track): void {
    const now = this.#opts.clock.monotonic();
    const placed = this.#timeline.place(au.rtpTime, track.clockRate, now);
    if (placed.discontinuity !== undefined) {
      // Once a session at info: a camera whose timestamps jump on every picture must not flood the log.
      const level = this.#jumpLogged ? 'debug' : 'info';
      this.#jumpLogged = true;
      this.#log[level]({ jump: placed.discontinuity, time: placed.time, discontinuities: this.#timeline.discontinuities }, 'camera RTP timestamps jumped; timeline re-based');
    }
    // A picture is new when its timestamp moved and it is not part of a frozen picture. While
    // timestamps stand still, a session's first picture proves nothing: it has none to compare with.
    let real = !placed.stoodStill && !(placed.anchored && this.#liveness.stall?.reason === 'frozen-timestamps');
    if (placed.stoodStill) this.#liveness.repeat(now);
    if (au.key) {
      if (this.#frozen.keyframe(au, now)) {
        real = false;
        this.#liveness.frozen(this.#frozen.runStartedAt);
      }
    } else if (this.#frozen.frozen) {
      real = false;
    }
    if (real) {
      this.#streamed = true;
      if (au.key) this.#keyframe(au, now);
      this.#liveness.picture(now);
    }
    const frame: Frame = { au, time: placed.time, receivedAt: now };
    this.#ring.push(frame);
    for (const listener of this.#frameListeners) {
      try {
        listener(frame);
      } catch (err) {
        this.#log.error({ err }, 'camera frame listener threw');
      }
    }
  }

  #keyframe(au: AccessUnit, now: number): void {
    const sps = this.#sps;
    const pps = this.#pps;
    this.#sps = au.sps;
    this.#pps = au.pps;
    if (!this.#healthy) {
      this.#becomeHealthy(au, now);
      return;
    }
    // Most cameras repeat the same parameter sets before every IDR: equal bytes are no change. A
    // new PPS alone is a change too: the recorder starts a new clip for it (hub/camera/fmp4.ts).
    const changed = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && a !== b && !bytesEqual(a, b);
    if (changed(sps, au.sps) || changed(pps, au.pps)) {
      const size = sizeOf(au.sps);
      this.#log.info(size, 'camera picture format changed');
      this.#emit({ type: 'format-changed', ...size });
    }
  }

  #becomeHealthy(au: AccessUnit, now: number): void {
    this.#healthy = true;
    const recovery = this.#liveness.recover(now);
    if (recovery !== undefined) {
      this.#log.info({ outageMs: Math.round(recovery.outageMs), reason: recovery.reason, transport: this.#transport }, 'camera recovered');
      this.#emit({ type: 'recovered', outageMs: recovery.outageMs, reason: recovery.reason });
    }
    const size = sizeOf(au.sps);
    const transport = this.#transport ?? 'tcp';
    this.#log.info({ ...size, transport }, 'camera streaming');
    this.#emit({ type: 'streaming', ...size, transport });
  }

  #stall(stall: Stall): void {
    this.#healthy = false;
    const error = new HubError(ErrorCode.CAMERA_STALL, `${REASON_TEXT[stall.reason]} for ${Math.round(stall.silentForMs)} ms (threshold ${this.#stallMs} ms)`);
    const record: StallRecord = {
      type: 'camera.stall',
      code: ErrorCode.CAMERA_STALL,
      codeName: 'CAMERA_STALL',
      at: this.#opts.clock.now(),
      reason: stall.reason,
      silentForMs: stall.silentForMs,
      thresholdMs: this.#stallMs,
    };
    this.#log.error({ err: error.toLine(), reason: stall.reason }, 'camera stall');
    this.#emit({ type: 'stall', error, record });
    // The session is dropped by the liveness watch once it has played stallS without a real
    // picture (at once for one that long up; a session that has only just answered PLAY, as at
    // boot after a slow DESCRIBE, gets its stallS).
  }

  #emit(event: CameraEvent): void {
    for (const listener of this.#eventListeners) listener(event);
  }
}

function sizeOf(sps: Uint8Array): { width: number; height: number } {
  try {
    const { width, height } = parseSps(sps);
    return { width, height };
  } catch {
    return { width: 0, height: 0 }; // informative only; the muxer reads the SPS again
  }
}
