import { bytesEqual } from '../../protocols/cbor/canonical.js';
import type { Frame } from './frame.js';
import { FMP4_TIMESCALE, fragmentHead, initSegment } from './fmp4-writer.js';

/**
 * Fragmented MP4 (ISO/IEC 14496-12 §8.8): `ftyp` + `moov` first, then one `moof`+`mdat` per GOP,
 * handed on whole and strictly in order. A file cut anywhere stays playable up to its last
 * complete fragment, which is what survives a crash mid-visit; the same bytes feed a browser's
 * Media Source Extensions for live view. The boxes come from fmp4-writer.ts (why not mediabunny:
 * see there).
 *
 * Synchronous on purpose: it runs inside the camera's per-picture callback, and a promise per
 * picture cost more CPU than the muxing itself. Bytes leave through the sink once per GOP.
 */
export interface Fmp4Sink {
  /**
   * An init segment (`ftyp`+`moov`) for the parameter sets of the pictures that follow. Called
   * before the first fragment, and again when a keyframe brings a different SPS or PPS (the
   * camera changed resolution): the `avcC` of the old init segment does not describe the new
   * pictures, so a file must end there and a live viewer must re-initialise its decoder.
   */
  init(segment: Uint8Array, sps: Uint8Array, pps: Uint8Array): void;
  /** One `moof`+`mdat`: `head` (the moof and the mdat header), then the samples' bytes, in order. */
  fragment(head: Uint8Array, samples: Uint8Array[], bytes: number): void;
}

export interface Fmp4MuxerOptions {
  /**
   * After a parameter set change the timeline and fragment numbers start again at zero (a new
   * file), or carry on (one live stream, which a SourceBuffer needs continuous). Default: restart.
   */
  restartOnNewInit?: boolean;
}

export class Fmp4Muxer {
  readonly #sink: Fmp4Sink;
  readonly #restart: boolean;
  #t0: number | undefined;
  /** The newest frame: its duration is known once the next one arrives. */
  #pending: Frame | undefined;
  #pendingDts = 0;
  #gop: Frame[] = [];
  #durations: number[] = [];
  #gopBytes = 0;
  /** Decode time of the GOP's first frame (tfdt). */
  #gopDts = 0;
  #lastDuration = Math.round(FMP4_TIMESCALE / 30);
  #sequence = 0;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  #cancelled = false;

  constructor(sink: Fmp4Sink, options: Fmp4MuxerOptions = {}) {
    this.#sink = sink;
    this.#restart = options.restartOnNewInit ?? true;
  }

  /** Sample bytes held for the open GOP (not yet handed to the sink). */
  get heldBytes(): number {
    return this.#gopBytes + (this.#pending?.au.data.length ?? 0);
  }

  /**
   * Frames in decode order, the first a keyframe. Each frame is placed once the next one arrives,
   * so its duration is exact (cameras without B-frames: decode order is presentation order); a
   * keyframe closes the GOP before it, which is then handed on as one fragment.
   */
  add(frame: Frame): void {
    if (this.#cancelled) return;
    if (this.#t0 === undefined && !frame.au.key) return; // cannot start mid-GOP
    const changed = frame.au.key && this.#sps !== undefined && !(bytesEqual(frame.au.sps, this.#sps) && this.#pps !== undefined && bytesEqual(frame.au.pps, this.#pps));
    this.#t0 ??= frame.time;
    let dts = Math.round((frame.time - this.#t0) * FMP4_TIMESCALE);
    const previous = this.#pending;
    if (previous !== undefined) {
      let duration = dts - this.#pendingDts;
      // A jump of 10 s or more (or backwards) is a reconnect gap, not a picture's duration.
      if (!(duration > 0 && duration < 10 * FMP4_TIMESCALE)) duration = this.#lastDuration;
      dts = this.#pendingDts + duration;
      this.#lastDuration = duration;
      if (this.#gop.length === 0) this.#gopDts = this.#pendingDts;
      this.#gop.push(previous);
      this.#durations.push(duration);
      this.#gopBytes += previous.au.data.length;
    }
    if (frame.au.key && this.#gop.length > 0) this.#writeGop();
    if (changed && this.#restart) {
      // A new file: its own timeline from zero and fragments numbered from one.
      this.#t0 = frame.time;
      dts = 0;
      this.#sequence = 0;
    }
    if (this.#sps === undefined || changed) {
      this.#sps = frame.au.sps;
      this.#pps = frame.au.pps;
      this.#sink.init(initSegment(frame.au.sps, frame.au.pps), frame.au.sps, frame.au.pps);
    }
    this.#pending = frame;
    this.#pendingDts = dts;
  }

  /** Hands on the held frame as the last fragment. */
  finish(): void {
    if (this.#cancelled) return;
    const last = this.#pending;
    this.#pending = undefined;
    if (last !== undefined) {
      if (this.#gop.length === 0) this.#gopDts = this.#pendingDts;
      this.#gop.push(last);
      this.#durations.push(this.#lastDuration);
      this.#gopBytes += last.au.data.length;
    }
    if (this.#gop.length > 0) this.#writeGop();
  }

  /** Drops what is held; nothing more is handed on. */
  cancel(): void {
    this.#cancelled = true;
    this.#pending = undefined;
    this.#gop = [];
    this.#durations = [];
    this.#gopBytes = 0;
  }

  #writeGop(): void {
    const gop = this.#gop;
    const durations = this.#durations;
    this.#gop = [];
    this.#durations = [];
    this.#gopBytes = 0;
    const first = gop[0];
    if (first === undefined) return;
    const { head, bytes } = fragmentHead(++this.#sequence, this.#gopDts, gop, durations);
    const samples = new Array<Uint8Array>(gop.length);
    for (let i = 0; i < gop.length; i++) samples[i] = (gop[i] as Frame).au.data;
    this.#sink.fragment(head, samples, bytes);
  }
}
