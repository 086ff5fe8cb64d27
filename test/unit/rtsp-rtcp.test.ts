import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtspProtocolError } from '../../protocols/rtsp/errors.js';
import { lsrOf, ntpOf, parseRtcp, serializeRtcp, type ReportBlock, type RtcpPacket, type SenderReport } from '../../protocols/rtsp/rtcp.js';
import { ReceptionStats, rtcpIntervalMs } from '../../protocols/rtsp/rtcp-reception.js';
import { parseTransport } from '../../protocols/rtsp/transport.js';

/** `npm run fuzz:camera` scales every fuzz run up; `npm test` runs the short version. */
const runs = (n: number): number => n * Number(process.env.CAMERA_FUZZ_SCALE ?? '1');

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const block = fc.record({
  ssrc: u32,
  fractionLost: fc.integer({ min: 0, max: 255 }),
  cumulativeLost: fc.integer({ min: -0x80_0000, max: 0x7f_ffff }),
  extendedHighestSeq: u32,
  jitter: u32,
  lsr: u32,
  dlsr: u32,
});
const sr = fc.record({ type: fc.constant('sr' as const), ssrc: u32, ntpMsw: u32, ntpLsw: u32, rtpTimestamp: u32, packetCount: u32, octetCount: u32, reports: fc.array(block, { maxLength: 4 }) });
const rr = fc.record({ type: fc.constant('rr' as const), ssrc: u32, reports: fc.array(block, { maxLength: 4 }) });
const sdes = fc.record({ type: fc.constant('sdes' as const), chunks: fc.array(fc.record({ ssrc: u32, cname: fc.option(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }), { nil: undefined }) }), { maxLength: 3 }) });
const bye = fc.record({ type: fc.constant('bye' as const), ssrcs: fc.array(u32, { maxLength: 4 }) });

/** A receiver of a 90 kHz stream: packets every `gap` sequence numbers at given arrival times. */
function feed(stats: ReceptionStats, packets: Array<[seq: number, ts: number, arrivalMs: number]>, ssrc = 0xcafe): void {
  for (const [seq, ts, at] of packets) stats.packet(ssrc, seq & 0xffff, ts >>> 0, at);
}

describe('RTCP packets (RFC 3550 §6.4)', () => {
  it('property: SR, RR, SDES and BYE compounds read back as written', () => {
    fc.assert(
      fc.property(fc.oneof(sr, rr), fc.array(fc.oneof(sdes, bye), { maxLength: 3 }), (report, rest) => {
        const packets = [report, ...rest] as Exclude<RtcpPacket, { type: 'other' }>[];
        const bytes = serializeRtcp(packets);
        expect(bytes.length % 4).toBe(0);
        expect(parseRtcp(bytes)).toEqual(packets);
      }),
      { numRuns: runs(300) },
    );
  });

  it('skips APP and unknown packet types inside a compound and reads what follows', () => {
    const app = Uint8Array.from([0x80, 204, 0, 2, 0, 0, 0, 1, 0x6e, 0x61, 0x6d, 0x65]); // APP, name "name"
    const xr = Uint8Array.from([0x80, 207, 0, 1, 1, 2, 3, 4]); // RFC 3611 XR
    const report = serializeRtcp([{ type: 'rr', ssrc: 7, reports: [] }]);
    const goodbye = serializeRtcp([{ type: 'bye', ssrcs: [7] }]);
    const parsed = parseRtcp(Uint8Array.from([...report, ...app, ...xr, ...goodbye]));
    expect(parsed.map((p) => p.type)).toEqual(['rr', 'other', 'other', 'bye']);
    expect(parsed[1]).toEqual({ type: 'other', packetType: 204 });
  });

  it('reads padding on the last packet of a compound and refuses it on any other (§A.2)', () => {
    const last = Uint8Array.from([0xa0 | 0, 203, 0, 1, 0, 0, 0, 4]); // BYE, P set, 4 octets of padding
    expect(parseRtcp(last)).toEqual([{ type: 'bye', ssrcs: [] }]);
    const report = serializeRtcp([{ type: 'rr', ssrc: 1, reports: [] }]);
    const padded = Uint8Array.from(report);
    padded[0] = (padded[0] as number) | 0x20;
    expect(() => parseRtcp(Uint8Array.from([...padded, ...last]))).toThrow(RtspProtocolError);
  });

  it('refuses a wrong version, a length past the end, a zero or oversized padding count and truncated reports', () => {
    const good = serializeRtcp([{ type: 'sr', ssrc: 1, ntpMsw: 2, ntpLsw: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [] }]);
    const bad = (edit: (b: Uint8Array) => void, bytes = good): Uint8Array => {
      const b = Uint8Array.from(bytes);
      edit(b);
      return b;
    };
    expect(() => parseRtcp(bad((b) => (b[0] = 0x40)))).toThrow(/version/);
    expect(() => parseRtcp(bad((b) => (b[3] = 200)))).toThrow(/past the end/);
    expect(() => parseRtcp(bad((b) => ((b[0] = 0xa0), (b[27] = 0))))).toThrow(/padding/);
    expect(() => parseRtcp(bad((b) => ((b[0] = 0xa0), (b[27] = 40))))).toThrow(/padding/);
    expect(() => parseRtcp(bad((b) => (b[0] = 0x81)))).toThrow(/SR of 28 bytes needs 52/);
    expect(() => parseRtcp(good.subarray(0, 3))).toThrow(RtspProtocolError);
  });

  it('LSR is the middle 32 bits of the NTP timestamp; NTP counts from 1900', () => {
    expect(lsrOf({ ntpMsw: 0x1234_5678, ntpLsw: 0x9abc_def0 })).toBe(0x5678_9abc);
    const { ntpMsw, ntpLsw } = ntpOf(Date.UTC(2026, 10, 25, 12, 0, 0, 500));
    expect(ntpMsw).toBe(Date.UTC(2026, 10, 25, 12, 0, 0) / 1000 + 2_208_988_800);
    expect(ntpLsw).toBe(0x8000_0000);
  });

  it('fuzz: random bytes and mutated compounds parse or fail with RtspProtocolError, nothing else', () => {
    const real = serializeRtcp([
      { type: 'sr', ssrc: 0xdead, ntpMsw: 1, ntpLsw: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reports: [{ ssrc: 9, fractionLost: 1, cumulativeLost: -2, extendedHighestSeq: 3, jitter: 4, lsr: 5, dlsr: 6 }] },
      { type: 'sdes', chunks: [{ ssrc: 0xdead, cname: 'camera@10.0.0.7' }] },
      { type: 'bye', ssrcs: [0xdead] },
    ]);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((muts) => {
        const b = Uint8Array.from(real);
        for (const [at, v] of muts) b[at] = v;
        return b;
      })), (bytes) => {
        try {
          for (const p of parseRtcp(bytes)) if (p.type === 'sdes') for (const c of p.chunks) expect((c.cname ?? '').length).toBeLessThanOrEqual(255);
        } catch (err) {
          expect(err).toBeInstanceOf(RtspProtocolError);
        }
      }),
      { numRuns: runs(2000) },
    );
  });
});

