import { afterEach, describe, expect, it } from 'vitest';
import type { ReceiverReport, RtcpPacket } from '../../protocols/rtsp/rtcp.js';
import { rtcpIntervalMs } from '../../protocols/rtsp/rtcp-reception.js';
import { realPause, startRig, until, type Rig } from '../support/camera-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** The rig pins random() to 0.5: the first report comes 2.5 s / (e − 3/2) after PLAY, the next ones 5 s / (e − 3/2) apart. */
const FIRST_MS = rtcpIntervalMs({ members: 2, senders: 1, rtcpBandwidth: 0, weSent: false, avgRtcpSize: 100, initial: true }, 0.5);
const NEXT_MS = rtcpIntervalMs({ members: 2, senders: 1, rtcpBandwidth: 0, weSent: false, avgRtcpSize: 100, initial: false }, 0.5);

const reports = (r: Rig, session?: string): Array<readonly RtcpPacket[]> => r.sim.stats.rtcp.filter((x) => session === undefined || x.session === session).map((x) => x.packets);
const rrOf = (packets: readonly RtcpPacket[] | undefined): ReceiverReport | undefined => (packets?.[0]?.type === 'rr' ? packets[0] : undefined);

describe('RTCP receiver reports (RFC 3550 §6.4.2) to the simulated camera', () => {
  it('over TCP: RR + SDES CNAME on the interleaved RTCP channel at the §6.3.1 interval, with the camera SSRC, highest sequence, loss and LSR/DLSR', async () => {
    rig = await startRig({ stallS: 600 }, { senderReportMs: 100 });
    const r = rig;
    await until(() => r.camera.healthy() && r.sim.stats.senderReports.length >= 2 && r.camera.rtcp?.lastSenderReport !== undefined, 'streaming, with sender reports');
    const [session, dropped] = [...r.sim.stats.dropped.entries()][0] ?? ['', []];
    r.sim.faults.dropEvery = 25;
    await until(() => dropped.length >= 4, 'some packets dropped');
    r.sim.faults.dropEvery = 0;
    await realPause(100); // the packets after the last drop arrive, as does another SR
    await r.clock.advance(FIRST_MS - 10);
    expect(reports(r, session)).toHaveLength(0);
    await r.clock.advance(10);
    expect(reports(r, session)).toHaveLength(0); // written; the camera has it a moment later
    await until(() => reports(r, session).length === 1, 'the first report');
    const [first] = reports(r, session);
    const rr = rrOf(first);
    const hub = r.camera.rtcp;
    expect(rr?.ssrc).toBe(hub?.ssrc);
    const block = rr?.reports[0];
    const cameraSsrc = r.sim.stats.senderReports.find((s) => s.session === session)?.ssrc;
    expect(block?.ssrc).toBe(cameraSsrc);
    const highest = block?.extendedHighestSeq ?? 0;
    // Every packet the camera dropped up to the highest one the hub saw is counted lost (§A.3).
    expect(block?.cumulativeLost).toBe(dropped.filter((seq) => seq <= highest).length);
    expect(block?.cumulativeLost).toBeGreaterThanOrEqual(4);
    expect(block?.fractionLost).toBeGreaterThan(0);
    const lsrs = r.sim.stats.senderReports.filter((s) => s.session === session).map((s) => s.lsr);
    expect(lsrs).toContain(block?.lsr);
    // The last SR arrived before the fake clock moved: DLSR is the whole first interval, in 1/65536 s.
    expect(block?.dlsr).toBe(Math.round((FIRST_MS * 65_536) / 1000));
    expect(first?.[1]).toEqual({ type: 'sdes', chunks: [{ ssrc: hub?.ssrc, cname: hub?.cname }] });
    expect(hub?.cname).toMatch(/^keyhub-[0-9a-f]{12}@hub$/);

    await realPause(100); // more video
    await r.clock.advance(NEXT_MS);
    await until(() => reports(r, session).length === 2, 'the second report');
    const second = rrOf(reports(r, session)[1])?.reports[0];
    expect(second?.extendedHighestSeq).toBeGreaterThan(highest);
    expect(second?.cumulativeLost).toBe(dropped.length); // no drops since
    expect(second?.fractionLost).toBe(0);
    expect(r.sim.stats.badRtcp).toBe(0);
  });

  it('says BYE when the hub leaves the session (§6.6)', async () => {
    rig = await startRig({ stallS: 600 }, { senderReportMs: 0 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    const ssrc = r.camera.rtcp?.ssrc;
    await r.camera.stop();
    await until(() => r.sim.stats.rtcp.length > 0, 'a last RTCP packet');
    const last = r.sim.stats.rtcp.at(-1)?.packets;
    expect(last?.map((p) => p.type)).toEqual(['rr', 'sdes', 'bye']);
    expect(last?.[2]).toEqual({ type: 'bye', ssrcs: [ssrc] });
  });

  it('a malformed RTCP packet and an APP packet from the camera are dropped; the video goes on', async () => {
    rig = await startRig({ stallS: 600 }, { senderReportMs: 100 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    r.sim.faults.badRtcp = true;
    await until(() => !r.sim.faults.badRtcp, 'the bad packets sent');
    const frames = r.frames.length;
    await until(() => r.frames.length > frames + 15, 'more pictures');
    expect(r.camera.rtcp?.malformed).toBe(1);
    expect(r.events.some((e) => e.type === 'session-ended')).toBe(false);
    expect(r.sim.stats.connections).toBe(1);
  });

  it('over UDP: reports go to the camera RTCP port (server_port + 1) and SRs come back to ours (client_port + 1)', async () => {
    rig = await startRig({ stallS: 600, transport: 'udp' }, { senderReportMs: 100 });
    const r = rig;
    await until(() => r.camera.healthy() && r.camera.rtcp?.lastSenderReport !== undefined, 'streaming over UDP with a sender report');
    await r.clock.advance(FIRST_MS);
    await until(() => reports(r, undefined).length >= 1, 'a report on the RTCP port');
    const received = r.sim.stats.rtcp[0];
    expect(received?.session).toBeUndefined(); // it came in on UDP, not on the TCP connection
    const block = rrOf(received?.packets)?.reports[0];
    expect(block?.ssrc).toBe(r.camera.rtcp?.lastSenderReport?.ssrc);
    expect(r.sim.stats.senderReports.map((s) => s.lsr)).toContain(block?.lsr);
  });
});
