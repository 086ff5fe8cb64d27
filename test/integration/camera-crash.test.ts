import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ClipStore } from '../../hub/camera/clip-store.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { realPause } from '../support/camera-harness.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { nodeArgsFor } from '../support/built.js';

const CHILD = fileURLToPath(new URL('./camera-crash-child.ts', import.meta.url));

let dir: { path: string; cleanup(): void } | undefined;
let store: Store | undefined;
afterEach(() => {
  store?.close();
  dir?.cleanup();
});

describe('a hub killed mid-visit', () => {
  it('leaves a clip that is playable up to its last whole fragment, recovered and indexed at boot', async () => {
    dir = tempDir('keyhub-crash-');
    const child = spawn(process.execPath, [...(await nodeArgsFor(CHILD)), dir.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
    const id = line.replace(/^clip /, '');
    await realPause(400); // let it get partway into the next fragment
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    store = await openStore({ path: join(dir.path, 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
    const clips = new ClipStore({ store, dir: join(dir.path, 'clips'), clock: new FakeClock(), log: silentLog(), quotaBytes: 1e9, visitQuotaBytes: 1e9 });
    expect(clips.get(id)?.state).toBe('recording');
    const outcome = clips.recover();
    expect(outcome.recovered).toEqual([id]);
    const row = clips.get(id);
    expect(row).toMatchObject({ state: 'recovered', visitId: 'visit-power-cut' });
    const probe = await ffprobe(clips.path(row ?? ({} as never)));
    expect(probe).toMatchObject({ codec: 'h264', errors: '' });
    expect(probe.frames).toBeGreaterThanOrEqual(60);
  });
});
