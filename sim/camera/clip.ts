import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { groupAccessUnits, isVcl, NalType, nalType, splitAnnexB } from '../../protocols/rtsp/h264.js';

/** The bundled clip (see test/fixtures/camera/README.md for the ffmpeg command that made it). */
export const FIXTURE_CLIP = fileURLToPath(new URL('../../test/fixtures/camera/clip.h264', import.meta.url));
/** The same pattern at 480×270: what the camera sends after its resolution is changed (SimCamera.switchClip). */
export const FIXTURE_CLIP_480X270 = fileURLToPath(new URL('../../test/fixtures/camera/clip-480x270.h264', import.meta.url));

export interface ClipFrame {
  /** NAL units of one picture, parameter sets stripped (they go out in SDP and a STAP-A). */
  readonly nalus: readonly Uint8Array[];
  readonly key: boolean;
}

export interface H264Clip {
  readonly sps: Uint8Array;
  readonly pps: Uint8Array;
  readonly frames: readonly ClipFrame[];
  readonly fps: number;
  /** Frames per GOP (distance between the first two keyframes). */
  readonly gop: number;
}

/**
 * Loads an Annex B H.264 elementary stream without B-frames (decode order is presentation order,
 * as with most door cameras) and splits it into pictures. The loop point must be a keyframe, so
 * the clip must start with one.
 */
export function loadH264Clip(path: string = FIXTURE_CLIP, fps = 30): H264Clip {
  const nalus = splitAnnexB(new Uint8Array(readFileSync(path)));
  const sps = nalus.find((n) => nalType(n) === NalType.SPS);
  const pps = nalus.find((n) => nalType(n) === NalType.PPS);
  if (sps === undefined || pps === undefined) throw new Error(`${path}: no SPS/PPS`);
  const frames: ClipFrame[] = [];
  for (const unit of groupAccessUnits(nalus)) {
    const pictures = unit.filter((n) => nalType(n) !== NalType.SPS && nalType(n) !== NalType.PPS && nalType(n) !== NalType.AUD);
    if (!pictures.some((n) => isVcl(nalType(n)))) continue;
    frames.push({ nalus: pictures, key: pictures.some((n) => nalType(n) === NalType.IDR) });
  }
  if (frames[0]?.key !== true) throw new Error(`${path}: must start with an IDR picture`);
  const second = frames.findIndex((f, i) => i > 0 && f.key);
  return { sps, pps, frames, fps, gop: second > 0 ? second : frames.length };
}
