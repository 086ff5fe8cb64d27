/**
 * The daemon (`keyhub run`, a real process) with `lock.driver: zwave` on a simulated stick served
 * from this test process over tcp://127.0.0.1: it starts the Z-Wave driver as a module, finds the
 * lock, reports ready, and stops cleanly. A bad S2 key is refused as a config error (exit 78).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../hub/system/errors.js';
import { systemClock } from '../../hub/system/clock.js';
import { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { cleanEnv, finished, runKeyhub, spawnKeyhub } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';
import { TEST_KEYS, keyBytes } from '../support/zwave-lock-rig.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function writeConfig(dir: string, lock: Record<string, unknown>): string[] {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ version: 1, log: { level: 'info', format: 'json' }, systemd: { notify: false }, lock }));
  return ['--config', path, '--state-dir', join(dir, 'state')];
}

describe('keyhub run with the Z-Wave lock driver', () => {
  it('starts the driver on the configured port, finds the lock, and stops cleanly', async () => {
    const stick = await MockStick.start({ securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) } });
    cleanups.push(() => stick.stop());
    const sim = await KwiksetLock.attach(stick, { clock: systemClock() });
    cleanups.push(() => sim.stop());
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const flags = writeConfig(dir.path, { driver: 'zwave', zwave: { port: stick.path, keys: { s2AccessControl: TEST_KEYS.s2AccessControl } } });
    const child = await spawnKeyhub([...flags, 'run'], cleanEnv());
    const done = finished(child);
    let stderr = '';
    child.stderr?.on('data', (s: Buffer) => (stderr += s.toString()));
    const deadline = Date.now() + 25_000;
    while (!stderr.includes('"keyhub ready"') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const out = await done;
    expect(out.signal).toBeNull();
    const lines = out.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; module?: string; nodeId?: number; modules?: string[] });
    expect(lines.find((l) => l.msg === 'Z-Wave lock ready'), out.stderr).toMatchObject({ module: 'lock', nodeId: 2 });
    expect(lines.find((l) => l.msg === 'keyhub ready')?.modules).toContain('lock-zwave');
    // The lock module stops cleanly (the exit code also depends on the other modules).
    expect(lines.filter((l) => l.msg === 'module failed to stop cleanly' && l.module === 'lock-zwave')).toEqual([]);
    expect(lines.some((l) => l.msg === 'keyhub stopping')).toBe(true);
  });

  it('refuses a Z-Wave config without the S2 Access Control key (exit 78), before touching the stick', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const flags = writeConfig(dir.path, { driver: 'zwave', zwave: { port: 'tcp://127.0.0.1:9', keys: { s0Legacy: TEST_KEYS.s0Legacy } } });
    const out = await runKeyhub([...flags, 'run']);
    expect(out.code).toBe(ExitCode.CONFIG);
    expect(out.stderr).toContain('lock.zwave.keys.s2AccessControl');
  });
});
