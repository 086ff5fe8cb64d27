import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_VERSION } from '../../hub/config/schema.js';
import { clockFloor } from '../../hub/store/clock-floor.js';
import { readMigrations } from '../../hub/store/migrate.js';
import { openStore } from '../../hub/store/store.js';
import { ExitCode } from '../../hub/system/errors.js';
import type { HubStatus } from '../../protocols/control/contract.js';
import { cleanEnv, finished, KEYHUB_BIN, runKeyhub, spawnKeyhub } from '../support/keyhub-process.js';
import { NotifySocket, has } from '../support/notify-socket.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { freePort } from '../support/free-port.js';
import { until } from '../support/wait.js';
import { SimCamera } from '../../sim/camera/server.js';
import { systemClock } from '../../hub/system/clock.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn } from '../support/audit-store.js';
import { FRESH_HUB_READINESS } from '../support/fresh-hub.js';



let dir: ReturnType<typeof tempDir>;
let socket: NotifySocket | undefined;
beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await socket?.close();
  socket = undefined;
  dir.cleanup();
});

/** Production mode (the systemd unit's), with a config file and state dir of the test's own. */
function writeConfig(body: Record<string, unknown> = {}): string[] {
  const path = join(dir.path, 'config.json');
  writeFileSync(path, JSON.stringify({ version: 1, log: { level: 'info', format: 'json' }, ...body }));
  return ['--config', path, '--state-dir', join(dir.path, 'state')];
}

async function status(flags: string[]): Promise<HubStatus> {
  const out = await runKeyhub([...flags, 'status', '--json']);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as HubStatus;
}

describe('keyhub run (the real process)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('tells systemd it is ready, runs, and on %s stops cleanly with exit code 0', async (signal) => {
    const flags = writeConfig();
    socket = await NotifySocket.bind({ abstract: true });
    const child = await spawnKeyhub([...flags, 'run'], cleanEnv({ NOTIFY_SOCKET: socket.address }));
    const done = finished(child);
    await socket.waitFor(has('READY', '1'), 20_000);
    expect(socket.datagrams.find((d) => d.data.includes('READY=1'))?.pid).toBe(child.pid);

    const running = await status(flags);
    expect(running.daemon).toBe('running');
    expect(running.pid).toBe(child.pid);
    expect(running.uptimeS).toBeGreaterThanOrEqual(0);

    child.kill(signal);
    const out = await done;
    expect(out.code, out.stderr).toBe(ExitCode.OK);
    await socket.waitFor(has('STOPPING', '1'));
    const lines = out.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toContain('keyhub stopped');

    const stopped = await status(flags);
    expect(stopped.daemon).toBe('stopped');
    expect(stopped.lastStop?.outcome).toBe('clean');
    expect(stopped.hubId).toBe(running.hubId);
    // A clean stop raised the clock floor to the hub's own clock (a reset RTC cannot reopen grants).
    expect(stopped.access).toMatchObject({ clockFloorSource: 'shutdown', clockTrusted: true });
  });

  it('exits non-zero with one clear line when a module fails to start (database from a newer keyhub)', async () => {
    const flags = writeConfig();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir.path, 'state'));
    const db = new BetterSqlite3(join(dir.path, 'state', 'keyhub.db'));
    db.pragma('user_version = 99');
    db.close();
    const out = await runKeyhub([...flags, 'run']);
    expect(out.code).toBe(ExitCode.FAILURE);
    const fatal = out.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.msg).toMatch(/^E601 STORE_NEWER_SCHEMA: database .*keyhub\.db has schema version 99/);
  });

  it('exits 78 (EX_CONFIG) with one line per config problem', async () => {
    const flags = writeConfig({ shutdown: { deadlineS: 0 }, frobnicate: true });
    const out = await runKeyhub([...flags, 'run'], cleanEnv({ KEYHUB_LOG__LEVEL: 'loud' }));
    expect(out.code).toBe(ExitCode.CONFIG);
    const lines = out.stderr.trim().split('\n');
    expect(lines[0]).toBe('keyhub: E100 CONFIG_INVALID: configuration has 3 problems');
    expect(lines.filter((l) => l.includes('shutdown.deadlineS = 0'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('frobnicate') && l.includes('unknown key'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('log.level = "loud"') && l.includes('KEYHUB_LOG__LEVEL'))).toHaveLength(1);
  });
});

