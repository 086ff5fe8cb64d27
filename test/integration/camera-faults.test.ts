import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cameraAuditModule } from '../../hub/camera/camera-audit.js';
import type { CameraEvent } from '../../hub/camera/camera.js';
import { ClipStore } from '../../hub/camera/clip-store.js';
import { Recorder } from '../../hub/camera/recorder.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { checkEvent, type AuditEvent } from '../../protocols/audit/events.js';
import { ffprobe, ffprobePacketTimes } from '../support/camera-ffprobe.js';
import { drive, startRig, until, type Rig } from '../support/camera-harness.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

/**
 * The hub's camera against the simulated camera's fault switches for what foreign servers and
 * cameras did to it (issue: peers it never met). The sim runs on the hub's FakeClock (see
 * `drive`): session expiry, keep-alive and stall thresholds are all compared on one clock.
 */
let rig: Rig | undefined;
let store: Store | undefined;
let dir: { path: string; cleanup(): void } | undefined;
afterEach(async () => {
  await rig?.stop();
  store?.close();
  dir?.cleanup();
  rig = undefined;
  store = undefined;
  dir = undefined;
});

const of = <T extends CameraEvent['type']>(r: Rig, type: T): Array<Extract<CameraEvent, { type: T }>> => r.events.filter((e): e is Extract<CameraEvent, { type: T }> => e.type === type);

/** The camera's audit bridge, writing into a list; every entry must be a valid v1 audit event. */
function audited(r: Rig): AuditEvent[] {
  const entries: AuditEvent[] = [];
  cameraAuditModule({ camera: r.camera, audit: { append: (e: AuditEvent) => entries.push(e) }, onAuditFailure: (err) => { throw err; } }).start(new AbortController().signal);
  return entries;
}

/**
 * Drives until the first pictures, then forgets the events so far: on a loaded machine the first
 * picture may take longer than stallS of fake time, which is an outage from the start of its own.
 */
async function healthy(r: Rig): Promise<void> {
  await drive(r, 8_000, () => r.camera.healthy());
  expect(r.camera.healthy()).toBe(true);
  await drive(r, 100);
  r.events.splice(0);
}

describe('keep-alive as the camera offers it', () => {
  it('keeps a session alive with OPTIONS when the camera lists no GET_PARAMETER, and the camera never expires it', async () => {
    rig = await startRig({}, { sessionTimeoutS: 4, faults: { noGetParameter: true, expireAfterS: 4 } }, { sharedClock: true });
    const r = rig;
    await healthy(r);
    const from = r.sim.stats.requests.lastIndexOf('PLAY') + 1;
    await drive(r, 14_000);
    expect(r.sim.stats.expiredSessions).toBe(0);
    expect(of(r, 'session-ended')).toEqual([]);
    expect(of(r, 'stall')).toEqual([]);
    expect(r.camera.healthy()).toBe(true);
    const after = r.sim.stats.requests.slice(from);
    expect(after.filter((m) => m === 'OPTIONS').length).toBeGreaterThanOrEqual(6); // every 2 s: half the timeout
    expect(after).not.toContain('GET_PARAMETER');
  });

  it('a keep-alive the camera refuses (454: it ended the session early) ends the session at once and the hub reconnects, with no stall', async () => {
    rig = await startRig({}, { sessionTimeoutS: 4, faults: { expireAfterS: 1.5 } }, { sharedClock: true });
    const r = rig;
    await healthy(r);
    await drive(r, 5_000, () => r.sim.stats.expiredSessions > 0);
    r.sim.faults.expireAfterS = 0;
    await drive(r, 6_000);
    const [ended] = of(r, 'session-ended');
    expect(ended?.error.code).toBe(ErrorCode.CAMERA_REQUEST_FAILED);
    expect(ended?.error.message).toMatch(/keep-alive GET_PARAMETER answered 454/);
    expect(of(r, 'stall')).toEqual([]);
    expect(r.camera.healthy()).toBe(true);
  });
});

