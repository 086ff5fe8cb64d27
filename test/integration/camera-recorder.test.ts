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
import { FIXTURE_CLIP_480X270 } from '../../sim/camera/clip.js';
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

  it('fails loudly (CAMERA_RECORDING_FAILED) when the pre-roll outgrows what may wait for the disk, and indexes the clip as recovered', async () => {
    const { r, clips } = await setup(2);
    await until(() => r.camera.preRoll().filter((f) => f.au.key).length >= 2, 'a whole GOP of pre-roll');
    const tight = new Recorder({ camera: r.camera, clips, clock: r.clock, log: silentLog(), maxQueueBytes: 8_000 });
    await expect(tight.start('visit-tight')).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_RECORDING_FAILED));
    expect(clips.list().filter((c) => c.visitId === 'visit-tight').map((c) => c.state)).toEqual(['recovered']);
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
    const {
      clips: [row],
    } = await recording.stop();
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

  it('vouches mid-visit for the clip as written: the finished file begins with exactly those bytes', async () => {
    const { r, clips, recorder } = await setup(1);
    await until(() => r.camera.preRoll().filter((f) => f.au.key).length >= 2, 'a whole GOP of pre-roll');
    const recording = await recorder.start('visit-mark');
    const from = r.frames.length;
    await until(() => r.frames.length >= from + 70, 'two more keyframes');
    const mark = await recording.mark();
    expect(mark.clipId).toBe(recording.id);
    const marked = r.frames.length;
    await until(() => r.frames.length >= marked + 40, 'another keyframe after the mark');
    const {
      clips: [row],
    } = await recording.stop();
    const file = readFileSync(clips.path(row));
    expect(file.length).toBeGreaterThan(mark.bytes);
    expect(Buffer.from(mark.sha256).toString('hex')).toBe(createHash('sha256').update(file.subarray(0, mark.bytes)).digest('hex'));
    expect(clips.byVisit('visit-mark').map((c) => c.id)).toEqual([recording.id]);
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
    const {
      clips: [row],
    } = await recording.stop();
    const probe = await ffprobe(clips.path(row));
    expect(probe).toMatchObject({ codec: 'h264', errors: '' });
    expect(probe.frames).toBeGreaterThanOrEqual(atDrop - before + 45);
  });

  it('a mid-visit resolution change ends the clip at the last GOP of the old SPS and continues the visit in a new clip; ffprobe reads both', async () => {
    const { r, clips, recorder } = await setup(1);
    await until(() => r.camera.healthy(), 'healthy');
    // Same tick as the recorder's own snapshot of the ring: these are the clip's first pictures.
    const preRollFrames = r.camera.preRoll().length;
    const before = r.frames.length;
    const recording = await recorder.start('visit-resize');
    await until(() => r.frames.length >= before + 20, 'video at 640x360');
    r.sim.switchClip(FIXTURE_CLIP_480X270);
    await until(() => r.events.some((e) => e.type === 'format-changed'), 'the camera to change format');
    expect(r.events.find((e) => e.type === 'format-changed')).toMatchObject({ width: 480, height: 270 });
    const oldSps = Buffer.from(r.frames[before]?.au.sps ?? []);
    const switchedAt = r.frames.findIndex((f, i) => i > before && !oldSps.equals(f.au.sps));
    await until(() => r.frames.length >= switchedAt + 35, 'video at 480x270');
    expect(recording.clipIds()).toHaveLength(2);
    const { clips: rows } = await recording.stop();
    expect(rows.map((c) => c.id)).toEqual(recording.clipIds());
    expect(rows.map((c) => [c.visitId, c.state])).toEqual([['visit-resize', 'complete'], ['visit-resize', 'complete']]);
    // The index has both under the visit, the second starting no earlier than the first.
    expect(clips.list().filter((c) => c.visitId === 'visit-resize').map((c) => c.id).sort()).toEqual(rows.map((c) => c.id).sort());
    expect(rows[1]?.startedAtMs).toBeGreaterThanOrEqual(rows[0]?.startedAtMs ?? Infinity);
    const [old, fresh] = await Promise.all(rows.map((c) => ffprobe(clips.path(c))));
    expect(old).toMatchObject({ codec: 'h264', width: 640, height: 360, errors: '' });
    expect(fresh).toMatchObject({ codec: 'h264', width: 480, height: 270, errors: '' });
    // Every picture of the old format is in the first clip (it ends where the new SPS begins), and
    // the second starts with the new format's first keyframe.
    expect(old?.frames).toBe(preRollFrames + switchedAt - before);
    expect(fresh?.frames).toBeGreaterThanOrEqual(35);
    expect(Math.abs((fresh?.durationS ?? 0) - (fresh?.frames ?? 0) / 30)).toBeLessThan(1);
  });

  it('when the old clip cannot be indexed at a mid-visit format change (disk full), the visit goes on, stop() fails loudly, the other clip is indexed', async () => {
    const { r, clips } = await setup(1);
    let failedOnce = false;
    // The first close runs at the format change, long before stop(): vitest fails the test on an
    // unhandled rejection, which is what the recorder must not leave behind.
    const complete = clips.complete.bind(clips);
    clips.complete = (id, endedAtMs, state) => {
      if (!failedOnce) {
        failedOnce = true;
        throw new Error('SQLITE_FULL: database or disk is full');
      }
      return complete(id, endedAtMs, state);
    };
    const recorder = new Recorder({ camera: r.camera, clips, clock: r.clock, log: silentLog() });
    await until(() => r.camera.healthy(), 'healthy');
    const recording = await recorder.start('visit-full');
    const before = r.frames.length;
    await until(() => r.frames.length >= before + 20, 'video at 640x360');
    r.sim.switchClip(FIXTURE_CLIP_480X270);
    await until(() => recording.clipIds().length === 2, 'the second clip');
    await until(() => failedOnce, 'the first clip to be closed');
    const second = recording.clipIds()[1];
    await expect(recording.stop()).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_RECORDING_FAILED) && /closing failed: SQLITE_FULL/.test((e as Error).message));
    expect(clips.list().find((c) => c.id === second)?.state).toBe('recovered');
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
