import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtspProtocolError } from '../../protocols/rtsp/errors.js';
import { NalType, nalType, toLengthPrefixed } from '../../protocols/rtsp/h264.js';
import { H264Depacketizer, type AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';
import { packetizeNal, stapA } from '../../protocols/rtsp/h264-packetizer.js';
import { RtspReader, serializeInterleaved } from '../../protocols/rtsp/message.js';
import { avcCodecString, parseSps } from '../../protocols/rtsp/h264-sps.js';
import { emptyRtpHeader, parseRtp, readRtpHeader, serializeRtp, TimestampUnwrapper, type RtpPacket } from '../../protocols/rtsp/rtp.js';
import { loadH264Clip } from '../../sim/camera/clip.js';
import { framePackets } from '../../sim/camera/packets.js';

/** `npm run fuzz:camera` scales every fuzz run up; `npm test` runs the short version. */
const runs = (n: number): number => n * Number(process.env.CAMERA_FUZZ_SCALE ?? '1');

const clip = loadH264Clip();

/** The simulated camera's packets for the first `frames` pictures, parsed back. */
function capture(frames: number, start = { seq: 65_500, ts: 0xffff_0000 }, mtu = 1200): RtpPacket[] {
  const sender = { ssrc: 0x1234, sequence: start.seq };
  const out: RtpPacket[] = [];
  for (let i = 0; i < frames; i++) {
    const frame = clip.frames[i % clip.frames.length];
    if (frame === undefined) break;
    for (const bytes of framePackets(clip, frame, (start.ts + i * 3000) >>> 0, sender, mtu)) out.push(parseRtp(bytes));
  }
  return out;
}

function depacketize(packets: readonly RtpPacket[], d = new H264Depacketizer({ payloadType: 96 })): AccessUnit[] {
  return packets.flatMap((p) => d.push(p));
}

describe('H.264 RTP depacketizing (RFC 6184)', () => {
  it('rebuilds every picture of the clip from STAP-A, FU-A and single NAL packets', () => {
    const packets = capture(60);
    const kinds = new Set(packets.map((p) => nalType(p.payload)));
    expect(kinds).toEqual(new Set([NalType.STAP_A, NalType.FU_A, ...[...kinds].filter((k) => k < 24)]));
    const units = depacketize(packets);
    expect(units).toHaveLength(60);
    units.forEach((au, i) => {
      const want = clip.frames[i]?.nalus.map((n) => Buffer.from(n).toString('hex'));
      expect(au.nalus.filter((n) => nalType(n) !== NalType.SPS && nalType(n) !== NalType.PPS).map((n) => Buffer.from(n).toString('hex'))).toEqual(want);
      expect(au.key).toBe(clip.frames[i]?.key);
    });
  });

  it('carries RTP time across the 32-bit wrap (RFC 3550 §5.1)', () => {
    const units = depacketize(capture(40, { seq: 1, ts: 0xffff_ff00 }));
    const times = units.map((u) => u.rtpTime);
    expect(times.every((t, i) => i === 0 || t - (times[i - 1] ?? 0) === 3000)).toBe(true);
    expect(times.at(-1)).toBeGreaterThan(0xffff_ffff);
  });

  it('takes parameter sets in-band when the SDP had none, and from the SDP when in-band ones are missing', () => {
    const units = depacketize(capture(2));
    expect(Buffer.from(units[0]?.sps ?? []).equals(Buffer.from(clip.sps))).toBe(true);
    const noStap = capture(2).filter((p) => nalType(p.payload) !== NalType.STAP_A);
    expect(depacketize(noStap)).toHaveLength(0); // no SPS/PPS anywhere: nothing decodable
    expect(depacketize(noStap, new H264Depacketizer({ payloadType: 96, sps: clip.sps, pps: clip.pps }))).toHaveLength(2);
  });

  it('after a sequence gap drops pictures until the next IDR', () => {
    const packets = capture(clip.gop + 5, { seq: 100, ts: 0 });
    // Lose the first packet of picture 2 (a P-frame): pictures 2..gop-1 depend on it.
    const lossAt = packets.findIndex((p) => p.timestamp === 2 * 3000);
    const d = new H264Depacketizer({ payloadType: 96 });
    const units = depacketize([...packets.slice(0, lossAt), ...packets.slice(lossAt + 1)], d);
    expect(d.stats.lostPackets).toBe(1);
    expect(units.map((u) => u.rtpTime / 3000)).toEqual([0, 1, ...Array.from({ length: 5 }, (_, i) => clip.gop + i)]);
    expect(units[2]?.key).toBe(true);
  });

  it('closes a picture on a timestamp change when its marker bit was lost', () => {
    const packets = capture(3).map((p) => ({ ...p, marker: false }));
    expect(depacketize(packets)).toHaveLength(2); // the last one waits for its successor
  });

  it('ignores other payload types and drops late duplicates', () => {
    const packets = capture(2);
    const d = new H264Depacketizer({ payloadType: 96 });
    const first = packets[0];
    if (first === undefined) throw new Error('no packets');
    depacketize([{ ...first, payloadType: 0 }, ...packets, first], d);
    expect(d.stats.ignoredPackets).toBe(2);
  });

  it('property: any MTU and any packet order within a picture boundary round-trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 1500 }), fc.integer({ min: 0, max: 65_535 }), (mtu, seq) => {
        const units = depacketize(capture(clip.gop + 1, { seq, ts: 12345 }, mtu));
        expect(units).toHaveLength(clip.gop + 1);
      }),
      { numRuns: runs(30) },
    );
  });

  it('packetizes into FU-A fragments no larger than the MTU and aggregates with STAP-A', () => {
    const big = clip.frames[0]?.nalus.find((n) => n.length > 2000) ?? new Uint8Array(0);
    const parts = packetizeNal(big, 1000);
    expect(parts.every((p) => p.length <= 1000)).toBe(true);
    expect(parts[0]?.[1]).toBe(0x80 | nalType(big)); // S bit and the original type
    expect(nalType(stapA([clip.sps, clip.pps]))).toBe(NalType.STAP_A);
  });

  it('fuzz: mutated captures never crash and never buffer past the access-unit bound', () => {
    const packets = capture(40).map((p) => serializeRtp(p));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(packets.length - 1), fc.nat(1500), fc.integer({ min: 0, max: 255 })), { maxLength: 30 }),
        fc.array(fc.nat(packets.length - 1), { maxLength: 5 }),
        (mutations, drops) => {
          const copies = packets.map((p) => Uint8Array.from(p));
          for (const [i, at, v] of mutations) {
            const p = copies[i];
            if (p !== undefined && at < p.length) p[at] = v;
          }
          const d = new H264Depacketizer({ payloadType: 96, maxAccessUnitBytes: 64 * 1024 });
          copies.forEach((bytes, i) => {
            if (drops.includes(i)) return;
            let packet: RtpPacket;
            try {
              packet = parseRtp(bytes);
            } catch (err) {
              expect(err).toBeInstanceOf(RtspProtocolError);
              return;
            }
            for (const au of d.push(packet)) expect(au.bytes).toBeLessThanOrEqual(64 * 1024);
          });
        },
      ),
      { numRuns: runs(500) },
    );
  });
});

