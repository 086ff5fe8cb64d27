import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { live, type LiveSegment } from '../../hub/camera/live.js';
import { topLevelBoxes } from '../../hub/camera/mp4-boxes.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { startRig, until, type Rig } from '../support/camera-harness.js';
import { tempDir } from '../support/temp-dir.js';

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