describe('a stall is one incident, whatever its cause', () => {
  it("a publisher's death (PLAY answered, nothing sent) is one stall however many sessions the hub tries, silent from the last picture, then one recovered with the outage's length", async () => {
    rig = await startRig({}, {}, { sharedClock: true });
    const r = rig;
    await healthy(r);
    const entries = audited(r);
    await drive(r, 1_000);
    const connections = r.sim.stats.connections;
    r.sim.faults.freeze = true;
    const frozenAt = r.clock.monotonic();
    await drive(r, 20_000);
    const stalls = of(r, 'stall');
    expect(stalls).toHaveLength(1);
    expect(stalls[0]?.record.reason).toBe('silence');
    expect(stalls[0]?.record.silentForMs).toBeGreaterThanOrEqual(2_900);
    expect(stalls[0]?.record.silentForMs).toBeLessThanOrEqual(3_850);
    // It kept trying: several sessions, each dropped for its silence.
    expect(r.sim.stats.connections - connections).toBeGreaterThanOrEqual(3);
    expect(of(r, 'session-ended').every((e) => e.error.code === ErrorCode.CAMERA_STALL)).toBe(true);
    expect(r.camera.status()).toMatchObject({ healthy: false, state: 'stalled', stall: { reason: 'silence' } });
    r.sim.faults.freeze = false;
    await drive(r, 10_000, () => of(r, 'recovered').length > 0);
    const [recovered] = of(r, 'recovered');
    expect(recovered?.reason).toBe('silence');
    expect(recovered?.outageMs).toBeGreaterThanOrEqual(r.clock.monotonic() - frozenAt - 1_000);
    expect(recovered?.outageMs).toBeLessThanOrEqual(r.clock.monotonic() - frozenAt + 100);
    await drive(r, 3_000);
    expect(of(r, 'recovered')).toHaveLength(1);
    expect(entries.map((e) => e.type)).toEqual(['camera.stall', 'camera.recovered']);
    for (const e of entries) expect(checkEvent(e.type, e.body).ok).toBe(true);
  });

  it('a camera that dies mid-visit (connection closed, then every new one closed) is a stall too, reason disconnected, and the clip goes on after it', async () => {
    rig = await startRig({ preRollS: 2 }, {}, { sharedClock: true });
    const r = rig;
    dir = tempDir('keyhub-camera-faults-');
    store = await openStore({ path: join(dir.path, 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
    const clips = new ClipStore({ store, dir: join(dir.path, 'clips'), clock: r.clock, log: silentLog(), quotaBytes: 50e6, visitQuotaBytes: 40e6 });
    await healthy(r);
    const entries = audited(r);
    await drive(r, 2_500);
    const recording = await new Recorder({ camera: r.camera, clips, clock: r.clock, log: silentLog() }).start('visit-camera-dies');
    r.sim.faults.down = true;
    await drive(r, 8_000);
    expect(of(r, 'stall').map((s) => s.record.reason)).toEqual(['disconnected']);
    expect(of(r, 'session-ended').length).toBeGreaterThanOrEqual(2);
    r.sim.faults.down = false;
    await drive(r, 10_000, () => of(r, 'recovered').length > 0);
    await drive(r, 2_000);
    expect(of(r, 'recovered').map((e) => e.reason)).toEqual(['disconnected']);
    const { clips: [row] } = await recording.stop();
    const probe = await ffprobe(clips.path(row));
    expect(probe.errors).toBe('');
    expect(probe.frames).toBeGreaterThan(60);
    expect(entries.map((e) => [e.type, (e.body as { reason?: string }).reason])).toEqual([
      ['camera.stall', 'disconnected'],
      ['camera.recovered', 'disconnected'],
    ]);
  });
});

describe('transport: auto falls back from TCP to UDP', () => {
  it.each([461, 400] as const)('with the default transport, a camera that refuses TCP with %i streams over UDP, and status and logs say so', async (status) => {
    rig = await startRig({}, { faults: { refuseTcp: status } });
    const r = rig;
    await until(() => r.camera.healthy() && r.frames.length > 10, 'healthy over UDP', 8_000);
    expect(r.camera.status()).toMatchObject({ healthy: true, state: 'streaming', configuredTransport: 'auto', transport: 'udp' });
    expect(of(r, 'streaming')[0]?.transport).toBe('udp');
    expect(r.lines.join('')).toContain(`camera session playing over RTP/UDP (the camera refused tcp ${status}`);
    // It remembers: the next session asks for UDP straight away.
    const setups = r.sim.stats.requests.filter((m) => m === 'SETUP').length;
    r.sim.dropConnections();
    await until(() => of(r, 'session-ended').length > 0, 'the session to end');
    await r.clock.advance(2_000);
    await until(() => of(r, 'streaming').length >= 2, 'streaming again');
    expect(r.sim.stats.requests.filter((m) => m === 'SETUP').length).toBe(setups + 1);
  });

  it('an explicit tcp against a UDP-only camera is one clear error that names udp (and auto)', async () => {
    rig = await startRig({ transport: 'tcp' }, { faults: { refuseTcp: 461 } });
    const r = rig;
    await until(() => of(r, 'session-ended').length > 0, 'the session attempt to end');
    const error = of(r, 'session-ended')[0]?.error;
    expect(error?.code).toBe(ErrorCode.CAMERA_TRANSPORT_REFUSED);
    expect(error?.message).toMatch(/refused RTP over TCP \(SETUP answered 461 Unsupported Transport\); camera.transport is "tcp": set it to "udp", or to "auto"/);
    expect(r.sim.stats.requests.filter((m) => m === 'SETUP')).toHaveLength(1);
  });

  it('an explicit udp against a TCP-only camera names tcp; auto against a camera that refuses both says so', async () => {
    rig = await startRig({ transport: 'udp' }, { faults: { refuseUdp: true } });
    const r = rig;
    await until(() => of(r, 'session-ended').length > 0, 'the session attempt to end');
    expect(of(r, 'session-ended')[0]?.error.message).toMatch(/refused RTP over UDP .*camera.transport is "udp": set it to "tcp"/);
    await r.stop();
    rig = await startRig({}, { faults: { refuseUdp: true, refuseTcp: 400 } });
    const both = rig;
    await until(() => of(both, 'session-ended').length > 0, 'the session attempt to end');
    const error = of(both, 'session-ended')[0]?.error;
    expect(error?.code).toBe(ErrorCode.CAMERA_TRANSPORT_REFUSED);
    expect(error?.message).toMatch(/refused RTP over TCP \(SETUP answered 400 Bad Request\) and RTP over UDP \(SETUP answered 461 Unsupported Transport\)/);
  });
});

describe('frozen pictures and timestamps', () => {
  it('the same keyframe again and again (a relay replaying its last GOP) is a stall of its own reason, long before the silence threshold', async () => {
    rig = await startRig({ stallS: 10, frozenKeyframes: 3 }, {}, { sharedClock: true });
    const r = rig;
    await healthy(r);
    const entries = audited(r);
    await drive(r, 1_500);
    r.sim.faults.repeatGop = true;
    const from = r.clock.monotonic();
    await drive(r, 6_000, () => of(r, 'stall').length > 0);
    const [stall] = of(r, 'stall');
    expect(stall?.record.reason).toBe('frozen-picture');
    expect(r.clock.monotonic() - from).toBeLessThan(4_000); // three keyframes a GOP (1 s) apart
    // Counted from the first of the identical keyframes, two GOPs before the third.
    expect(stall?.record.silentForMs).toBeGreaterThanOrEqual(1_900);
    expect(stall?.record.silentForMs).toBeLessThanOrEqual(2_200);
    expect(r.camera.healthy()).toBe(false);
    // Reconnecting does not thaw it: the relay still replays the same picture.
    await drive(r, 12_000);
    expect(r.camera.healthy()).toBe(false);
    expect(of(r, 'stall')).toHaveLength(1);
    r.sim.faults.repeatGop = false;
    await drive(r, 15_000, () => r.camera.healthy());
    expect(of(r, 'recovered').map((e) => e.reason)).toEqual(['frozen-picture']);
    expect(entries.map((e) => e.type)).toEqual(['camera.stall', 'camera.recovered']);
  });

  it("the sim camera's looping clip never trips it, even at the smallest N", async () => {
    rig = await startRig({ frozenKeyframes: 2 }, {}, { sharedClock: true });
    const r = rig;
    await healthy(r);
    await drive(r, 25_000); // two and a half loops of the 10 s clip
    expect(of(r, 'stall')).toEqual([]);
    expect(of(r, 'session-ended')).toEqual([]);
    expect(r.camera.healthy()).toBe(true);
    expect(r.frames.length).toBeGreaterThan(700);
  });

  it('timestamps that stop advancing are a stall (frozen-timestamps) although pictures keep coming, one incident until they move again', async () => {
    rig = await startRig({}, {}, { sharedClock: true });
    const r = rig;
    await healthy(r);
    await drive(r, 1_000);
    r.sim.faults.stopTimestamps = true;
    const frames = r.frames.length;
    await drive(r, 12_000);
    expect(r.frames.length).toBeGreaterThan(frames + 100);
    expect(of(r, 'stall').map((s) => s.record.reason)).toEqual(['frozen-timestamps']);
    expect(r.camera.healthy()).toBe(false);
    r.sim.faults.stopTimestamps = false;
    await drive(r, 10_000, () => r.camera.healthy());
    expect(of(r, 'recovered').map((e) => e.reason)).toEqual(['frozen-timestamps']);
    expect(of(r, 'stall')).toHaveLength(1);
  });

  it('a timestamp that jumps back re-bases the timeline: ffprobe reads monotonic timestamps one frame apart, and the clip plays at the right speed', async () => {
    rig = await startRig({ preRollS: 2, stallS: 60 }, {}, { sharedClock: true });
    const r = rig;
    dir = tempDir('keyhub-camera-faults-');
    store = await openStore({ path: join(dir.path, 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
    const clips = new ClipStore({ store, dir: join(dir.path, 'clips'), clock: r.clock, log: silentLog(), quotaBytes: 50e6, visitQuotaBytes: 40e6 });
    await healthy(r);
    await drive(r, 2_500);
    const recording = await new Recorder({ camera: r.camera, clips, clock: r.clock, log: silentLog() }).start('visit-rewind');
    await drive(r, 1_000);
    r.sim.faults.rewindS = 5;
    await drive(r, 3_000);
    expect(r.sim.faults.rewindS).toBe(0);
    expect(r.camera.status().discontinuities).toBe(1);
    const { clips: [row] } = await recording.stop();
    const times = await ffprobePacketTimes(clips.path(row));
    expect(times.length).toBeGreaterThan(150);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThan(0.02);
    expect(Math.max(...gaps)).toBeLessThan(0.06);
    const probe = await ffprobe(clips.path(row));
    expect(probe.errors).toBe('');
    expect(probe.durationS).toBeCloseTo(times.length / 30, 0);
  });
});