describe('RTP header (RFC 3550 §5.1) and SPS', () => {
  it('skips CSRCs, the header extension and padding', () => {
    const bytes = Uint8Array.of(0xb1, 0xe0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* csrc */ 9, 9, 9, 9, /* ext */ 0xbe, 0xde, 0, 1, 1, 2, 3, 4, /* payload */ 0x41, 0x42, /* padding */ 0, 0, 3);
    const p = parseRtp(bytes);
    expect(p).toMatchObject({ marker: true, payloadType: 96, sequence: 1, timestamp: 2, ssrc: 3 });
    expect([...p.payload]).toEqual([0x41, 0x42]);
  });

  it('refuses a wrong version, a short packet and padding longer than the packet', () => {
    expect(() => parseRtp(new Uint8Array(11))).toThrow(RtspProtocolError);
    expect(() => parseRtp(Uint8Array.of(0x40, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toThrow(/version/);
    expect(() => parseRtp(Uint8Array.of(0xa0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200))).toThrow(RtspProtocolError);
  });

  it('unwraps timestamps going backwards a little as backwards, not as a wrap', () => {
    const u = new TimestampUnwrapper();
    expect([u.unwrap(10_000), u.unwrap(9_000), u.unwrap(0xffff_fff0), u.unwrap(5)]).toEqual([10_000, 9_000, -16, 5]);
  });

  it('reads the picture size and codec string from the clip SPS', () => {
    expect(parseSps(clip.sps)).toMatchObject({ width: 640, height: 360, profileIdc: 66 });
    expect(avcCodecString(clip.sps)).toMatch(/^avc1\.42c01e$/);
  });

  it('fuzz: random SPS bytes parse or fail with RtspProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
        try {
          parseSps(Uint8Array.of(0x67, ...bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(RtspProtocolError);
        }
      }),
      { numRuns: runs(3000) },
    );
  });
});

describe('the allocation-free receive path (reader.read → depacketizer.pushBytes)', () => {
  const hex = (units: readonly AccessUnit[]): string[][] => units.map((u) => u.nalus.map((n) => Buffer.from(n).toString('hex')));

  it('builds the same access units as push(), from one read buffer the socket overwrites after every read', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9_000 }), { minLength: 1, maxLength: 64 }), fc.integer({ min: 300, max: 1_400 }), (cuts, mtu) => {
        const packets = capture(45, { seq: 65_530, ts: 0xffff_f000 }, mtu);
        const want = depacketize(packets);
        const stream = Buffer.concat(packets.map((p) => serializeInterleaved(0, serializeRtp(p))));
        // A Node socket with `onread` hands out views of one reused buffer (the old bug: views kept
        // past the read were overwritten by the next one).
        const scratch = Buffer.alloc(9_000);
        const reader = new RtspReader();
        const d = new H264Depacketizer({ payloadType: 96 });
        const got: AccessUnit[] = [];
        const sink = { interleaved: (_c: number, b: Uint8Array, s: number, e: number) => d.pushBytes(b, s, e, (au) => got.push(au)), message: () => {} };
        for (let o = 0, k = 0; o < stream.length; k++) {
          const n = Math.min(cuts[k % cuts.length] ?? 1, stream.length - o);
          stream.copy(scratch, 0, o, o + n);
          reader.read(scratch.subarray(0, n), sink);
          scratch.fill(0xa5); // the next read lands here
          o += n;
        }
        expect(hex(got)).toEqual(hex(want));
        expect(got.map((u) => [u.rtpTime, u.key, u.bytes])).toEqual(want.map((u) => [u.rtpTime, u.key, u.bytes]));
        for (const au of got) expect(Buffer.from(au.data).equals(Buffer.from(toLengthPrefixed(au.nalus)))).toBe(true);
      }),
      { numRuns: runs(25) },
    );
  });

  it('readRtpHeader reads in place what parseRtp reads, and refuses what parseRtp refuses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.nat(8), (bytes, pad) => {
        const framed = new Uint8Array(pad + bytes.length + 3).fill(0xee);
        framed.set(bytes, pad);
        let want: RtpPacket | Error;
        try {
          want = parseRtp(bytes);
        } catch (err) {
          want = err as Error;
        }
        const h = emptyRtpHeader();
        if (want instanceof Error) {
          expect(() => readRtpHeader(framed, pad, pad + bytes.length, h)).toThrow(RtspProtocolError);
          return;
        }
        readRtpHeader(framed, pad, pad + bytes.length, h);
        expect([h.marker, h.payloadType, h.sequence, h.timestamp, h.ssrc]).toEqual([want.marker, want.payloadType, want.sequence, want.timestamp, want.ssrc]);
        expect(Buffer.from(framed.subarray(h.payloadStart, h.payloadEnd)).equals(Buffer.from(want.payload))).toBe(true);
      }),
      { numRuns: runs(2_000) },
    );
  });
});
