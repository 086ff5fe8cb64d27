/**
 * The schedule inside the daemon (`keyhub run`, a real process) with the Z-Wave driver on a
 * simulated stick served from this test process: at start it reads the hub's slots back, puts an
 * open code into its slot and clears a foreign one; a keypad unlock with the code is named in the
 * audit log; PINs appear in no log line and no audit entry.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PinHasher } from '../../hub/schedule/pin-hash.js';
import { databasePath } from '../../hub/store/module.js';
import { ScheduleStore } from '../../hub/store/schedule-store.js';
import { openStore } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { cleanEnv, finished, spawnKeyhub } from '../support/keyhub-process.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { eventually, TEST_KEYS, keyBytes } from '../support/zwave-lock-rig.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('keyhub run with keypad codes on a schedule', () => {
  it('syncs the hub’s slots at start, names a keypad unlock by code, and keeps PINs out of logs and audit', async () => {
    const stick = await MockStick.start({ securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) } });
    cleanups.push(() => stick.stop());
    const sim = await KwiksetLock.attach(stick, { txDelayMs: 0, clock: systemClock() });
    cleanups.push(() => sim.stop());
    sim.keypad.preset(3, '112233');
    sim.keypad.preset(15, '445566');
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const stateDir = join(dir.path, 'state');

    // The code as the service stores it (the CLI for codes goes through the control socket, not here yet).
    const store = await openStore({ path: databasePath(stateDir), busyTimeoutMs: 5000, log: silentLog() });
    const repo = new ScheduleStore(store);
    const hasher = new PinHasher(repo.hashKey());
    const now = Date.now();
    repo.insert({
      id: '00c0ffee00c0ffee',
      name: 'cleaner',
      kind: 'service',
      slot: 11,
      zone: 'UTC',
      windows: [{ kind: 'weekly', days: [1, 2, 3, 4, 5, 6, 7], startMin: 0, endMin: 1440 }],
      expiresAtMs: undefined,
      paused: false,
      pin: '482913',
      pinHash: hasher.hash('482913'),
      removed: false,
      createdAtMs: now,
      updatedAtMs: now,
    });
    store.close();

    const path = join(dir.path, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        log: { level: 'info', format: 'json' },
        systemd: { notify: false },
        lock: { driver: 'zwave', zwave: { port: stick.path, keys: { s2AccessControl: TEST_KEYS.s2AccessControl } } },
        schedule: { zone: 'Europe/Berlin', slots: { first: 11, last: 20 } },
      }),
    );
    const child = await spawnKeyhub(['--config', path, '--state-dir', stateDir, 'run'], cleanEnv());
    const done = finished(child);
    let stderr = '';
    child.stderr?.on('data', (s: Buffer) => (stderr += s.toString()));
    await eventually(() => sim.codeIn(11) === '482913' && sim.codeIn(15) === undefined, 40_000);
    await eventually(() => stderr.includes('"keyhub ready"'), 20_000);
    expect(await sim.keypadEnter('482913')).toBe('unlocked');
    await eventually(() => stderr.includes('cleaner, service code opened the door'), 10_000);
    child.kill('SIGTERM');
    const out = await done;
    expect(out.code, out.stderr).toBe(0);
    expect(sim.codeIn(3)).toBe('112233');

    const after = await openStore({ path: databasePath(stateDir), busyTimeoutMs: 5000, log: silentLog() });
    cleanups.push(() => after.close());
    const rows = after.db.prepare("SELECT type, body FROM audit_events WHERE type LIKE 'code.%' ORDER BY seq").all() as { type: string; body: Buffer }[];
    const { decode } = await import('cborg');
    const entries = rows.map((r) => ({ type: r.type, body: decode(r.body) as Record<string, unknown> }));
    expect(entries).toEqual(
      expect.arrayContaining([
        { type: 'code.drift', body: expect.objectContaining({ slot: 15, what: 'foreign' }) },
        { type: 'code.slot', body: expect.objectContaining({ slot: 11, action: 'set', outcome: 'confirmed', codeId: '00c0ffee00c0ffee' }) },
        { type: 'code.slot', body: expect.objectContaining({ slot: 15, action: 'clear', outcome: 'confirmed' }) },
        { type: 'code.used', body: { who: 'code', slot: 11, codeId: '00c0ffee00c0ffee', name: 'cleaner', kind: 'service', inWindow: true } },
      ]),
    );
    for (const secret of ['482913', '112233', '445566']) {
      expect(out.stderr + out.stdout).not.toContain(secret);
      expect(JSON.stringify(entries)).not.toContain(secret);
    }
  }, 90_000);
});
