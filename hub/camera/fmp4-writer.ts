import { avcDecoderConfigurationRecord, parseSps } from '../../protocols/rtsp/h264-sps.js';
import type { Frame } from './frame.js';

/**
 * The bytes of a fragmented MP4 with one H.264 track (ISO/IEC 14496-12 §8.8, ISO/IEC 14496-15 §5):
 * an init segment (`ftyp` + `moov` with an empty sample table and `mvex`) and, per GOP, one
 * `moof` + `mdat` header built in one small buffer, followed by the samples' own bytes. Only the layout the camera needs: one video track,
 * no B-frames (decode order is presentation order), 90 kHz media time (RFC 6184 §8.2.1's RTP
 * clock), samples already length-prefixed by the depacketizer (AccessUnit.data).
 *
 * Why not mediabunny here: on the recording hot path it cost ~0.17 CPU s per minute of 1080p30
 * 4 Mbit/s video (the bench's hub with and without the muxer call: ~0.61 vs ~0.44 CPU s/min), as
 * much as the RTSP client itself: each sample copied three times, promises and a WHATWG stream per
 * frame. This writer copies no sample at all (the head and the samples go to one writev); ffprobe and Chromium (MSE and
 * <video>) read its output in test/integration/camera-* and test/peers/camera-*.
 */
const TIMESCALE = 90_000;
const TRACK_ID = 1;
/** §8.8.3.1 sample flags: sample_depends_on = 2 (an IDR depends on nothing). */
const KEY_FLAGS = 0x0200_0000;
/** sample_depends_on = 1, sample_is_non_sync_sample = 1. */
const DELTA_FLAGS = 0x0101_0000;

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const u16 = (n: number): number[] => [(n >>> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
/** §6.2.2 unity matrix. */
const MATRIX = [...u32(0x0001_0000), ...u32(0), ...u32(0), ...u32(0), ...u32(0x0001_0000), ...u32(0), ...u32(0), ...u32(0), ...u32(0x4000_0000)];

function box(type: string, ...parts: ArrayLike<number>[]): number[] {
  const body: number[] = [];
  for (const p of parts) for (let i = 0; i < p.length; i++) body.push(p[i] as number);
  return [...u32(8 + body.length), ...ascii(type), ...body];
}

function fullBox(type: string, version: number, flags: number, ...parts: ArrayLike<number>[]): number[] {
  return box(type, [version, (flags >>> 16) & 0xff, (flags >>> 8) & 0xff, flags & 0xff], ...parts);
}

/** `ftyp` + `moov` for one AVC track of the given parameter sets. */
export function initSegment(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  const { width, height } = parseSps(sps);
  const avc1 = box(
    'avc1',
    zeros(6), u16(1), // §8.5.2.2 SampleEntry: reserved, data_reference_index
    zeros(16), u16(width), u16(height), u32(0x0048_0000), u32(0x0048_0000), u32(0), u16(1),
    zeros(32), u16(0x0018), u16(0xffff), // compressorname, depth, pre_defined = -1
    box('avcC', avcDecoderConfigurationRecord(sps, pps)),
  );
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), avc1),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  const minf = box('minf', fullBox('vmhd', 0, 1, zeros(8)), box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))), stbl);
  const mdia = box(
    'mdia',
    fullBox('mdhd', 0, 0, u32(0), u32(0), u32(TIMESCALE), u32(0), u16(0x55c4), u16(0)), // language 'und'
    fullBox('hdlr', 0, 0, u32(0), ascii('vide'), zeros(12), ascii('VideoHandler'), [0]),
    minf,
  );
  // tkhd flags 3: enabled, in movie; duration 0 and the sample tables empty: everything is in fragments.
  const tkhd = fullBox('tkhd', 0, 3, u32(0), u32(0), u32(TRACK_ID), u32(0), u32(0), zeros(8), u16(0), u16(0), u16(0), u16(0), MATRIX, u32(width * 0x10000), u32(height * 0x10000));
  const mvhd = fullBox('mvhd', 0, 0, u32(0), u32(0), u32(1000), u32(0), u32(0x0001_0000), u16(0x0100), zeros(10), MATRIX, zeros(24), u32(TRACK_ID + 1));
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(TRACK_ID), u32(1), u32(0), u32(0), u32(0)));
  const ftyp = box('ftyp', ascii('isom'), u32(0x200), ascii('isom'), ascii('iso6'), ascii('avc1'), ascii('mp41'));
  return Uint8Array.from([...ftyp, ...box('moov', mvhd, box('trak', tkhd, mdia), mvex)]);
}

/**
 * The head of one fragment: `moof` (§8.8.4: tfhd with default-base-is-moof, tfdt with the first
 * sample's decode time, a trun with per-sample duration, size and flags) and the `mdat` header
 * (§8.1.1). The samples' bytes follow it in the file as they are (AccessUnit.data, already
 * length-prefixed): the writer hands the head and the samples to one writev, nothing is copied.
 * `durations` in TIMESCALE units, one per sample in `samples`.
 */
export function fragmentHead(sequence: number, baseDecodeTime: number, samples: readonly Frame[], durations: readonly number[]): { head: Uint8Array; bytes: number } {
  const trunSize = 12 + 8 + 12 * samples.length;
  const trafSize = 8 + 16 + 20 + trunSize;
  const moofSize = 8 + 16 + trafSize;
  let mdatSize = 8;
  for (const s of samples) mdatSize += s.au.data.length;
  const out = new Uint8Array(moofSize + 8);
  const view = new DataView(out.buffer);
  let o = 0;
  const put32 = (n: number): void => {
    view.setUint32(o, n >>> 0);
    o += 4;
  };
  const type = (t: string): void => {
    for (let i = 0; i < 4; i++) out[o++] = t.charCodeAt(i);
  };
  put32(moofSize);
  type('moof');
  put32(16);
  type('mfhd');
  put32(0);
  put32(sequence);
  put32(trafSize);
  type('traf');
  put32(16);
  type('tfhd');
  put32(0x02_0000); // default-base-is-moof
  put32(TRACK_ID);
  put32(20);
  type('tfdt');
  put32(0x0100_0000); // version 1: 64-bit time
  put32(Math.floor(baseDecodeTime / 0x1_0000_0000));
  put32(baseDecodeTime % 0x1_0000_0000);
  put32(trunSize);
  type('trun');
  put32(0x00_0701); // data-offset, sample duration, size and flags present
  put32(samples.length);
  put32(moofSize + 8); // data starts after the mdat header, counted from the moof
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as Frame;
    put32(durations[i] ?? 0);
    put32(s.au.data.length);
    put32(s.au.key ? KEY_FLAGS : DELTA_FLAGS);
  }
  put32(mdatSize);
  type('mdat');
  return { head: out, bytes: moofSize + mdatSize };
}

export const FMP4_TIMESCALE = TIMESCALE;