describe('keyhub run with the embedded cloud broker (the simulated home)', () => {
  it('starts the broker, brings the cloud link up, records boot and shutdown in the audit log, and stops cleanly', async () => {
    const flags = writeConfig();
    const port = await freePort();
    const child = await spawnKeyhub([...flags, 'run'], cleanEnv({ KEYHUB_CLOUD__BROKER: 'embedded', KEYHUB_CLOUD__PORT: String(port) }));
    const done = finished(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await until(() => stderr.includes('"msg":"cloud link up"'), 'the daemon', 20_000);
    expect(stderr).toContain(`"url":"mqtts://127.0.0.1:${port}"`);
    child.kill('SIGTERM');
    const out = await done;
    expect(out.code, out.stderr).toBe(ExitCode.OK);
    const exported = await runKeyhub([...flags, 'audit', 'export']);
    expect(exported.code, exported.stderr).toBe(0);
    const types = exported.stdout.split('\n').filter((l) => l.includes('"type"')).map((l) => (JSON.parse(l) as { type?: string }).type);
    expect(types).toContain('boot');
    expect(types).toContain('shutdown');
  });
});

describe('keyhub run with a door camera', () => {
  it('streams from the camera, and a camera that stops sending frames (Wi-Fi deauth) is on record as camera.stall', async () => {
    const camera = new SimCamera({ clock: systemClock(), credentials: { username: 'hub', password: 'door-cam-secret' } });
    await camera.start();
    try {
      const flags = writeConfig({ camera: { url: camera.url, username: 'hub', password: 'door-cam-secret', stallS: 1 } });
      const child = await spawnKeyhub([...flags, 'run']);
      const done = finished(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await until(() => camera.sessionCount > 0 && stderr.includes('"msg":"keyhub ready"'), 'the daemon', 20_000);
      await new Promise((r) => setTimeout(r, 500));
      camera.faults.freeze = true;
      await until(() => /CAMERA_STALL|camera stall/i.test(stderr), 'the daemon', 20_000);
      child.kill('SIGTERM');
      const out = await done;
      expect(out.code, out.stderr).toBe(ExitCode.OK);
      expect(out.stderr).not.toContain('door-cam-secret');
      const exported = await runKeyhub([...flags, 'audit', 'export']);
      const stalls = exported.stdout.split('\n').filter((l) => l.includes('"camera.stall"'));
      expect(stalls.length).toBeGreaterThanOrEqual(1);
    } finally {
      await camera.stop();
    }
  });
});

describe('keyhub run with a BLE lock on a machine without a Bluetooth adapter', () => {
  it('starts, says BLE is unavailable, and stops cleanly', async () => {
    const flags = writeConfig({ lock: { driver: 'ble' } });
    socket = await NotifySocket.bind();
    const child = await spawnKeyhub([...flags, 'run'], cleanEnv({ NOTIFY_SOCKET: socket.address }));
    const done = finished(child);
    await socket.waitFor(has('READY', '1'), 20_000);
    child.kill('SIGTERM');
    const out = await done;
    expect(out.code, out.stderr).toBe(ExitCode.OK);
    const lines = out.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(lines.some((l) => l.level === 40 && /BLE unavailable/i.test(l.msg))).toBe(true);
  });
});

describe('keyhub status', () => {
  it('prints the id, versions and a never-started daemon as JSON on a fresh store', async () => {
    const flags = writeConfig();
    const s = await status(flags);
    expect(s.hubId).toMatch(/^kh-[0-9a-f]{16}$/);
    expect(s.daemon).toBe('never-started');
    expect(s.uptimeS).toBeNull();
    expect(s.versions).toMatchObject({ node: process.versions.node, schema: readMigrations().length, config: CONFIG_VERSION });
    expect(s.versions.keyhub).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.versions.sqlite).toMatch(/^3\.\d+/);
    expect(s.stateDir).toBe(join(dir.path, 'state'));
    expect(s.access).toEqual(FRESH_HUB_READINESS);
    expect(s.audit).toEqual({ headSeq: 0, ackedThrough: 0, backlog: 0, prunedThrough: 0, lastCheckpointSeq: null });
    expect(await status(flags)).toMatchObject({ hubId: s.hubId });
  });

  it('shows the audit head, the cloud ack and the backlog still to send', async () => {
    const flags = writeConfig();
    await status(flags); // creates the store
    const store = await openStore({ path: join(dir.path, 'state', 'keyhub.db'), busyTimeoutMs: 5000, log: silentLog() });
    const log = auditLogOn(store, new FakeClock(), 4);
    for (let i = 0; i < 10; i++) log.append({ type: 'door', body: { state: i % 2 === 0 ? 'open' : 'closed' } });
    log.ack(6);
    store.close();
    expect((await status(flags)).audit).toEqual({ headSeq: 10, ackedThrough: 6, backlog: 4, prunedThrough: 0, lastCheckpointSeq: 8 });
    const out = await runKeyhub([...flags, 'status']);
    expect(out.stdout).toContain('audit      head 10, cloud acked through 6, backlog 4; last checkpoint at 8\n');
  });

  it('prints a readable summary without --json', async () => {
    const out = await runKeyhub([...writeConfig(), 'status']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^hub {8}kh-[0-9a-f]{16}\ndaemon {5}never-started\nversions {3}keyhub /);
    expect(out.stdout).toContain(
      [
        'clock      floor none; wall clock trusted',
        'trust      root not pinned, keyring v0, revocations v0',
        'decide     NOT READY',
        '           E229 TRUST_ROOT_MISSING: no root key is pinned: run `keyhub trust-root`',
        '           E221 ISSUER_UNKNOWN: no keyring is installed: every grant would come from an unknown issuer',
        'audit      head 0, cloud acked through 0, backlog 0; no checkpoint yet',
      ].join('\n'),
    );
  });

  it('says the hub cannot decide, and why, when the wall clock is behind the clock floor (an RTC that lost power)', async () => {
    const flags = writeConfig();
    await status(flags); // creates the store
    const store = await openStore({ path: join(dir.path, 'state', 'keyhub.db'), busyTimeoutMs: 5000, log: silentLog() });
    const floorMs = Date.now() + 24 * 3_600_000;
    clockFloor(store).raise(floorMs, 'signed-time');
    store.close();
    const s = await status(flags);
    expect(s.access).toMatchObject({ canDecide: false, clockTrusted: false, clockFloor: new Date(floorMs).toISOString(), clockFloorSource: 'signed-time' });
    expect(s.access.problems[0]).toMatchObject({ code: 206, codeName: 'CLOCK_UNTRUSTED', reason: expect.stringContaining(`is behind the clock floor ${new Date(floorMs).toISOString()} by more than 300 s`) });
    const out = await runKeyhub([...flags, 'status']);
    expect(out.stdout).toContain(`clock      floor ${new Date(floorMs).toISOString()} (signed-time); wall clock UNTRUSTED\n`);
    expect(out.stdout).toMatch(/\n {11}E206 CLOCK_UNTRUSTED: wall clock .* is behind the clock floor /);
  });

  it('reports an unknown command with a non-zero exit and help on stderr (through bin/keyhub.js, the installed entry)', async () => {
    const out = await finished(spawn(process.execPath, [KEYHUB_BIN, 'frobnicate'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("unknown command 'frobnicate'");
  });
});
