import { createHash } from 'node:crypto';
import type { AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';
import { isVcl, nalType } from '../../protocols/rtsp/h264.js';

/**
 * A frozen picture, found without decoding: the coded slices of consecutive keyframes compared by
 * hash. A live sensor's noise never repeats byte for byte, so `keyframes` identical IDR pictures in
 * a row mean the camera (or a relay in front of it) keeps sending one image: the attack that froze
 * a delivery camera on its last picture. Keyframes a loop apart are not consecutive, so a camera
 * or a test source playing a clip of several GOPs in a loop never trips this.
 *
 * Only the slice NAL units are hashed (H.264 §7.4.1.2: types 1–5): parameter sets repeat on every
 * keyframe of a healthy camera, and an SEI may carry a changing timecode under a frozen image.
 * The run survives reconnects: a relay still replaying the same picture after one is still frozen.
 */
export class FrozenPictureWatch {
  readonly #keyframes: number;
  #hash: string | undefined;
  #run = 0;
  #runStartedAt = 0;

  /** `keyframes`: how many identical keyframes in a row are a frozen picture (config `camera.frozenKeyframes`). */
  constructor(keyframes: number) {
    if (!Number.isInteger(keyframes) || keyframes < 2) throw new RangeError(`frozenKeyframes must be an integer ≥ 2, got ${keyframes}`);
    this.#keyframes = keyframes;
  }

  /** True while the latest keyframes are `keyframes` or more identical ones. */
  get frozen(): boolean {
    return this.#run >= this.#keyframes;
  }

  /** Arrival (monotonic ms) of the first keyframe of the current run of identical ones. */
  get runStartedAt(): number {
    return this.#runStartedAt;
  }

  /** A keyframe arrived at `at`; returns whether the picture is frozen now. */
  keyframe(au: AccessUnit, at: number): boolean {
    const hash = sliceHash(au);
    if (hash === this.#hash) {
      this.#run++;
    } else {
      this.#hash = hash;
      this.#run = 1;
      this.#runStartedAt = at;
    }
    return this.frozen;
  }
}

function sliceHash(au: AccessUnit): string {
  const hash = createHash('sha256');
  for (const nal of au.nalus) if (isVcl(nalType(nal))) hash.update(nal);
  return hash.digest('base64');
}
