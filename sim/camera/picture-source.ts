import { randomInt } from 'node:crypto';
import type { CameraFaults } from './faults.js';
import { loadH264Clip, type ClipFrame, type H264Clip } from './clip.js';
import { CLOCK_RATE } from './packets.js';

export interface Picture {
  readonly clip: H264Clip;
  readonly frame: ClipFrame;
  /** RTP timestamp (32-bit) of this picture. */
  readonly rtpTime: number;
  /** Halfway through its GOP: where the close-mid-GOP switch cuts. */
  readonly midGop: boolean;
}

/**
 * The camera's sensor: the clip played in a loop, one picture per tick, with its RTP time (90 kHz
 * for all video, RFC 6184 §8.2.1, rising across loops as a live source's does) and the picture
 * faults applied: a GOP replayed, timestamps that stand still or step back.
 */
export class PictureSource {
  readonly #fps: number;
  #clip: H264Clip;
  #nextClip: H264Clip | undefined;
  #index = 0;
  #gopStart = 0;
  #rtpTime = randomInt(0, 2 ** 32);
  #switches = 0;

  constructor(clip: H264Clip, fps: number) {
    this.#clip = clip;
    this.#fps = fps;
  }

  get clip(): H264Clip {
    return this.#clip;
  }

  /** RTP time of the next picture: what a sender report says "now" is. */
  get rtpTime(): number {
    return this.#rtpTime >>> 0;
  }

  get clipSwitches(): number {
    return this.#switches;
  }

  /** Another clip from its next keyframe on (a camera whose resolution was changed). */
  switchClip(path: string): void {
    this.#nextClip = loadH264Clip(path, this.#fps);
  }

  next(faults: CameraFaults): Picture | undefined {
    if (this.#nextClip !== undefined && this.#clip.frames[this.#index]?.key === true) {
      this.#clip = this.#nextClip;
      this.#nextClip = undefined;
      this.#index = 0;
      this.#switches++;
    }
    const clip = this.#clip;
    const frame = clip.frames[this.#index];
    if (frame === undefined) return undefined;
    if (frame.key) {
      this.#gopStart = this.#index;
      if (faults.rewindS > 0) {
        this.#rtpTime = (this.#rtpTime - Math.round(faults.rewindS * CLOCK_RATE)) >>> 0;
        faults.rewindS = 0;
      }
    }
    const rtpTime = this.#rtpTime >>> 0;
    const midGop = this.#index % clip.gop === Math.floor(clip.gop / 2);
    let next = (this.#index + 1) % clip.frames.length;
    if (faults.repeatGop && clip.frames[next]?.key === true) next = this.#gopStart;
    this.#index = next;
    if (!faults.stopTimestamps) this.#rtpTime = (this.#rtpTime + Math.round(CLOCK_RATE / this.#fps)) >>> 0;
    return { clip, frame, rtpTime, midGop };
  }
}
