import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../hub/system/errors.js';
import { Camera } from '../../hub/camera/camera.js';
import { capturedLog, realPause, SIM_CREDENTIALS, startRig, until, type Rig } from '../support/camera-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const ended = (r: Rig, code: ErrorCode): boolean => r.events.some((e) => e.type === 'session-ended' && e.error.code === code);

describe('the hub camera against the simulated camera', () => {
  it('authenticates with Digest, plays and becomes healthy on the first keyframe', async () => {
    rig = await startRig();
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    expect(r.events[0]).toMatchObject({ type: 'streaming', width: 640, height: 360 });
    expect(r.frames[0]?.au.key).toBe(true);
    expect(r.sim.stats.requests).toEqual(['OPTIONS', 'OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY']);
  });

  it('never writes the camera password into its logs, even from a URL with user info', async () => {
    rig = await startRig();
    const r = rig;
    const withUserInfo = r.sim.url.replace('rtsp://', `rtsp://${SIM_CREDENTIALS.username}:${SIM_CREDENTIALS.password}@`);
    const { log, lines } = capturedLog();
    const cam = new Camera({ url: withUserInfo, credentials: { username: 'installer', password: 'wrong-password' }, clock: r.clock, log, random: () => 0.5 });
    cam.start();
    await until(() => lines.some((l) => l.includes('E401')), 'an auth failure in the log');
    await cam.stop();
    const text = lines.join('\n');
    expect(text).toContain('CAMERA_AUTH_REFUSED');
    expect(text).not.toContain(SIM_CREDENTIALS.password);
    expect(text).not.toContain('wrong-password');
  });

  it('refuse-auth switch: the session ends with CAMERA_AUTH_REFUSED and retries after backoff', async () => {
    rig = await startRig({}, {});
    const r = rig;
    r.sim.faults.refuseAuth = true;
    await r.camera.stop();
    r.camera.start();
    await until(() => ended(r, ErrorCode.CAMERA_AUTH_REFUSED), 'auth refused');
    expect(r.camera.healthy()).toBe(false);
    const connections = r.sim.stats.connections;
    r.sim.faults.refuseAuth = false;
    await r.clock.advance(2_000);
    await until(() => r.camera.healthy(), 'healthy after the retry');
    expect(r.sim.stats.connections).toBeGreaterThan(connections);
  });

  it('freeze switch (TCP open, RTP stopped): a stall once stallS pass without a picture, an audit record, then recovery on a fresh keyframe', async () => {
    rig = await startRig({ stallS: 3 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    // While pictures flow, fake time passing is no stall.
    for (let i = 0; i < 8; i++) {
      await realPause(60);
      await r.clock.advance(500);
    }
    expect(r.events.some((e) => e.type === 'stall')).toBe(false);
    await realPause(60); // the last pictures arrive at the current fake instant
    r.sim.faults.freeze = true;
    await realPause(150);
    await r.clock.advance(2_900);
    expect(r.camera.healthy()).toBe(true);
    // Detection runs every stallS/4, so the stall is seen by stallS × 1.25 at the latest.
    await r.clock.advance(850);
    const stall = r.events.find((e) => e.type === 'stall');
    expect(stall?.type === 'stall' && stall.error.code).toBe(ErrorCode.CAMERA_STALL);
    expect(stall?.type === 'stall' && stall.record).toMatchObject({ type: 'camera.stall', code: 406, thresholdMs: 3000 });
    expect(r.camera.healthy()).toBe(false);
    await until(() => ended(r, ErrorCode.CAMERA_STALL), 'session dropped after the stall');
    r.sim.faults.freeze = false;
    await r.clock.advance(2_000);
    await until(() => r.events.some((e) => e.type === 'recovered'), 'recovered');
    expect(r.camera.healthy()).toBe(true);
  });

  it('drop switch: lost packets cost pictures up to the next IDR, the stream stays up', async () => {
    rig = await startRig();
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    r.sim.faults.dropEvery = 40;
    const before = r.frames.length;
    await until(() => r.sim.stats.droppedPackets >= 3 && r.frames.length > before + 30, 'packets dropped and frames still flowing');
    r.sim.faults.dropEvery = 0;
    // Every picture emitted after a loss begins at a keyframe: no P-frame without its reference.
    const times = r.frames.map((f) => f.time);
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] ?? 0))).toBe(true);
    expect(r.events.some((e) => e.type === 'session-ended')).toBe(false);
  });

  it('garbage switch: CAMERA_PROTOCOL_ERROR, reconnect, healthy again', async () => {
    rig = await startRig();
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    r.sim.faults.garbage = true;
    await until(() => ended(r, ErrorCode.CAMERA_PROTOCOL_ERROR), 'protocol error');
    await r.clock.advance(2_000);
    await until(() => r.camera.healthy(), 'healthy after reconnect');
  });

  it('slow-loris switch: a header that never ends is cut off by the response timeout', async () => {
    rig = await startRig({ responseTimeoutMs: 5_000 });
    const r = rig;
    r.sim.faults.slowLoris = true;
    await until(() => r.sim.stats.requests.length >= 1, 'first request');
    await realPause(100);
    await r.clock.advance(5_000);
    await until(() => ended(r, ErrorCode.CAMERA_TIMEOUT) || ended(r, ErrorCode.CAMERA_PROTOCOL_ERROR), 'cut off');
    expect(r.camera.healthy()).toBe(false);
  });

  it('close-mid-GOP switch: CAMERA_DISCONNECTED, reconnect, the torn picture is never emitted', async () => {
    rig = await startRig();
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    r.sim.faults.closeMidGop = true;
    await until(() => ended(r, ErrorCode.CAMERA_DISCONNECTED), 'disconnect');
    await r.clock.advance(2_000);
    await until(() => r.camera.healthy(), 'healthy after reconnect');
    expect(r.frames.every((f) => f.au.nalus.length > 0)).toBe(true);
  });

  it('plays over RTP/UDP when asked', async () => {
    rig = await startRig({ transport: 'udp' });
    const r = rig;
    await until(() => r.camera.healthy() && r.frames.length > 10, 'healthy over UDP');
  });

  it('sends GET_PARAMETER keep-alives within the session timeout', async () => {
    rig = await startRig({ stallS: 60 }, { sessionTimeoutS: 10 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    await r.clock.advance(5_000);
    await until(() => r.sim.stats.requests.includes('GET_PARAMETER'), 'keep-alive');
  });

  it('an unreachable camera is CAMERA_UNREACHABLE and the hub keeps retrying', async () => {
    rig = await startRig();
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    await r.sim.stop();
    await until(() => ended(r, ErrorCode.CAMERA_DISCONNECTED), 'disconnected');
    await r.clock.advance(2_000);
    await until(() => ended(r, ErrorCode.CAMERA_UNREACHABLE), 'unreachable');
  });
});