describe('reception statistics (RFC 3550 §A.1, §A.3, §A.8)', () => {
  const at = (i: number): [number, number, number] => [1000 + i, 3000 * i, (i * 1000) / 30];

  it('reports nothing until the source leaves probation, then counts from the second in-order packet', () => {
    const stats = new ReceptionStats(90_000);
    feed(stats, [at(0)]);
    expect(stats.reportBlock(100)).toBeUndefined();
    feed(stats, [at(1), at(2)]);
    expect(stats.reportBlock(100)).toMatchObject({ ssrc: 0xcafe, cumulativeLost: 0, fractionLost: 0, extendedHighestSeq: 1002 });
  });

  it('counts lost packets and the fraction lost since the previous report (§A.3)', () => {
    const stats = new ReceptionStats(90_000);
    const seqs = Array.from({ length: 102 }, (_, i) => i).filter((i) => i < 2 || i % 10 !== 5); // 10 of 100 lost after probation
    feed(stats, seqs.map(at));
    const first = stats.reportBlock(0) as ReportBlock;
    expect(first.cumulativeLost).toBe(10);
    expect(first.fractionLost).toBe(Math.floor((10 * 256) / 100));
    feed(stats, Array.from({ length: 50 }, (_, i) => at(102 + i)));
    const second = stats.reportBlock(0) as ReportBlock;
    expect(second).toMatchObject({ cumulativeLost: 10, fractionLost: 0, extendedHighestSeq: 1000 + 151 });
  });

  it('extends the highest sequence number across the 16-bit wrap', () => {
    const stats = new ReceptionStats(90_000);
    feed(stats, Array.from({ length: 20 }, (_, i) => [65_530 + i, 3000 * i, i * 33] as [number, number, number]));
    expect(stats.reportBlock(0)).toMatchObject({ extendedHighestSeq: 0x1_0000 + ((65_530 + 19) & 0xffff), cumulativeLost: 0 });
  });

  it('takes two packets in a row after a huge jump as a restart, and a lone one as junk', () => {
    const stats = new ReceptionStats(90_000);
    feed(stats, Array.from({ length: 10 }, (_, i) => at(i)));
    feed(stats, [[30_000, 0, 400]]); // junk: ignored
    expect(stats.reportBlock(0)).toMatchObject({ extendedHighestSeq: 1009, cumulativeLost: 0 });
    feed(stats, [[30_000, 0, 500], [30_001, 3000, 533]]); // the sender restarted its numbering
    expect(stats.reportBlock(0)).toMatchObject({ extendedHighestSeq: 30_001, cumulativeLost: 0 });
  });

  it('jitter is zero for a steady stream and tends to the arrival spread for a jittery one (§A.8)', () => {
    const steady = new ReceptionStats(90_000);
    feed(steady, Array.from({ length: 200 }, (_, i) => at(i)));
    expect(steady.reportBlock(0)?.jitter).toBe(0);
    const jittery = new ReceptionStats(90_000);
    // Every other packet 10 ms late: |D| is 900 ticks each time, so J → 900.
    feed(jittery, Array.from({ length: 400 }, (_, i) => [i, 3000 * i, (i * 1000) / 30 + (i % 2) * 10] as [number, number, number]));
    expect(Math.abs((jittery.reportBlock(0)?.jitter ?? 0) - 900)).toBeLessThanOrEqual(2);
  });

  it('echoes the last sender report of the source as LSR, with the delay since in 1/65536 s', () => {
    const stats = new ReceptionStats(90_000);
    feed(stats, Array.from({ length: 5 }, (_, i) => at(i)));
    const report: SenderReport = { type: 'sr', ssrc: 0xcafe, ntpMsw: 0xaaaa_1234, ntpLsw: 0x5678_0000, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] };
    stats.senderReport({ ...report, ssrc: 0xbeef }, 1_000); // another source's: ignored
    expect(stats.reportBlock(1_000)).toMatchObject({ lsr: 0, dlsr: 0 });
    stats.senderReport(report, 1_000);
    expect(stats.reportBlock(3_500)).toMatchObject({ lsr: 0x1234_5678, dlsr: 2.5 * 65_536 });
  });
});

