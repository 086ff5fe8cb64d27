import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config/load.js';
import { composeHub, type Hub } from '../../hub/main.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof tempDir> | undefined;
let hub: Hub | undefined;
afterEach(() => {
  hub?.store.service.close();
  hub = undefined;
  dir?.cleanup();
  dir = undefined;
});

/** The daemon as composed from a production config holding only `body`. */
async function composed(body: Record<string, unknown> = {}): Promise<Hub> {
  dir = tempDir('keyhub-compose-');
  const path = join(dir.path, 'config.json');
  mkdirSync(join(dir.path, 'state'));
  writeFileSync(path, JSON.stringify({ version: 1, ...body }));
  const loaded = loadConfig({ mode: 'production', path, env: { STATE_DIRECTORY: join(dir.path, 'state') }, cwd: dir.path });
  hub = await composeHub(loaded, { clock: new FakeClock(), log: silentLog(), version: 'test', onAuditFailure: () => undefined });
  return hub;
}

async function refusal(promise: Promise<unknown>): Promise<ErrorCode | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return isHubError(err) ? err.code : undefined;
  }
}

describe('a hub composed with no lock, camera or cloud configured', () => {
  it('holds a lock that refuses every command as not paired and reads unknown', async () => {
    const { lock, modules } = await composed();
    expect(modules.map((m) => m.name)).toContain('no-lock');
    expect(await refusal(lock.service.lock())).toBe(ErrorCode.LOCK_NOT_PAIRED);
    expect(await refusal(lock.service.unlock())).toBe(ErrorCode.LOCK_NOT_PAIRED);
    expect(await refusal(lock.service.setCode(1, '1234'))).toBe(ErrorCode.LOCK_NOT_PAIRED);
    expect(await refusal(lock.service.clearCode(1))).toBe(ErrorCode.LOCK_NOT_PAIRED);
    expect(await refusal(lock.service.codes())).toBe(ErrorCode.LOCK_NOT_PAIRED);
    expect(lock.service.state()).toEqual({ bolt: 'unknown', door: 'unknown', batteryPercent: undefined, updatedAtMs: undefined, connected: false });
  });

  it('holds a camera that is never healthy and has no pictures, so no delivery is let in', async () => {
    const { camera, modules } = await composed();
    expect(modules.map((m) => m.name)).toContain('no-camera');
    expect(camera.service.healthy()).toBe(false);
    expect(camera.service.preRoll()).toEqual([]);
    expect(camera.service.latestGop()).toEqual([]);
  });

  it('has no cloud modules, and its services answer before any module started', async () => {
    const { cloud, modules, access, audit } = await composed();
    expect(cloud.parts).toBeUndefined();
    expect(modules.map((m) => m.name).filter((n) => n.startsWith('cloud') || n === 'embedded-broker')).toEqual([]);
    expect(access.service.status()).toMatchObject({ rootPinned: false, keyringVersion: 0, clockFloorSource: 'none' });
    expect(audit.service.hubId).toMatch(/^kh-[0-9a-f]{16}$/);
  });
});
