import { describe, expect, it } from 'vitest';
import { FrozenPictureWatch } from '../../hub/camera/frozen-picture.js';
import { LivenessWatch, type Stall } from '../../hub/camera/liveness.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { NalType, toLengthPrefixed } from '../../protocols/rtsp/h264.js';
import type { AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';

function watch(stallMs = 3000) {
  const clock = new FakeClock();
  const stalls: Stall[] = [];
  const silentSessions: number[] = [];
  const w = new LivenessWatch({ clock, stallMs, onStall: (s) => stalls.push(s), onSilentSession: (ms) => silentSessions.push(ms) });
  w.start();
  return { clock, w, stalls, silentSessions };
}

describe('the liveness watch: a stall is one incident', () => {
  it('counts silence from the last picture, not from the latest PLAY, across any number of reconnects', async () => {
    const { clock, w, stalls, silentSessions } = watch();
    w.sessionPlaying();
    w.picture(clock.monotonic());
    const lastPicture = clock.monotonic();
    // Reconnect after reconnect, each answering PLAY and sending nothing.
    for (let i = 0; i < 6; i++) {
      await clock.advance(1500);
      w.sessionEnded();
      w.sessionPlaying();
    }
    await clock.advance(20_000);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ reason: 'silence', lastPictureAt: lastPicture });
    expect(stalls[0]?.silentForMs).toBeGreaterThanOrEqual(3000);
    expect(stalls[0]?.silentForMs).toBeLessThanOrEqual(3750);
    // The silent session is reported once, so the camera drops it and tries another.
    expect(silentSessions).toHaveLength(1);
    const recovery = w.recover(clock.monotonic());
    expect(recovery).toEqual({ reason: 'silence', outageMs: clock.monotonic() - lastPicture });
    expect(w.recover(clock.monotonic())).toBeUndefined();
  });

  it('a closed connection (no session at all) is a stall too, reason disconnected', async () => {
    const { clock, w, stalls } = watch();
    w.sessionPlaying();
    w.picture(clock.monotonic());
    await clock.advance(500);
    w.sessionEnded();
    await clock.advance(10_000);
    expect(stalls.map((s) => s.reason)).toEqual(['disconnected']);
  });

  it('pictures whose timestamps stand still are a stall of their own reason', async () => {
    const { clock, w, stalls } = watch();
    w.sessionPlaying();
    w.picture(clock.monotonic());
    for (let i = 0; i < 150; i++) {
      await clock.advance(33);
      w.repeat(clock.monotonic());
    }
    expect(stalls.map((s) => s.reason)).toEqual(['frozen-timestamps']);
  });

  it('a camera that sends nothing from the start is a stall too, counted from the start', async () => {
    const { clock, w, stalls } = watch();
    const started = clock.monotonic();
    await clock.advance(10_000);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toMatchObject({ reason: 'disconnected', lastPictureAt: started });
    expect(w.recover(clock.monotonic())?.outageMs).toBe(10_000);
  });

  it('a frozen picture is a stall at once, silent since the first identical keyframe', async () => {
    const { clock, w, stalls } = watch(10_000);
    w.sessionPlaying();
    const since = clock.monotonic();
    w.picture(since);
    await clock.advance(2000);
    w.frozen(since);
    expect(stalls).toEqual([{ reason: 'frozen-picture', silentForMs: 2000, lastPictureAt: since }]);
    w.frozen(since);
    expect(stalls).toHaveLength(1);
  });
});

/** An IDR access unit whose slice bytes are `slice`, with parameter sets and an SEI that may change. */
function keyframe(slice: number, sei = 0): AccessUnit {
  const nalus = [Uint8Array.of(0x67, 1, 2), Uint8Array.of(0x68, 3), Uint8Array.of(NalType.SEI, sei), Uint8Array.of(0x65, slice, 7, 7)];
  return { nalus, data: toLengthPrefixed(nalus), rtpTime: 0, key: true, sps: nalus[0] as Uint8Array, pps: nalus[1] as Uint8Array, bytes: 12 };
}

describe('frozen picture detection (keyframe slices compared by hash)', () => {
  it('is frozen at the Nth identical keyframe in a row, counted from the first of them, whatever the SEI says', () => {
    const f = new FrozenPictureWatch(3);
    expect(f.keyframe(keyframe(1), 0)).toBe(false);
    expect(f.keyframe(keyframe(2), 1000)).toBe(false);
    expect(f.keyframe(keyframe(2, 9), 2000)).toBe(false);
    expect(f.keyframe(keyframe(2, 10), 3000)).toBe(true);
    expect(f.runStartedAt).toBe(1000);
    expect(f.keyframe(keyframe(3), 4000)).toBe(false);
    expect(f.frozen).toBe(false);
  });

  it('never trips on a loop of distinct GOPs, even with the smallest N', () => {
    const f = new FrozenPictureWatch(2);
    for (let i = 0; i < 100; i++) expect(f.keyframe(keyframe(i % 10), i * 1000)).toBe(false);
  });

  it('refuses an N below 2 (one keyframe cannot repeat)', () => {
    expect(() => new FrozenPictureWatch(1)).toThrow(RangeError);
  });
});
