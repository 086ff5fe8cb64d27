import type { Frame } from './frame.js';
import { FMP4_TIMESCALE, fragment, initSegment, type FragmentSample } from './fmp4-writer.js';

/**
 * Fragmented MP4 (ISO/IEC 14496-12 §8.8): `ftyp` + `moov` first, then one `moof`+`mdat` per GOP,
 * each written with one call, strictly in order. A file cut anywhere stays playable up to its last
 * complete fragment, which is what survives a crash mid-visit; the same bytes feed a browser's
 * Media Source Extensions for live view. The boxes come from fmp4-writer.ts (why not mediabunny:
 * see there).
 */
export type ChunkSink = (data: Uint8Array, position: number) => void | Promise<void>;

interface Timed extends FragmentSample {
  readonly dts: number;
}

export class Fmp4Muxer {
  readonly #sink: ChunkSink;
  #t0: number | undefined;
  #pending: { frame: Frame; dts: number } | undefined;
  #gop: Timed[] = [];
  #lastDuration = Math.round(FMP4_TIMESCALE / 30);
  #position = 0;
  #sequence = 0;
  #cancelled = false;

  constructor(sink: ChunkSink) {
    this.#sink = sink;
  }

  /**
   * Frames in decode order, the first a keyframe. Each frame is placed once the next one arrives,
   * so its duration is exact (cameras without B-frames: decode order is presentation order); a
   * keyframe closes the GOP before it, which is then written as one fragment.
   */
  async add(frame: Frame): Promise<void> {
    if (this.#cancelled) return;
    if (this.#pending === undefined && this.#t0 === undefined && !frame.au.key) return; // cannot start mid-GOP
    this.#t0 ??= frame.time;
    let dts = Math.round((frame.time - this.#t0) * FMP4_TIMESCALE);
    const previous = this.#pending;
    if (previous !== undefined) {
      let duration = dts - previous.dts;
      // A jump of 10 s or more (or backwards) is a reconnect gap, not a picture's duration.
      if (!(duration > 0 && duration < 10 * FMP4_TIMESCALE)) duration = this.#lastDuration;
      dts = previous.dts + duration;
      this.#lastDuration = duration;
      this.#gop.push({ frame: previous.frame, duration, dts: previous.dts });
    }
    this.#pending = { frame, dts };
    if (frame.au.key && this.#gop.length > 0) await this.#writeGop();
  }

  /** Writes the held frame and the last fragment. */
  async finish(): Promise<void> {
    if (this.#cancelled) return;
    const last = this.#pending;
    this.#pending = undefined;
    if (last !== undefined) this.#gop.push({ frame: last.frame, duration: this.#lastDuration, dts: last.dts });
    if (this.#gop.length > 0) await this.#writeGop();
  }

  /** Drops what is held; nothing more is written. */
  async cancel(): Promise<void> {
    this.#cancelled = true;
    this.#pending = undefined;
    this.#gop = [];
    await Promise.resolve();
  }

  async #writeGop(): Promise<void> {
    const gop = this.#gop;
    this.#gop = [];
    const first = gop[0];
    if (first === undefined) return;
    if (this.#sequence === 0) await this.#write(initSegment(first.frame.au.sps, first.frame.au.pps));
    await this.#write(fragment(++this.#sequence, first.dts, gop));
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const at = this.#position;
    this.#position += bytes.length;
    await this.#sink(bytes, at);
  }
}
