import type { Clock, Timer } from '../system/clock.js';

/**
 * Stall detection on the monotonic clock (DESIGN.md, "Camera"). A stall is one incident from the
 * moment pictures stop until they come back, whatever the cause and however many sessions the
 * hub tries meanwhile: the silent time counts from the last real picture (from the start, before
 * the first: a hub that boots to a dead camera has an outage on record too), never from the latest
 * PLAY, and the incident ends once, with the outage's length.
 *
 * A "real picture" is one the camera module took as new: its RTP time advanced and it is not part
 * of a frozen picture (hub/camera/frozen-picture.ts). Arrival time, never RTP time, says when.
 *
 * Separately, a session that has played for the threshold without a real picture is reported so
 * the module drops it and reconnects: a relay whose publisher died answers PLAY with 200 and then
 * sends nothing, and waiting on it for ever would never bring the pictures back.
 */
export type StallReason =
  /** The session is up but no picture comes (Wi-Fi deauthentication, a publisher gone). */
  | 'silence'
  /** No session: the camera closed the connection, refuses it, or cannot be reached. */
  | 'disconnected'
  /** Pictures come, but the same keyframe again and again (a frozen image or a replaying relay). */
  | 'frozen-picture'
  /** Pictures come, but their RTP timestamps stand still. */
  | 'frozen-timestamps';

export interface Stall {
  readonly reason: StallReason;
  /** From the last real picture to the detection. */
  readonly silentForMs: number;
  /** Monotonic ms of the last real picture. */
  readonly lastPictureAt: number;
}

export interface Recovery {
  readonly reason: StallReason;
  /** From the last real picture before the stall to the one that ended it. */
  readonly outageMs: number;
}

export interface LivenessOptions {
  clock: Clock;
  stallMs: number;
  onStall(stall: Stall): void;
  /** The session has played `silentForMs` (≥ stallMs) without a real picture. Once per session. */
  onSilentSession(silentForMs: number): void;
}

export class LivenessWatch {
  readonly #opts: LivenessOptions;
  #lastPictureAt: number | undefined;
  /** When a picture last came whose timestamp stood still. */
  #lastRepeatAt: number | undefined;
  #playingSince: number | undefined;
  #sessionReported = false;
  #stall: Stall | undefined;
  #timer: Timer | undefined;

  constructor(options: LivenessOptions) {
    this.#opts = options;
  }

  /** The open incident, if pictures have stopped. */
  get stall(): Stall | undefined {
    return this.#stall;
  }

  get lastPictureAt(): number | undefined {
    return this.#lastPictureAt;
  }

  /** Checks from now until stop(), often enough that a stall is seen within a quarter of the threshold. */
  start(): void {
    this.#lastPictureAt ??= this.#opts.clock.monotonic();
    this.#timer?.cancel();
    this.#timer = this.#opts.clock.setInterval(() => this.#check(), Math.max(10, Math.floor(this.#opts.stallMs / 4)));
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#playingSince = undefined;
  }

  /** A session answered PLAY at `at`. */
  sessionPlaying(at: number = this.#opts.clock.monotonic()): void {
    this.#playingSince = at;
    this.#sessionReported = false;
  }

  sessionEnded(): void {
    this.#playingSince = undefined;
  }

  /** A real picture arrived at `at`. During a stall only recover() moves the count on. */
  picture(at: number): void {
    if (this.#stall === undefined) this.#lastPictureAt = at;
  }

  /** A picture arrived whose RTP timestamp did not advance: no new picture, but something came. */
  repeat(at: number): void {
    this.#lastRepeatAt = at;
  }

  /** The picture has been frozen since `since` (the first of the identical keyframes): a stall now. */
  frozen(since: number): void {
    if (this.#stall !== undefined) return;
    this.#lastPictureAt = Math.min(this.#lastPictureAt ?? since, since);
    this.#declare('frozen-picture');
  }

  /** A real keyframe at `at` after a stall ends the incident; undefined when there was none. */
  recover(at: number): Recovery | undefined {
    const stall = this.#stall;
    if (stall === undefined) return undefined;
    this.#stall = undefined;
    this.#lastPictureAt = at;
    return { reason: stall.reason, outageMs: at - stall.lastPictureAt };
  }

  #check(): void {
    const now = this.#opts.clock.monotonic();
    const last = this.#lastPictureAt;
    if (this.#stall === undefined && last !== undefined && now - last >= this.#opts.stallMs) {
      const repeating = this.#playingSince !== undefined && this.#lastRepeatAt !== undefined && now - this.#lastRepeatAt < this.#opts.stallMs;
      this.#declare(this.#playingSince === undefined ? 'disconnected' : repeating ? 'frozen-timestamps' : 'silence');
    }
    if (this.#playingSince !== undefined && !this.#sessionReported) {
      const since = Math.max(this.#playingSince, this.#stall === undefined ? (last ?? -Infinity) : -Infinity);
      if (now - since >= this.#opts.stallMs) {
        this.#sessionReported = true;
        this.#opts.onSilentSession(now - since);
      }
    }
  }

  #declare(reason: StallReason): void {
    const last = this.#lastPictureAt ?? this.#opts.clock.monotonic();
    const stall: Stall = { reason, silentForMs: this.#opts.clock.monotonic() - last, lastPictureAt: last };
    this.#stall = stall;
    this.#opts.onStall(stall);
  }
}
