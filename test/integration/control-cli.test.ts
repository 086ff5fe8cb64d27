/**
 * The `keyhub` CLI against a running daemon process (its control socket): status, trust-root and
 * audit export go through the daemon, which applies a root live and signs the export's closing
 * checkpoint; with no daemon, the CLI says so in one line and does what is safe without one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../protocols/audit/checkpoint.js';
import type { HubStatus } from '../../protocols/control/contract.js';
import { EMBEDDED_CLOUD_IDENTITY } from '../../hub/cloud/module.js';
import { loadCertificateAuthority } from '../../hub/cloud/pki.js';
import { recordRunStart } from '../../hub/store/daemon-runs.js';
import { openStore } from '../../hub/store/store.js';
import { ErrorCode, ExitCode } from '../../hub/system/errors.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { freePort } from '../support/free-port.js';
import { cleanEnv, finished, runKeyhub, spawnKeyhub, type Finished } from '../support/keyhub-process.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

let dir: ReturnType<typeof tempDir>;
let flags: string[];
let daemon: { child: ChildProcess; done: Promise<Finished>; stderr: () => string } | undefined;
beforeEach(() => {
  dir = tempDir('keyhub-control-cli-');
  const config = join(dir.path, 'config.json');
  writeFileSync(config, JSON.stringify({ version: 1, log: { level: 'info', format: 'json' } }));
  flags = ['--config', config, '--state-dir', join(dir.path, 'state')];
});
afterEach(async () => {
  if (daemon !== undefined) {
    daemon.child.kill('SIGTERM');
    await daemon.done;
    daemon = undefined;
  }
  dir.cleanup();
});

async function startDaemon(env: Record<string, string> = {}): Promise<void> {
  const child = await spawnKeyhub([...flags, 'run'], cleanEnv(env));
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const done = finished(child);
  daemon = { child, done, stderr: () => stderr };
  await until(() => stderr.includes('"msg":"keyhub ready"'), 'the daemon to be ready', 30_000);
}

async function stopDaemon(): Promise<void> {
  daemon?.child.kill('SIGTERM');
  const out = await daemon?.done;
  daemon = undefined;
  expect(out?.code, out?.stderr).toBe(ExitCode.OK);
}

async function statusJson(): Promise<{ status: HubStatus; stderr: string }> {
  const out = await runKeyhub([...flags, 'status', '--json']);
  expect(out.code, out.stderr).toBe(0);
  return { status: JSON.parse(out.stdout) as HubStatus, stderr: out.stderr };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('keyhub status, trust-root and audit export with the daemon running', () => {
  it('pins a root in the running daemon at once: a keyring the cloud sends next is accepted without a restart, and the pin is on record', async () => {
    const port = await freePort();
    await startDaemon({ KEYHUB_CLOUD__BROKER: 'embedded', KEYHUB_CLOUD__PORT: String(port) });
    await until(() => daemon?.stderr().includes('"msg":"cloud link up"') === true, 'the cloud link', 20_000);
    const { status } = await statusJson();
    // The simulated cloud, with a certificate from the embedded broker's own CA.
    const brokerDir = join(dir.path, 'state', 'broker');
    const ca = await loadCertificateAuthority({ cert: readFileSync(join(brokerDir, 'ca.pem'), 'utf8'), key: readFileSync(join(brokerDir, 'ca.key'), 'utf8') });
    const key = await runKeyhub([...flags, 'audit', 'key']);
    const cloud = new SimCloud({
      url: `mqtts://127.0.0.1:${port}`,
      tls: { ...(await ca.issue({ commonName: EMBEDDED_CLOUD_IDENTITY, usage: 'client', nowMs: Date.now() })), ca: ca.cert },
      protocolVersion: 4,
      hubs: new Map([[status.hubId, ed25519PublicKey(new Uint8Array(Buffer.from(key.stdout.trim(), 'hex')))]]),
    });
    await cloud.start();
    try {
      const issuer = new SimIssuer({ now: Date.now() });
      const keyring = issuer.keyring();
      const replies = () => cloud.ledger(status.hubId).replies.filter((r) => r.kind === 'keys');
      await cloud.push(status.hubId, 'keys', keyring);
      await cloud.waitFor(() => replies().length === 1, 15_000, 'the reply to the first keyring');
      expect(replies()[0]).toMatchObject({ outcome: 'refused', reason: ErrorCode.TRUST_ROOT_MISSING });

      const pinned = await runKeyhub([...flags, 'trust-root', hex(issuer.rootPublicKey)]);
      expect(pinned.code, pinned.stderr).toBe(0);
      expect(pinned.stdout).toBe(`pinned root key ${hex(issuer.rootPublicKey)}\n`);
      expect(pinned.stderr).toBe('');

      await cloud.push(status.hubId, 'keys', keyring);
      await cloud.waitFor(() => replies().length === 2, 15_000, 'the reply to the same keyring again');
      expect(replies()[1]).toMatchObject({ outcome: 'accepted' });
    } finally {
      await cloud.stop();
    }
    const after = await statusJson();
    expect(after.stderr).toBe('');
    expect(after.status).toMatchObject({ source: 'daemon', daemon: 'running', pid: daemon?.child.pid, access: { rootPinned: true, keyringVersion: 1 } });

    const exported = await runKeyhub([...flags, 'audit', 'export']);
    expect(exported.code, exported.stderr).toBe(0);
    const records = exported.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; type?: string; body?: unknown });
    // On record in order: the keyring refused for want of a root, the root pinned, the keyring taken.
    expect(records.filter((r) => r.type === 'key.update').map((r) => r.body)).toEqual([
      { what: 'keyring', version: 0, accepted: false, reason: ErrorCode.TRUST_ROOT_MISSING },
      { what: 'root', version: 0, accepted: true },
      { what: 'keyring', version: 1, accepted: true },
    ]);
  }, 90_000);

  it('refuses through the daemon what it would refuse itself, on record, and exports a file that verifies under the hub key', async () => {
    await startDaemon();
    const root = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
    expect((await runKeyhub([...flags, 'trust-root', root])).code).toBe(0);
    const other = await runKeyhub([...flags, 'trust-root', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c']);
    expect(other.code).toBe(ExitCode.FAILURE);
    expect(other.stderr).toBe(`keyhub: E230 TRUST_ROOT_REFUSED: a different root key is already pinned (${root}); pass --replace to replace it and drop the keyring and revocation list it signed\n`);
    const weak = await runKeyhub([...flags, 'trust-root', '--replace', `01${'00'.repeat(31)}`]);
    expect(weak.stderr).toBe('keyhub: E230 TRUST_ROOT_REFUSED: root key refused: it is a point of small order, under which signatures can be forged\n');
    expect((await statusJson()).status.access.rootKey).toBe(root);

    const file = join(dir.path, 'export.jsonl');
    const exported = await runKeyhub([...flags, 'audit', 'export']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/^exported 4 audit entries \(seq 1\.\.4\) of hub kh-[0-9a-f]{16}\n$/);
    writeFileSync(file, exported.stdout);
    const key = (await runKeyhub([...flags, 'audit', 'key'])).stdout.trim();
    const verified = await runKeyhub(['audit', 'verify', file, '--hub-key', key, '--json']);
    expect(verified.code, verified.stdout).toBe(0);
    const bodies = exported.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type?: string; body?: unknown }).filter((r) => r.type === 'key.update').map((r) => r.body);
    expect(bodies).toEqual([
      { what: 'root', version: 0, accepted: true },
      { what: 'root', version: 0, accepted: false, reason: ErrorCode.TRUST_ROOT_REFUSED },
      { what: 'root', version: 0, accepted: false, reason: ErrorCode.TRUST_ROOT_REFUSED },
    ]);
    // The closing checkpoint was signed by the daemon: the CLI never opened the hub key.
    expect(daemon?.stderr()).toMatch(/"method":"audit-export".*"msg":"control request"/);
  }, 60_000);
});

describe('keyhub with no daemon running', () => {
  it('says so in one line, reads status from the database, and pins and exports there as before', async () => {
    await startDaemon();
    await stopDaemon();
    const { status, stderr } = await statusJson();
    expect(stderr).toBe(`keyhub: no daemon is running (no control socket at ${join(dir.path, 'state', 'control.sock')}): status read from the database\n`);
    expect(status).toMatchObject({ source: 'database', daemon: 'stopped', lastStop: { outcome: 'clean' } });
    const pinned = await runKeyhub([...flags, 'trust-root', 'ab'.repeat(32).replace(/^ab/, '3d')]);
    expect(pinned.stderr.split('\n')[0]).toMatch(/^keyhub: no daemon is running .*: pinning in the database; the daemon reads it at start$/);
    const exported = await runKeyhub([...flags, 'audit', 'export']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/^keyhub: no daemon is running .*: exporting from the database\nexported \d+ audit entries/);
  }, 60_000);

  it('will not write the database of a daemon that the database says is alive but that does not answer', async () => {
    expect((await runKeyhub([...flags, 'status'])).code).toBe(0); // makes the store
    const store = await openStore({ path: join(dir.path, 'state', 'keyhub.db'), busyTimeoutMs: 5000, log: silentLog() });
    recordRunStart(store, { pid: process.pid, version: 'test', startedAtMs: Date.now() }); // a live process, no socket
    store.close();
    const out = await runKeyhub([...flags, 'trust-root', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a']);
    expect(out.code).toBe(ExitCode.FAILURE);
    expect(out.stderr.trimEnd().split('\n').at(-1)).toBe(
      `keyhub: E804 CONTROL_UNREACHABLE: the daemon (pid ${process.pid}) runs but does not answer on ${join(dir.path, 'state', 'control.sock')}; not writing its database behind its back (try again once it is up)`,
    );
    const { status } = await statusJson();
    expect(status).toMatchObject({ source: 'database', daemon: 'running', access: { rootPinned: false } });
  }, 30_000);
});
