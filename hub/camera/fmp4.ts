import { EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, Output, StreamTarget, type StreamTargetChunk } from 'mediabunny';
import { avcCodecString, avcDecoderConfigurationRecord, parseSps } from '../../protocols/rtsp/h264-sps.js';
import type { Frame } from './frame.js';

/**
 * Fragmented MP4 (ISO/IEC 14496-12 §8.8) through mediabunny: `ftyp` + `moov` first, then one
 * `moof`+`mdat` per GOP, written strictly in order. A file cut anywhere stays playable up to its
 * last complete fragment, which is what survives a crash mid-visit; the same bytes feed a browser's
 * Media Source Extensions for live view.
 */
export type ChunkSink = (data: Uint8Array, position: number) => void | Promise<void>;

export class Fmp4Muxer {
  readonly #output: Output;
  readonly #source: EncodedVideoPacketSource;
  readonly #started: Promise<unknown>;
  #t0: number | undefined;
  #pending: Frame | undefined;
  #lastDuration = 1 / 30;
  #first = true;

  constructor(sink: ChunkSink) {
    const writable = new WritableStream<StreamTargetChunk>({ write: (chunk) => sink(chunk.data, chunk.position) });
    // A fragment is cut at the first keyframe after the minimum duration: tiny minimum, one GOP each.
    this.#output = new Output({ format: new Mp4OutputFormat({ fastStart: 'fragmented', minimumFragmentDuration: 0.001 }), target: new StreamTarget(writable) });
    this.#source = new EncodedVideoPacketSource('avc');
    this.#output.addVideoTrack(this.#source);
    this.#started = this.#output.start();
  }

  /**
   * Frames in decode order, the first a keyframe. Each frame is written once the next one arrives,
   * so its duration is exact (cameras without B-frames: decode order is presentation order).
   */
  async add(frame: Frame): Promise<void> {
    if (this.#pending === undefined && this.#t0 === undefined && !frame.au.key) return; // cannot start mid-GOP
    await this.#started;
    const previous = this.#pending;
    this.#pending = frame;
    if (previous !== undefined) await this.#write(previous, frame.time - previous.time);
  }

  /** Writes the held frame and closes the file (flushes the last fragment). */
  async finish(): Promise<void> {
    await this.#started;
    const last = this.#pending;
    this.#pending = undefined;
    if (last !== undefined) await this.#write(last, this.#lastDuration);
    if (this.#t0 === undefined) {
      await this.#output.cancel();
      return;
    }
    await this.#output.finalize();
  }

  async cancel(): Promise<void> {
    await this.#output.cancel();
  }

  async #write(frame: Frame, duration: number): Promise<void> {
    const d = duration > 0 && duration < 10 ? duration : this.#lastDuration;
    this.#lastDuration = d;
    this.#t0 ??= frame.time;
    const packet = new EncodedPacket(frame.au.data, frame.au.key ? 'key' : 'delta', frame.time - this.#t0, d);
    if (this.#first) {
      this.#first = false;
      const { sps, pps } = frame.au;
      const info = parseSps(sps);
      await this.#source.add(packet, {
        decoderConfig: { codec: avcCodecString(sps), codedWidth: info.width, codedHeight: info.height, description: avcDecoderConfigurationRecord(sps, pps) },
      });
      return;
    }
    await this.#source.add(packet);
  }
}
