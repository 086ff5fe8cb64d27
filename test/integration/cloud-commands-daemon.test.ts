/**
 * The daemon's own wiring of signed commands (hub/main.ts composeHub → hub/cloud/module.ts):
 * the configured Z-Wave lock (zwave-js on the simulated stick) and the embedded aedes broker of the
 * simulated home, with the simulated cloud pushing a signed `lock` command. aedes speaks MQTT
 * 3.1.1, which has no correlation data: the reply is matched by the command id it carries.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { signCommand } from '../../protocols/grant/issuer.js';
import { EMBEDDED_CLOUD_IDENTITY } from '../../hub/cloud/module.js';
import { loadConfig } from '../../hub/config/load.js';
import { composeHub, type Hub } from '../../hub/main.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { startAll, stopAll, type Module } from '../../hub/system/lifecycle.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { freePort } from '../support/free-port.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';
import { keyBytes, TEST_KEYS } from '../support/zwave-lock-rig.js';

describe('signed commands in the composed daemon (embedded broker, Z-Wave lock)', () => {
  const dir = tempDir('keyhub-commands-daemon-');
  const log = silentLog();
  const issuer = new SimIssuer({ now: Date.now() });
  let stick: MockStick;
  let sim: KwiksetLock;
  let started: Module[] = [];
  let cloud: SimCloud;
  let parts: Hub;
  const fatal: unknown[] = [];

  beforeAll(async () => {
    stick = await MockStick.start({ securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) } });
    sim = await KwiksetLock.attach(stick, { txDelayMs: 0, clock: systemClock() });
    const path = join(dir.path, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        systemd: { notify: false },
        lock: { driver: 'zwave', zwave: { port: stick.path, keys: { s2AccessControl: TEST_KEYS.s2AccessControl } } },
        cloud: { broker: 'embedded', port: await freePort() },
      }),
    );
    const loaded = loadConfig({ mode: 'dev', path, env: {}, cwd: dir.path, overrides: { stateDir: join(dir.path, 'state') } });
    parts = await composeHub(loaded, { clock: systemClock(), log, version: '0.1.0', onAuditFailure: (err) => fatal.push(err) });
    const signal = new AbortController().signal;
    // Everything up to the broker; the cloud subscribes before the hub's link speaks, as in production.
    const cut = parts.modules.findIndex((m) => m.name === 'cloud-link');
    started = await startAll(parts.modules.slice(0, cut), signal, log);
    // Provisioning (`keyhub trust-root` and the first keyring), through the access module.
    const trust = parts.access.service.trust();
    trust.pinRoot(issuer.rootPublicKey);
    trust.installKeyring(issuer.keyring());
    const broker = parts.cloud.parts!.broker!;
    const hubId = parts.audit.service.hubId;
    cloud = new SimCloud({
      url: broker.url,
      tls: { ...(await broker.clientIdentity(EMBEDDED_CLOUD_IDENTITY)), ca: broker.caCert },
      protocolVersion: 4,
      hubs: new Map([[hubId, loadOrCreateHubKey(parts.store.service).publicKey]]),
    });
    await cloud.start();
    started.push(...(await startAll(parts.modules.slice(cut), signal, log)));
    await until(() => parts.cloud.parts!.link.connected, 'the hub link', 10_000);
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
    await stopAll(started, log);
    sim?.stop();
    await stick?.stop();
    dir.cleanup();
  });

  it('throws the bolt on a signed lock command, answers by command id, and records bolt and downlink once each', async () => {
    expect(started.map((m) => m.name)).toEqual(expect.arrayContaining(['lock-zwave', 'lock-audit', 'cloud-downlink']));
    await parts.lock.service.unlock();
    const hubId = parts.audit.service.hubId;
    const audit = parts.audit.service;
    const before = audit.head().seq;
    const { command, signed } = issuer.command(hubId, 'lock', { at: Date.now() });
    const id = Buffer.from(command.id).toString('hex');
    await cloud.push(hubId, 'commands', signed);
    await cloud.waitFor(() => cloud.ledger(hubId).replies.some((r) => r.id === id), 15_000, 'the lock command reply');
    expect(cloud.ledger(hubId).replies.find((r) => r.id === id)).toMatchObject({ kind: 'commands', outcome: 'accepted', detail: 'lock' });
    expect(sim.bolt).toBe('locked');
    // lock-audit leaves the hub's own commands to whoever sent them: the bolt is on record once.
    const after = audit.read(before + 1, 20).map((r) => r.event);
    expect(after.filter((e) => e.type === 'bolt')).toEqual([{ type: 'bolt', body: { state: 'locked', by: 'cloud-command' } }]);
    expect(after.filter((e) => e.type === 'downlink')).toEqual([{ type: 'downlink', body: { kind: 'commands', outcome: 'accepted', id, detail: 'lock' } }]);

    // A forged one on the hub's own topic: refused, on record, the bolt untouched.
    await parts.lock.service.unlock();
    const forged = issuer.command(hubId, 'lock', { at: Date.now() }).command;
    const forgedId = Buffer.from(forged.id).toString('hex');
    await cloud.push(hubId, 'commands', signCommand(forged, generateSigningKey()));
    await cloud.waitFor(() => cloud.ledger(hubId).replies.some((r) => r.id === forgedId), 15_000, 'the forged command reply');
    expect(cloud.ledger(hubId).replies.find((r) => r.id === forgedId)).toMatchObject({ outcome: 'refused', reason: ErrorCode.COMMAND_SIGNATURE_INVALID });
    expect(sim.bolt).toBe('unlocked');
    expect(audit.read(audit.head().seq, 1)[0]?.event).toMatchObject({ type: 'downlink', body: { id: forgedId, outcome: 'refused', reason: ErrorCode.COMMAND_SIGNATURE_INVALID } });
    expect(fatal).toEqual([]);
  }, 30_000);
});
