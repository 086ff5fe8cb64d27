import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClipStore } from '../../hub/camera/clip-store.js';
import { Recorder } from '../../hub/camera/recorder.js';
import { topLevelBoxes } from '../../hub/camera/mp4-boxes.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { startRig, until, type Rig } from '../support/camera-harness.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

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

async function setup(preRollS = 2): Promise<{ r: Rig; clips: ClipStore; recorder: Recorder }> {
  dir = tempDir('keyhub-camera-');
  rig = await startRig({ stallS: 600, preRollS });
  store = await openStore({ path: join(dir.path, 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
  const clips = new ClipStore({ store, dir: join(dir.path, 'clips'), clock: rig.clock, log: silentLog(), quotaBytes: 50e6, visitQuotaBytes: 40e6 });
  return { r: rig, clips, recorder: new Recorder({ camera: rig.camera, clips, clock: rig.clock, log: silentLog() }) };
}

describe('recording visits', () => {
  it('refuses to record while the camera is not streaming (no camera, no entry)', async () => {
    const { recorder } = await setup();
    await expect(recorder.start('visit-0')).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_NOT_STREAMING));
  });

  it('starts the clip at the oldest keyframe of the pre-roll; ffprobe reads every picture', async () => {
    const { r, clips, recorder } = await setup(2);
    await until(() => r.camera.preRoll().length >= 75, 'two and a half seconds of pre-roll');
    const preRoll = r.camera.preRoll();
    expect(preRoll[0]?.au.key).toBe(true);
    const recording = await recorder.start('visit-1');
    const from = r.frames.length;
    // Writing before start() resolves (the unlock waits for it): the pre-roll's older GOPs are on disk.
    const onDisk = topLevelBoxes(readFileSync(join(clips.dir, `${recording.id}.mp4.part`))).map((b) => b.type);
    expect(onDisk.slice(0, 3)).toEqual(['ftyp', 'moov', 'moof']);
    await until(() => r.frames.length >= from + 45, 'a second and a half of live video');
    const row = await recording.stop();
    const handed = preRoll.length + (r.frames.length - from);
    const file = clips.path(row);
    expect(row).toMatchObject({ visitId: 'visit-1', state: 'complete' });
    expect(row.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(row.bytes).toBe(readFileSync(file).length);
    const probe = await ffprobe(file);
    expect(probe).toMatchObject({ codec: 'h264', width: 640, height: 360, errors: '' });
    // Frames that arrived while stop() ran may or may not be in; none may be missing before that.
    expect(probe.frames).toBeGreaterThanOrEqual(preRoll.length + 45);
    expect(probe.frames).toBeLessThanOrEqual(handed);
    expect(Math.abs(probe.durationS - probe.frames / 30)).toBeLessThan(1); // within one GOP
    const boxes = topLevelBoxes(readFileSync(file)).map((b) => b.type);
    expect(boxes.slice(0, 3)).toEqual(['ftyp', 'moov', 'moof']);
    expect(boxes.filter((b) => b === 'moof').length).toBeGreaterThanOrEqual(Math.floor(probe.frames / 30));
  });

  it('a visit clip that spans a camera reconnect (close mid-GOP) still plays, with both sides in it', async () => {
    const { r, clips, recorder } = await setup(1);
    await until(() => r.camera.healthy(), 'healthy');
    const recording = await recorder.start('visit-reconnect');
    const before = r.frames.length;
    await until(() => r.frames.length >= before + 20, 'some live video');
    r.sim.faults.closeMidGop = true;
    await until(() => r.events.some((e) => e.type === 'session-ended'), 'the camera to drop the session');
    const atDrop = r.frames.length;
    await r.clock.advance(2_000);
    await until(() => r.frames.length >= atDrop + 45, 'video after the reconnect');
    const row = await recording.stop();
    const probe = await ffprobe(clips.path(row));
    expect(probe).toMatchObject({ codec: 'h264', errors: '' });
    expect(probe.frames).toBeGreaterThanOrEqual(atDrop - before + 45);
  });

  it('a clip cut mid-write by a crash is trimmed to its last whole fragment at boot and still plays', async () => {
    const { r, clips, recorder } = await setup(1);
    await until(() => r.camera.healthy(), 'healthy');
    const recording = await recorder.start('visit-crash');
    await until(() => clips.partBytes(recording.id) > 0 && topLevelBoxes(readFileSync(join(clips.dir, `${recording.id}.mp4.part`))).filter((b) => b.type === 'moof').length >= 2, 'two fragments on disk');
    await r.camera.stop(); // the process "dies": no more frames, stop() never called
    const part = join(clips.dir, `${recording.id}.mp4.part`);
    const bytes = readFileSync(part);
    const lastMoof = topLevelBoxes(bytes).filter((b) => b.type === 'moof').at(-1);
    appendFileSync(part, bytes.subarray(lastMoof?.start ?? 0, (lastMoof?.start ?? 0) + 700)); // a torn write
    writeFileSync(join(clips.dir, 'stray.tmp'), 'left over');

    const rebooted = new ClipStore({ store: store as Store, dir: clips.dir, clock: r.clock, log: silentLog(), quotaBytes: 50e6, visitQuotaBytes: 40e6 });
    const outcome = rebooted.recover();
    expect(outcome.recovered).toEqual([recording.id]);
    expect(outcome.removed).toContain('stray.tmp');
    const row = rebooted.get(recording.id);
    expect(row?.state).toBe('recovered');
    const probe = await ffprobe(rebooted.path(row ?? ({} as never)));
    expect(probe.errors).toBe('');
    expect(probe.frames).toBeGreaterThanOrEqual(30);
  });

  it('keeps visit clips over others: oldest non-visit clips go first, and a full visit share alerts', async () => {
    const { clips } = await setup();
    const make = (visitId: string | undefined, at: number, size: number): string => {
      const { id, partPath } = clips.begin(visitId, at);
      writeFileSync(partPath, Buffer.alloc(size));
      clips.complete(id, at + 1);
      return id;
    };
    const small = new ClipStore({ store: store as Store, dir: clips.dir, clock: (rig as Rig).clock, log: silentLog(), quotaBytes: 3000, visitQuotaBytes: 2000 });
    const oldVisit = make('v1', 1, 1000);
    const oldOther = make(undefined, 2, 1000);
    const newOther = make(undefined, 3, 1000);
    const newVisit = make('v2', 4, 900);
    const first = small.enforceQuota();
    expect(first.deleted).toEqual([oldOther]);
    expect(first.alert).toBeUndefined();
    expect(existsSync(join(clips.dir, `${oldOther}.mp4`))).toBe(false);
    make('v3', 5, 1000);
    const second = small.enforceQuota();
    expect(second.deleted).toEqual([newOther]);
    expect(second.alert?.code).toBe(ErrorCode.CAMERA_CLIP_QUOTA_REACHED);
    expect(small.list().map((c) => c.id)).toContain(oldVisit);
    expect(small.list().map((c) => c.id)).toContain(newVisit);
  });
});
