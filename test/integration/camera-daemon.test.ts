import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../hub/system/clock.js';
import { ExitCode } from '../../hub/system/errors.js';
import { SimCamera } from '../../sim/camera/server.js';
import { finished, runKeyhub, spawnKeyhub } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

/**
 * The camera through the path an installer takes: a config file naming only the camera's URL and
 * credentials (every other camera key at its default), the real `keyhub run` process, and the
 * audit log read back with `keyhub audit export`.
 */
let dir: ReturnType<typeof tempDir>;
let camera: SimCamera | undefined;
beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await camera?.stop();
  camera = undefined;
  dir.cleanup();
});

const CREDENTIALS = { username: 'hub', password: 'door-cam-secret' };

function writeConfig(body: Record<string, unknown>): string[] {
  const path = join(dir.path, 'config.json');
  writeFileSync(path, JSON.stringify({ version: 1, log: { level: 'info', format: 'json' }, ...body }));
  return ['--config', path, '--state-dir', join(dir.path, 'state')];
}

async function cameraEntries(flags: string[]): Promise<Array<{ type: string; body: Record<string, unknown> }>> {
  const exported = await runKeyhub([...flags, 'audit', 'export']);
  expect(exported.code, exported.stderr).toBe(0);
  return exported.stdout
    .split('\n')
    .filter((l) => l.includes('"type":"camera.'))
    .map((l) => JSON.parse(l) as { type: string; body: Record<string, unknown> });
}

const logLines = (stderr: string): Array<Record<string, unknown>> =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('keyhub run with a door camera, default camera settings', () => {
  it('streams from a camera that refuses RTP over TCP (461), over UDP; a camera that dies is one camera.stall and one camera.recovered on record', async () => {
    camera = new SimCamera({ clock: systemClock(), credentials: CREDENTIALS, faults: { refuseTcp: 461 } });
    await camera.start();
    const sim = camera;
    const flags = writeConfig({ camera: { url: sim.url, ...CREDENTIALS } });
    const child = await spawnKeyhub([...flags, 'run']);
    const done = finished(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let before: number | undefined;
    const logged = (msg: string): Array<Record<string, unknown>> => logLines(stderr).filter((l) => l.msg === msg);
    try {
      await until(() => logged('camera streaming').length > 0, 'the daemon streaming from the camera', 30_000);
      expect(logged('camera streaming')[0]).toMatchObject({ module: 'camera', transport: 'udp', width: 640, height: 360 });
      expect(logged('camera session playing over RTP/UDP (the camera refused tcp 461 Unsupported Transport)')[0]).toMatchObject({ transport: 'udp', configuredTransport: 'auto' });

      // On a loaded machine the first picture may come later than stallS after start: an outage
      // from the start, on record before this one.
      before = (await cameraEntries(flags)).length;
      // The camera dies: its connection closed, every new one closed, for a while.
      sim.faults.down = true;
      await until(() => logged('camera stall').length > 0, 'the stall', 30_000);
      const connections = sim.stats.connections;
      await until(() => sim.stats.connections > connections, 'the daemon to keep trying', 30_000);
      sim.faults.down = false;
      await until(() => logged('camera recovered').length > 0, 'the recovery', 60_000);
      expect(logged('camera recovered')[0]).toMatchObject({ reason: 'disconnected', transport: 'udp' });
    } finally {
      child.kill('SIGTERM');
    }
    const out = await done;
    expect(out.code, out.stderr).toBe(ExitCode.OK);
    expect(out.stderr).not.toContain(CREDENTIALS.password);
    const cameraEvents = (await cameraEntries(flags)).slice(before ?? 0);
    expect(cameraEvents.map((e) => [e.type, e.body.reason])).toEqual([
      ['camera.stall', 'disconnected'],
      ['camera.recovered', 'disconnected'],
    ]);
    expect(cameraEvents[1]?.body.outageMs).toBeGreaterThanOrEqual(3_000);
  }, 120_000);
});
