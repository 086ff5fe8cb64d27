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
    if (frame.au.key) this.#gops.push({ frames: [], bytes: 0 });
    const gop = this.#gops.at(-1);
    if (gop === undefined) return; // no keyframe yet: nothing decodable to keep
    gop.frames.push(frame);
    gop.bytes += frame.au.bytes;
    this.#bytes += frame.au.bytes;
    this.#evict();
  }

  /** After a gap in the stream the open GOP cannot be completed; the next keyframe starts afresh. */
  breakGop(): void {
    this.#gops.push({ frames: [], bytes: 0 });
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
  }

  #evict(): void {
    // Drop empty GOPs left by breakGop() except the open one.
    this.#gops = this.#gops.filter((g, i) => g.frames.length > 0 || i === this.#gops.length - 1);
    const last = this.#gops.at(-1)?.frames.at(-1);
    // Drop the oldest GOP while the rest still covers the window.
    while (this.#gops.length > 1 && last !== undefined) {
      const secondStart = this.#gops[1]?.frames[0]?.time;
      if (secondStart === undefined || last.time - secondStart < this.#opts.seconds) break;
      this.#drop();
    }
    // Bytes bound the ring even when the bitrate is far above what the window was sized for.
    while (this.#bytes > this.#opts.maxBytes && this.#gops.length > 0) this.#drop();
  }

  #drop(): void {
    const gop = this.#gops.shift();
    if (gop !== undefined) this.#bytes -= gop.bytes;
  }
}
