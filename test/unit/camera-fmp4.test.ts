import { describe, expect, it } from 'vitest';
import { toLengthPrefixed } from '../../protocols/rtsp/h264.js';
import type { AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';
import { Fmp4Muxer } from '../../hub/camera/fmp4.js';
import type { Frame } from '../../hub/camera/frame.js';
import { playablePrefix, topLevelBoxes } from '../../hub/camera/mp4-boxes.js';
import { loadH264Clip } from '../../sim/camera/clip.js';

const clip = loadH264Clip();

function frameAt(i: number, time: number): Frame {
  const f = clip.frames[i % clip.frames.length];
  if (f === undefined) throw new Error('clip too short');
  const nalus = f.nalus.filter((n) => ((n[0] ?? 0) & 0x1f) !== 9);
  const au: AccessUnit = { nalus, data: toLengthPrefixed(nalus), rtpTime: Math.round(time * 90_000), key: f.key, sps: clip.sps, pps: clip.pps, bytes: nalus.reduce((s, n) => s + n.length, 0) };
  return { au, time, receivedAt: time * 1000 };
}

/** The muxer's output as one file; `writes` counts what a file writer would hand to writev. */
function mux(frames: readonly Frame[]): { bytes: Uint8Array; writes: number } {
  const parts: Uint8Array[] = [];
  let writes = 0;
  const muxer = new Fmp4Muxer({
    init: (segment) => {
      parts.push(segment.slice());
      writes++;
    },
    fragment: (head, samples, bytes) => {
      expect(head.length + samples.reduce((s, x) => s + x.length, 0)).toBe(bytes);
      parts.push(head.slice(), ...samples.map((s) => s.slice()));
      writes++;
    },
  });
  for (const f of frames) muxer.add(f);
  muxer.finish();
  return { bytes: Buffer.concat(parts), writes };
}

/** [decode time, [duration, size, flags]…] of each fragment, read back from tfdt and trun. */
function fragments(bytes: Uint8Array): Array<{ dts: number; samples: number[][]; dataOk: boolean }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes = topLevelBoxes(bytes);
  const out = [];
  for (let i = 0; i < boxes.length; i++) {
    const moof = boxes[i];
    const mdat = boxes[i + 1];
    if (moof?.type !== 'moof' || mdat?.type !== 'mdat') continue;
    const find = (type: string): number => Buffer.from(bytes.subarray(moof.start, moof.start + moof.size)).indexOf(type) + moof.start - 4;
    const tfdt = find('tfdt');
    const trun = find('trun');
    const count = view.getUint32(trun + 12);
    const dataOffset = view.getUint32(trun + 16);
    const samples = Array.from({ length: count }, (_, k) => [0, 4, 8].map((d) => view.getUint32(trun + 20 + 12 * k + d)));
    const total = samples.reduce((s, x) => s + (x[1] ?? 0), 0);
    out.push({ dts: Number(view.getBigUint64(tfdt + 12)), samples, dataOk: moof.start + dataOffset === mdat.start + 8 && total === mdat.size - 8 });
  }
  return out;
}

