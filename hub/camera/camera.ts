import { bytesEqual } from '../../protocols/cbor/canonical.js';
import type { Credentials } from '../../protocols/rtsp/auth.js';
import type { AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';
import { parseSps } from '../../protocols/rtsp/h264-sps.js';
import type { H264Track } from '../../protocols/rtsp/sdp.js';
import { sleep, type Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { Frame } from './frame.js';
import { LivenessWatch } from './liveness.js';
import { PreRollRing } from './preroll.js';
import type { RtcpReporter } from './rtcp-reporter.js';
import { openRtspSession, redactUrl, type RtspSession } from './rtsp-session.js';

/**
 * The door camera as the hub sees it: one RTSP session kept up for as long as the hub runs
 * (reconnecting with jittered backoff), a pre-roll ring, a liveness watch, and a fan-out of frames
 * to the recorder and live viewers. It never decodes video.
 */
export interface CameraOptions {
  url: string;
  credentials?: Credentials | undefined;
  transport?: 'tcp' | 'udp';
  clock: Clock;
  log: Logger;
  /** Config `camera.stallS`: silence that counts as a stall (default 3 s). */
  stallS?: number;
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
  readonly silentForMs: number;
  readonly thresholdMs: number;
}

export type CameraEvent =
  | { type: 'streaming'; width: number; height: number }
  /** A keyframe brought new parameter sets (the camera's resolution or encoding changed). */
  | { type: 'format-changed'; width: number; height: number }
  | { type: 'stall'; error: HubError; record: StallRecord }
  | { type: 'recovered'; afterMs: number }
  | { type: 'session-ended'; error: HubError; retryInMs: number };

export class Camera implements Module {
  readonly name = 'camera';
  readonly #opts: CameraOptions;
  readonly #log: Logger;
  readonly #ring: PreRollRing;
  readonly #liveness: LivenessWatch;
  readonly #frameListeners = new Set<(frame: Frame) => void>();
  readonly #eventListeners = new Set<(event: CameraEvent) => void>();
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #session: RtspSession | undefined;
  #healthy = false;
  #stalledAt: number | undefined;
  #epoch: number | undefined;
  #base: { rtp: number; offsetS: number; clockRate: number } | undefined;
  #lastTime = -Infinity;
  #lastError: HubError | undefined;
  /** The parameter sets of the last keyframe. */
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  constructor(options: CameraOptions) {
    this.#opts = options;
    this.#log = options.log;
    const preRollS = options.preRollS ?? 10;
    this.#ring = new PreRollRing({ seconds: preRollS, maxBytes: options.preRollMaxBytes ?? 48 * 1024 * 1024 });
    const stallMs = (options.stallS ?? 3) * 1000;
    this.#liveness = new LivenessWatch({ clock: options.clock, stallMs, onStall: (silent) => this.#stall(silent, stallMs) });
  }

  /** True while pictures flow and have since a keyframe after the last stall or reconnect. */
  healthy(): boolean {
    return this.#healthy;
  }

  get lastError(): HubError | undefined {
    return this.#lastError;
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
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort(new HubError(ErrorCode.CAMERA_DISCONNECTED, 'camera module stopping'));
    await this.#session?.close();
    await this.#loop;
    this.#liveness.disarm();
    this.#healthy = false;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { initialMs, maxMs } = this.#opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const random = this.#opts.random ?? Math.random;
    let attempt = 0;
    while (!signal.aborted) {
      let failure: HubError;
      let streamed = false;
      try {
        const session = await openRtspSession({
          url: this.#opts.url,
          credentials: this.#opts.credentials,
          transport: this.#opts.transport ?? 'tcp',
          clock: this.#opts.clock,
          log: this.#log,
          ...(this.#opts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#opts.connectTimeoutMs }),
          ...(this.#opts.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: this.#opts.responseTimeoutMs }),
          readBatchMs: this.#opts.readBatchMs ?? 100,
          signal,
          ...(this.#opts.random === undefined ? {} : { random: this.#opts.random }),
          onAccessUnit: (au, track) => {
            streamed = true;
            this.#accessUnit(au, track);
          },
        });
        this.#session = session;
        this.#base = undefined;
        this.#liveness.arm();
        this.#log.info({ url: redactUrl(this.#opts.url) }, 'camera session playing');
        if (signal.aborted) await session.close();
        failure = await session.ended;
      } catch (err) {
        failure = err instanceof HubError ? err : new HubError(ErrorCode.CAMERA_PROTOCOL_ERROR, String(err), { cause: err });
      }
      this.#session = undefined;
      this.#liveness.disarm();
      this.#ring.breakGop();
      this.#healthy = false;
      this.#lastError = failure;
      if (signal.aborted) break;
      if (streamed) attempt = 0;
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
    this.#epoch ??= now;
    if (this.#base === undefined) {
      // A new session restarts RTP time; anchor it where the monotonic clock says we are.
      this.#base = { rtp: au.rtpTime, offsetS: Math.max((now - this.#epoch) / 1000, this.#lastTime + 1 / 90), clockRate: track.clockRate };
    }
    let time = this.#base.offsetS + (au.rtpTime - this.#base.rtp) / this.#base.clockRate;
    if (time <= this.#lastTime) time = this.#lastTime + 0.001;
    this.#lastTime = time;
    this.#liveness.frame(now);
    if (au.key) this.#keyframe(au);
    const frame: Frame = { au, time, receivedAt: now };
    this.#ring.push(frame);
    for (const listener of this.#frameListeners) {
      try {
        listener(frame);
      } catch (err) {
        this.#log.error({ err }, 'camera frame listener threw');
      }
    }
  }

  #keyframe(au: AccessUnit): void {
    const sps = this.#sps;
    const pps = this.#pps;
    this.#sps = au.sps;
    this.#pps = au.pps;
    if (!this.#healthy) {
      this.#becomeHealthy(au);
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

  #becomeHealthy(au: AccessUnit): void {
    this.#healthy = true;
    if (this.#stalledAt !== undefined) {
      const afterMs = this.#opts.clock.monotonic() - this.#stalledAt;
      this.#stalledAt = undefined;
      this.#liveness.arm();
      this.#log.info({ afterMs }, 'camera recovered');
      this.#emit({ type: 'recovered', afterMs });
      return;
    }
    this.#emit({ type: 'streaming', ...sizeOf(au.sps) });
  }

  #stall(silentForMs: number, thresholdMs: number): void {
    this.#healthy = false;
    this.#stalledAt = this.#opts.clock.monotonic();
    const error = new HubError(ErrorCode.CAMERA_STALL, `no picture from the camera for ${Math.round(silentForMs)} ms (threshold ${thresholdMs} ms)`);
    const record: StallRecord = { type: 'camera.stall', code: ErrorCode.CAMERA_STALL, codeName: 'CAMERA_STALL', at: this.#opts.clock.now(), silentForMs, thresholdMs };
    this.#log.error({ err: error.toLine() }, 'camera stall');
    this.#emit({ type: 'stall', error, record });
    // A frozen session rarely thaws by itself: drop it and let the loop reconnect.
    void this.#session?.close(error);
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
