import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { live, type LiveSegment } from '../../hub/camera/live.js';
import { topLevelBoxes } from '../../hub/camera/mp4-boxes.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { startRig, until, type Rig } from '../support/camera-harness.js';
import { tempDir } from '../support/temp-dir.js';
import { FIXTURE_CLIP_480X270 } from '../../sim/camera/clip.js';

let rig: Rig | undefined;
let dir: { path: string; cleanup(): void } | undefined;
afterEach(async () => {
  await rig?.stop();
  dir?.cleanup();
  rig = undefined;
  dir = undefined;
});

async function take(it: AsyncGenerator<LiveSegment>, n: number): Promise<LiveSegment[]> {
  const out: LiveSegment[] = [];
  for await (const seg of it) {
    out.push(seg);
    if (out.length >= n) break;
  }
  return out;
}

describe('live view', () => {
  it('two viewers share one RTSP session; each gets an init segment, then GOP fragments that decode', async () => {
    dir = tempDir('keyhub-live-');
    rig = await startRig({ stallS: 600 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    const [a, b] = await Promise.all([take(live(r.camera), 3), take(live(r.camera), 3)]);
    expect(r.sim.stats.connections).toBe(1);
    for (const segments of [a, b]) {
      expect(segments.map((s) => s.kind)).toEqual(['init', 'fragment', 'fragment']);
      expect(topLevelBoxes(segments[0]?.data ?? new Uint8Array()).map((x) => x.type)).toEqual(['ftyp', 'moov']);
      expect(topLevelBoxes(segments[1]?.data ?? new Uint8Array()).map((x) => x.type)).toEqual(['moof', 'mdat']);
    }
    // What a browser's SourceBuffer would get, as a file: ffprobe decodes it from the first fragment.
    const file = join(dir.path, 'live.mp4');
    writeFileSync(file, Buffer.concat(a.map((s) => s.data)));
    const probe = await ffprobe(file);
    expect(probe).toMatchObject({ codec: 'h264', errors: '' });
    expect(probe.frames).toBeGreaterThanOrEqual(30);
  });

  it('gives a viewer a fresh init segment when the camera changes resolution, and the fragments after it decode at the new size', async () => {
    dir = tempDir('keyhub-live-');
    rig = await startRig({ stallS: 600 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    const viewer = live(r.camera);
    const seen: LiveSegment[] = [];
    for await (const seg of viewer) {
      seen.push(seg);
      if (seen.length === 2) r.sim.switchClip(FIXTURE_CLIP_480X270);
      if (seen.filter((s) => s.kind === 'init').length === 2 && seen.at(-1)?.kind === 'fragment') break;
    }
    const second = seen.findLastIndex((s) => s.kind === 'init');
    const file = join(dir.path, 'after.mp4');
    writeFileSync(file, Buffer.concat(seen.slice(second).map((s) => s.data)));
    expect(await ffprobe(file)).toMatchObject({ codec: 'h264', width: 480, height: 270, errors: '' });
    const before = join(dir.path, 'before.mp4');
    writeFileSync(before, Buffer.concat(seen.slice(0, second).map((s) => s.data)));
    expect(await ffprobe(before)).toMatchObject({ codec: 'h264', width: 640, height: 360, errors: '' });
  });

  it('drops a viewer that stops reading, and the camera keeps streaming to others', async () => {
    rig = await startRig({ stallS: 600 });
    const r = rig;
    await until(() => r.camera.healthy(), 'healthy');
    const slow = live(r.camera, { maxBacklogBytes: 60_000 });
    const first = await slow.next(); // subscribes, then reads nothing more
    expect(first.value?.kind).toBe('init');
    const from = r.frames.length;
    await until(() => r.frames.length > from + 130, 'more than four GOPs');
    await expect(slow.next()).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_VIEWER_TOO_SLOW));
    const healthyViewer = await take(live(r.camera), 2);
    expect(healthyViewer.map((s) => s.kind)).toEqual(['init', 'fragment']);
  });
});