describe('fragmented MP4 writer (ISO/IEC 14496-12 §8.8)', () => {
  it('writes ftyp+moov, then one moof+mdat per GOP whose trun points at its samples', () => {
    const frames = Array.from({ length: clip.gop * 3 }, (_, i) => frameAt(i, 100 + i / 30));
    const { bytes } = mux(frames);
    expect(topLevelBoxes(bytes).map((b) => b.type).slice(0, 2)).toEqual(['ftyp', 'moov']);
    const frags = fragments(bytes);
    expect(frags).toHaveLength(3);
    expect(frags.every((f) => f.dataOk && f.samples.length === clip.gop)).toBe(true);
    expect(frags.map((f) => f.samples[0]?.[2])).toEqual([0x0200_0000, 0x0200_0000, 0x0200_0000]); // each opens on a sync sample
    expect(frags.flatMap((f) => f.samples.slice(1).map((s) => s[2]))).toSatisfy((flags: number[]) => flags.every((x) => x === 0x0101_0000));
    expect(playablePrefix(bytes)).toBe(bytes.length);
  });

  it('times samples on 90 kHz without drift: each fragment starts where the previous durations end', () => {
    const frames = Array.from({ length: clip.gop * 4 }, (_, i) => frameAt(i, 7 + i / 29.97));
    const frags = fragments(mux(frames).bytes);
    for (let k = 1; k < frags.length; k++) {
      const prev = frags[k - 1];
      expect(frags[k]?.dts).toBe((prev?.dts ?? 0) + (prev?.samples.reduce((s, x) => s + (x[0] ?? 0), 0) ?? 0));
    }
    expect(frags.at(-1)?.dts).toBe(Math.round(((clip.gop * 3) / 29.97) * 90_000));
  });

  it('bridges a reconnect gap with the last picture duration instead of a 10 s frame', () => {
    const frames = [...Array.from({ length: clip.gop }, (_, i) => frameAt(i, i / 30)), ...Array.from({ length: clip.gop }, (_, i) => frameAt(i, 60 + i / 30))];
    const frags = fragments(mux(frames).bytes);
    expect(frags.flatMap((f) => f.samples.map((s) => s[0]))).toSatisfy((d: number[]) => d.every((x) => x === 3000));
  });

  it('skips pictures before the first keyframe and writes nothing for an empty clip', () => {
    expect(mux([]).writes).toBe(0);
    const frames = Array.from({ length: clip.gop + 2 }, (_, i) => frameAt(i + 1, i / 30)); // pictures 1 … gop+2
    expect(fragments(mux(frames).bytes).map((f) => f.samples.length)).toEqual([3]);
  });

  it('on new parameter sets: the GOP before is handed on under the old init segment, then a new init segment, numbering and timeline from zero', () => {
    const other = { ...clip, sps: Uint8Array.from([...clip.sps.subarray(0, -1), (clip.sps.at(-1) ?? 0) ^ 1]) };
    const frames = Array.from({ length: clip.gop * 3 }, (_, i) => {
      const f = frameAt(i, 50 + i / 30);
      return i >= clip.gop * 2 ? { ...f, au: { ...f.au, sps: other.sps } } : f;
    });
    const events: string[] = [];
    const dts: number[] = [];
    const make = (restartOnNewInit: boolean): Fmp4Muxer =>
      new Fmp4Muxer(
        {
          init: (_segment, sps) => events.push(`init ${sps === other.sps ? 'new' : 'old'}`),
          fragment: (head) => {
            const view = new DataView(head.buffer, head.byteOffset);
            events.push(`fragment ${view.getUint32(20)}`); // mfhd sequence_number
            dts.push(Number(view.getBigUint64(8 + 16 + 8 + 16 + 12))); // tfdt baseMediaDecodeTime (moof, mfhd, traf, tfhd, tfdt header)
          },
        },
        { restartOnNewInit },
      );
    const file = make(true);
    for (const f of frames) file.add(f);
    file.finish();
    expect(events).toEqual(['init old', 'fragment 1', 'fragment 2', 'init new', 'fragment 1']);
    expect(dts).toEqual([0, clip.gop * 3000, 0]);
    events.length = 0;
    dts.length = 0;
    const stream = make(false);
    for (const f of frames) stream.add(f);
    stream.finish();
    expect(events).toEqual(['init old', 'fragment 1', 'fragment 2', 'init new', 'fragment 3']);
    expect(dts).toEqual([0, clip.gop * 3000, clip.gop * 6000]);
  });

  it('a repeated, byte-identical SPS before every keyframe is no change', () => {
    const frames = Array.from({ length: clip.gop * 2 }, (_, i) => {
      const f = frameAt(i, i / 30);
      return { ...f, au: { ...f.au, sps: clip.sps.slice(), pps: clip.pps.slice() } };
    });
    expect(mux(frames).writes).toBe(3); // one init segment, two fragments
  });
});