describe('the RTCP report interval (RFC 3550 §6.3.1, §A.7)', () => {
  const receiver = { members: 2, senders: 1, rtcpBandwidth: 25_000, weSent: false, avgRtcpSize: 100, initial: false };

  it('is at least 5 s deterministic (2.5 s before the first report), randomized between 0.5 and 1.5 of it over e − 3/2', () => {
    const c = Math.E - 1.5;
    expect(rtcpIntervalMs(receiver, 0)).toBeCloseTo((5000 * 0.5) / c, 6);
    expect(rtcpIntervalMs(receiver, 0.999_999)).toBeCloseTo((5000 * 1.5) / c, 0);
    expect(rtcpIntervalMs({ ...receiver, initial: true }, 0.5)).toBeCloseTo(2500 / c, 6);
  });

  it('grows with the members when the RTCP bandwidth is small', () => {
    const crowded = { ...receiver, members: 1001, senders: 1, rtcpBandwidth: 500 };
    // Receivers share 75% of 500 octets/s: 1000 × 100 octets / 375 octets/s.
    expect(rtcpIntervalMs(crowded, 0.5)).toBeCloseTo(((1000 * 100) / 375) * 1000 / (Math.E - 1.5), 3);
  });
});

describe('the Transport header of a SETUP answer (RFC 2326 §12.39)', () => {
  it('reads the interleaved channels, server ports and SSRC the camera chose', () => {
    expect(parseTransport('RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=0A1B2C3D;mode="PLAY"')).toEqual({ interleaved: { rtp: 2, rtcp: 3 }, serverPorts: undefined, ssrc: 0x0a1b2c3d });
    expect(parseTransport('RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971')).toEqual({ interleaved: undefined, serverPorts: { rtp: 6970, rtcp: 6971 }, ssrc: undefined });
    expect(parseTransport('RTP/AVP/TCP;interleaved=4').interleaved).toEqual({ rtp: 4, rtcp: 5 });
    expect(parseTransport('RTP/AVP/TCP;interleaved=300-301;ssrc=xyz')).toEqual({ interleaved: undefined, serverPorts: undefined, ssrc: undefined });
  });

  it('takes interleaved channel 0 but no server port 0: a camera answering server_port=0-0 gives no RTCP target', () => {
    expect(parseTransport('RTP/AVP/TCP;interleaved=0-1').interleaved).toEqual({ rtp: 0, rtcp: 1 });
    expect(parseTransport('RTP/AVP;unicast;client_port=5000-5001;server_port=0-0').serverPorts).toBeUndefined();
    expect(parseTransport('RTP/AVP;unicast;server_port=6970-0').serverPorts).toBeUndefined();
  });

  it('fuzz: any header text parses without throwing, into bounded numbers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        const t = parseTransport(`RTP/AVP/TCP;interleaved=${text};server_port=${text};ssrc=${text}`);
        for (const r of [t.interleaved, t.serverPorts]) if (r !== undefined) expect(Math.max(r.rtp, r.rtcp)).toBeLessThanOrEqual(65_535);
        if (t.serverPorts !== undefined) expect(Math.min(t.serverPorts.rtp, t.serverPorts.rtcp)).toBeGreaterThanOrEqual(1);
        if (t.ssrc !== undefined) expect(t.ssrc).toBeLessThanOrEqual(0xffff_ffff);
      }),
      { numRuns: runs(500) },
    );
  });
});
