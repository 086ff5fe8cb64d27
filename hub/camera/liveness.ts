import type { Clock, Timer } from '../system/clock.js';

/**
 * Stall detection on the monotonic clock (DESIGN.md, "Camera"): while streaming, no new access
 * unit for `stallMs` is a stall. A camera whose RTP stops while TCP stays open (Wi-Fi
 * deauthentication) is exactly this case; RTP timestamps are never trusted for it.
 */
export interface LivenessOptions {
  clock: Clock;
  stallMs: number;
  onStall(silentForMs: number, lastFrameAt: number): void;
}

export class LivenessWatch {
  readonly #opts: LivenessOptions;
  #lastFrameAt: number | undefined;
  #timer: Timer | undefined;
  #stalled = false;

  constructor(options: LivenessOptions) {
    this.#opts = options;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  get lastFrameAt(): number | undefined {
    return this.#lastFrameAt;
  }

  /** Streaming began (PLAY answered): the silence count starts now. */
  arm(): void {
    this.#lastFrameAt = this.#opts.clock.monotonic();
    this.#stalled = false;
    this.#timer?.cancel();
    // Check often enough that a stall is seen within a quarter of the threshold after it happens.
    this.#timer = this.#opts.clock.setInterval(() => this.#check(), Math.max(10, Math.floor(this.#opts.stallMs / 4)));
  }

  /** A picture arrived at `at` (monotonic ms, read once per picture by the caller). */
  frame(at: number = this.#opts.clock.monotonic()): void {
    this.#lastFrameAt = at;
  }

  disarm(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #check(): void {
    if (this.#lastFrameAt === undefined || this.#stalled) return;
    const silent = this.#opts.clock.monotonic() - this.#lastFrameAt;
    if (silent >= this.#opts.stallMs) {
      this.#stalled = true;
      this.#opts.onStall(silent, this.#lastFrameAt);
    }
  }
}
