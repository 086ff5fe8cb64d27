import type { Frame } from './frame.js';

/**
 * The pre-roll ring: whole GOPs (a keyframe and the pictures that depend on it) covering at least
 * `seconds`, and never more than `maxBytes`. A clip starts from its oldest keyframe, so the visit's
 * video begins before the unlock request arrived (DESIGN.md, "Camera first").
 */
export interface PreRollOptions {
  seconds: number;
  maxBytes: number;
}

interface Gop {
  frames: Frame[];
  bytes: number;
}

export class PreRollRing {
  readonly #opts: PreRollOptions;
  #gops: Gop[] = [];
  #bytes = 0;
  /** The newest GOP may take more pictures (false before the first keyframe and after a break). */
  #open = false;

  constructor(options: PreRollOptions) {
    this.#opts = options;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Seconds from the oldest keyframe to the newest picture. */
  get seconds(): number {
    const first = this.#gops[0]?.frames[0];
    const last = this.#gops.at(-1)?.frames.at(-1);
    return first === undefined || last === undefined ? 0 : last.time - first.time;
  }

  get gopCount(): number {
    return this.#gops.length;
  }

  push(frame: Frame): void {
    if (frame.au.key) {
      this.#gops.push({ frames: [], bytes: 0 });
      this.#open = true;
    } else if (!this.#open) {
      return; // no keyframe since the start or the last break: nothing decodable to keep
    }
    const gop = this.#gops[this.#gops.length - 1] as Gop;
    gop.frames.push(frame);
    gop.bytes += frame.au.bytes;
    this.#bytes += frame.au.bytes;
    this.#evict(frame.time);
  }

  /** After a gap in the stream the open GOP cannot be completed; the next keyframe starts afresh. */
  breakGop(): void {
    this.#open = false;
  }

  /** Every kept picture from the oldest keyframe on. */
  snapshot(): Frame[] {
    return this.#gops.flatMap((g) => g.frames);
  }

  /** The newest GOP so far (where a live viewer starts). */
  latestGop(): Frame[] {
    for (let i = this.#gops.length - 1; i >= 0; i--) {
      const frames = this.#gops[i]?.frames ?? [];
      if (frames.length > 0) return [...frames];
    }
    return [];
  }

  clear(): void {
    this.#gops = [];
    this.#bytes = 0;
    this.#open = false;
  }

  /** Runs per picture, so it allocates nothing and looks at two GOPs, not at every frame. */
  #evict(newest: number): void {
    // Drop the oldest GOP while the rest still covers the window.
    while (this.#gops.length > 1) {
      const secondStart = this.#gops[1]?.frames[0]?.time;
      if (secondStart === undefined || newest - secondStart < this.#opts.seconds) break;
      this.#drop();
    }
    // Bytes bound the ring even when the bitrate is far above what the window was sized for.
    while (this.#bytes > this.#opts.maxBytes && this.#gops.length > 0) this.#drop();
    if (this.#gops.length === 0) this.#open = false;
  }

  #drop(): void {
    const gop = this.#gops.shift();
    if (gop !== undefined) this.#bytes -= gop.bytes;
  }
}
