/**
 * The hub's media timeline: each picture's time in seconds, continuous across reconnects and
 * across whatever a camera's RTP timestamps do. Within a session RTP time is trusted while it
 * behaves (RFC 3550 §5.1: it advances with the sampling instant); a timestamp that steps back (a
 * source restarting its loop, an encoder reset) or leaps ahead of the arrival clock is a
 * discontinuity, and one that stands still is no new picture. In both cases the timeline is
 * re-based at that picture: it goes on one picture's duration after the last (or the time that
 * passed in arrival, if more), and RTP time counts from there again, so a clip keeps playing at
 * the camera's own speed instead of squeezing pictures 1 ms apart.
 */
export interface Placement {
  /** Media time in seconds, strictly later than every earlier picture's. */
  readonly time: number;
  /** The RTP timestamp equals the previous picture's: by RFC 6184 §5.1 no new picture. */
  readonly stoodStill: boolean;
  /** The RTP timestamp jumped back, or further ahead than the arrival clock allows. */
  readonly discontinuity: 'back' | 'forward' | undefined;
  /** The first picture of a session: nothing to compare its timestamp with. */
  readonly anchored: boolean;
}

/** A forward step of RTP time this much longer than the arrival gap is not the camera's clock. */
const MAX_AHEAD_S = 5;
/** A step longer than this is a gap (pictures lost), not a picture's duration. */
const MAX_FRAME_S = 1;
const DEFAULT_FRAME_S = 1 / 30;

export class MediaTimeline {
  #epochMs: number | undefined;
  #base: { rtp: number; offsetS: number; clockRate: number } | undefined;
  #lastTime = -Infinity;
  #lastRtp = 0;
  #lastArrivalMs = 0;
  /** The last sane picture duration, in seconds. */
  #frameS = DEFAULT_FRAME_S;
  #discontinuities = 0;

  /** Discontinuities seen since the hub started. */
  get discontinuities(): number {
    return this.#discontinuities;
  }

  /** A new session restarts RTP time: its first picture is anchored on the arrival clock. */
  newSession(): void {
    this.#base = undefined;
  }

  /** Places a picture with extended RTP time `rtp` that arrived at `arrivalMs` (monotonic). */
  place(rtp: number, clockRate: number, arrivalMs: number): Placement {
    this.#epochMs ??= arrivalMs;
    const gapS = Math.max(0, (arrivalMs - this.#lastArrivalMs) / 1000);
    const base = this.#base;
    let placement: Placement;
    if (base === undefined || base.clockRate !== clockRate) {
      // Where the monotonic clock says we are, and never before what was already placed.
      const time = Math.max((arrivalMs - this.#epochMs) / 1000, this.#lastTime + this.#frameS);
      this.#base = { rtp, offsetS: time, clockRate };
      placement = { time, stoodStill: false, discontinuity: undefined, anchored: true };
    } else {
      const stepS = (rtp - this.#lastRtp) / clockRate;
      if (stepS > 0 && stepS <= gapS + MAX_AHEAD_S) {
        if (stepS <= MAX_FRAME_S) this.#frameS = stepS;
        const time = base.offsetS + (rtp - base.rtp) / clockRate;
        placement = { time: time > this.#lastTime ? time : this.#lastTime + this.#frameS, stoodStill: false, discontinuity: undefined, anchored: false };
      } else {
        const discontinuity = stepS === 0 ? undefined : stepS < 0 ? 'back' : 'forward';
        if (discontinuity !== undefined) this.#discontinuities++;
        // Stood still: one picture's duration on. A jump: that, or the arrival gap if longer (a
        // source that paused while it restarted).
        const time = this.#lastTime + (discontinuity === undefined ? this.#frameS : Math.max(this.#frameS, Math.min(gapS, MAX_AHEAD_S)));
        this.#base = { rtp, offsetS: time, clockRate };
        placement = { time, stoodStill: discontinuity === undefined, discontinuity, anchored: false };
      }
    }
    this.#lastTime = placement.time;
    this.#lastRtp = rtp;
    this.#lastArrivalMs = arrivalMs;
    return placement;
  }
}
