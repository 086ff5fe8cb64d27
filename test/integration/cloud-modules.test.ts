import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMBEDDED_CLOUD_IDENTITY } from '../../hub/cloud/module.js';
import { loadConfig } from '../../hub/config/load.js';
import { composeHub } from '../../hub/main.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { databasePath } from '../../hub/store/module.js';
import { openStore } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { startAll, stopAll } from '../../hub/system/lifecycle.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { freePort } from '../support/free-port.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

/** The cloud side composed by main.ts's composeHub, on the embedded broker of the simulated home. */
describe('the cloud modules in the daemon (embedded broker)', () => {
  const dir = tempDir('keyhub-cloud-modules-');
  afterAll(() => dir.cleanup());

  it('starts broker, link, outbox and downlink after store and audit, ships boot, and records shutdown on stop', async () => {
    const clock = systemClock();
    const log = silentLog();
    mkdirSync(join(dir.path, '.keyhub'));
    writeFileSync(join(dir.path, '.keyhub', 'config.json'), JSON.stringify({ version: 1, audit: { checkpointEvery: 10 }, cloud: { broker: 'embedded', port: await freePort() } }));
    const hub = await composeHub(loadConfig({ mode: 'dev', env: {}, cwd: dir.path }), { clock, log, version: '0.1.0', onAuditFailure: (err) => {
      throw err;
    } });
    const names = hub.modules.map((m) => m.name);
    expect(names.slice(0, 2)).toEqual(['store', 'audit']);
    expect(names.slice(-5)).toEqual(['embedded-broker', 'cloud-link', 'cloud-outbox', 'cloud-downlink', 'control']);
    // The (simulated) cloud is a durable subscriber before the hub first speaks, as in production.
    const signal = new AbortController().signal;
    const cut = names.indexOf('cloud-link');
    const started = await startAll(hub.modules.slice(0, cut), signal, log);
    const broker = hub.cloud.parts?.broker;
    if (broker === undefined) throw new Error('no embedded broker composed');
    const hubId = hub.audit.service.hubId;
    const sim = new SimCloud({
      url: broker.url,
      tls: { ...(await broker.clientIdentity(EMBEDDED_CLOUD_IDENTITY)), ca: broker.caCert },
      protocolVersion: 4,
      hubs: new Map([[hubId, loadOrCreateHubKey(hub.store.service).publicKey]]),
    });
    await sim.start();
    started.push(...(await startAll(hub.modules.slice(cut), signal, log)));
    try {
      await until(() => hub.cloud.parts?.link.connected === true, 'the link', 10_000);
      hub.audit.service.append({ type: 'door', body: { state: 'open' } });
      hub.cloud.parts?.outbox.wake();
      await sim.waitFor(() => sim.ledger(hubId).lastSeq >= 2, 15_000, 'boot and door');
      expect(sim.ledger(hubId).events.map((e) => e.type).slice(0, 2)).toEqual(['boot', 'door']);
      expect(sim.ledger(hubId).broken).toBeUndefined();
      expect(sim.ledger(hubId).status?.status).toBe('online');
    } finally {
      await sim.stop();
    }
    expect(await stopAll(started, log)).toEqual([]);
    // The audit module recorded `shutdown` and signed a checkpoint at it before the store closed.
    const reopened = await openStore({ path: databasePath(join(dir.path, '.keyhub')), busyTimeoutMs: 5000, log });
    try {
      const last = reopened.db.prepare('SELECT seq, type FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; type: string };
      expect(last.type).toBe('shutdown');
      expect(reopened.db.prepare('SELECT count(*) AS n FROM audit_checkpoints WHERE seq = ?').get(last.seq)).toEqual({ n: 1 });
    } finally {
      reopened.close();
    }
  });
});
