import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubStatus } from '../../protocols/control/contract.js';
import { homePolicy } from '../../hub/store/home-policy.js';
import { lockIdentity } from '../../hub/store/lock-identity.js';
import { openStore } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { auditLogOn } from '../support/audit-store.js';
import { runKeyhub } from '../support/keyhub-process.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof tempDir>;
let flags: string[];
beforeEach(() => {
  dir = tempDir();
  const config = join(dir.path, 'config.json');
  writeFileSync(config, JSON.stringify({ version: 1, log: { level: 'warn', format: 'json' } }));
  flags = ['--config', config, '--state-dir', join(dir.path, 'state')];
});
afterEach(() => dir.cleanup());

async function status(): Promise<HubStatus> {
  const out = await runKeyhub([...flags, 'status', '--json']);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as HubStatus;
}

describe('keyhub deliveries and keyhub pets', () => {
  it('pause deliveries and say pets are inside, on record, and keyhub status shows it', async () => {
    expect(await runKeyhub([...flags, 'deliveries', 'pause'])).toMatchObject({ code: 0, stdout: 'deliveries paused\n' });
    expect(await runKeyhub([...flags, 'pets', 'on'])).toMatchObject({ code: 0, stdout: 'pet mode on: pets inside\n' });
    expect(await runKeyhub([...flags, 'deliveries', 'resume'])).toMatchObject({ code: 0, stdout: 'deliveries resumed\n' });
    expect((await status()).home).toEqual({ deliveriesPaused: false, petsInside: true });

    const store = await openStore({ path: join(dir.path, 'state', 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
    try {
      const changes = auditLogOn(store, systemClock())
        .read(1, 100)
        .filter((r) => r.event.type === 'config.change')
        .map((r) => r.event.body);
      expect(changes).toEqual([
        { paths: ['home.deliveriesPaused'], by: 'cli' },
        { paths: ['home.petsInside'], by: 'cli' },
        { paths: ['home.deliveriesPaused'], by: 'cli' },
      ]);
    } finally {
      store.close();
    }
  });

  it('refuses a word it does not know, changing nothing', async () => {
    const out = await runKeyhub([...flags, 'pets', 'maybe']);
    expect(out.code).toBe(64);
    expect(out.stderr).toContain('expected on or off');
    const store = await openStore({ path: join(dir.path, 'state', 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
    try {
      expect(homePolicy(store).get()).toEqual({ deliveriesPaused: false, petsInside: false });
    } finally {
      store.close();
    }
  });

  it('keyhub status names the paired lock once the hub has seen it', async () => {
    const store = await openStore({ path: join(dir.path, 'state', 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
    try {
      lockIdentity(store).remember('zwave-7e570001-2', auditLogOn(store, systemClock()));
    } finally {
      store.close();
    }
    const out = await runKeyhub([...flags, 'status']);
    expect(out.stdout).toContain('lock       zwave-7e570001-2');
  });
});
