import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config/load.js';
import { composeHub } from '../../hub/main.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  dir?.cleanup();
  dir = undefined;
});

describe('the order the daemon starts its modules in (stopped in reverse)', () => {
  it('puts the audit log first after the store, and each audit bridge before the lock or camera it listens to, so their events are on record from the first to the last', async () => {
    dir = tempDir('keyhub-compose-');
    mkdirSync(join(dir.path, '.keyhub'));
    writeFileSync(join(dir.path, '.keyhub', 'config.json'), JSON.stringify({ version: 1, lock: { driver: 'ble' }, camera: { url: 'rtsp://127.0.0.1:1/cam' } }));
    const loaded = loadConfig({ mode: 'dev', env: {}, cwd: dir.path });
    const hub = await composeHub(loaded, { clock: new FakeClock(), log: silentLog(), version: 'test', onAuditFailure: () => undefined });
    hub.store.service.close();
    const { modules } = hub;
    const names = modules.map((m) => m.name);
    const at = (name: string): number => {
      const i = names.indexOf(name);
      expect(i, `${name} in ${names.join(', ')}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(at('audit')).toBe(at('store') + 1);
    expect(at('lock-audit')).toBeLessThan(at('lock-ble'));
    expect(at('camera-audit')).toBeLessThan(at('camera'));
    expect(at('audit')).toBeLessThan(at('lock-audit'));
    // The CLI's way in comes up once every room it asks is running, and goes first.
    expect(names.at(-1)).toBe('control');
    // The schedule reads the lock's slots back as it starts, and stops before the lock does.
    expect(at('schedule')).toBeGreaterThan(at('lock-ble'));
  });
});
