import { afterAll, describe, expect, it } from 'vitest';
import { cloudModules, EMBEDDED_CLOUD_IDENTITY } from '../../hub/cloud/module.js';
import { auditModule } from '../../hub/store/audit-module.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { databasePath, storeModule } from '../../hub/store/module.js';
import { openStore } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { startAll, stopAll } from '../../hub/system/lifecycle.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { until } from '../peers/cloud-hub.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

/** The cloud side composed as main.ts composes it, on the embedded broker of the simulated home. */
describe('the cloud modules in the daemon (embedded broker)', () => {
  const dir = tempDir('keyhub-cloud-modules-');
  afterAll(() => dir.cleanup());

  it('starts broker, link and outbox after store and audit, ships boot, and records shutdown on stop', async () => {
    const clock = systemClock();
    const log = silentLog();
    const store = storeModule({ stateDir: dir.path, busyTimeoutMs: 5000, clock, log, version: '0.1.0' });
    const audit = auditModule({ store: () => store.store(), clock, log, version: '0.1.0', checkpointEvery: 10, onAuditFailure: (err) => {
      throw err;
    } });
    const cloud = cloudModules({ settings: { broker: 'embedded', port: 0 }, stateDir: dir.path, store: () => store.store(), audit: () => audit.log(), clock, log, version: '0.1.0' });
    // The (simulated) cloud is a durable subscriber before the hub first speaks, as in production.
    const signal = new AbortController().signal;
    const [brokerModule, ...linkAndOutbox] = cloud.modules;
    const started = await startAll([store, audit, brokerModule!], signal, log);
    const broker = cloud.embedded()!;
    const hubId = audit.log().hubId;
    const sim = new SimCloud({
      url: broker.url,
      tls: { ...(await broker.clientIdentity(EMBEDDED_CLOUD_IDENTITY)), ca: broker.caCert },
      protocolVersion: 4,
      hubs: new Map([[hubId, loadOrCreateHubKey(store.store()).publicKey]]),
    });
    await sim.start();
    started.push(...(await startAll(linkAndOutbox, signal, log)));
    expect(started.map((m) => m.name)).toEqual(['store', 'audit', 'embedded-broker', 'cloud-link', 'cloud-outbox']);
    try {
      await until(() => cloud.link().connected, 'the link', 10_000);
      audit.log().append({ type: 'door', body: { state: 'open' } });
      cloud.outbox().wake();
      await sim.waitFor(() => sim.ledger(hubId).lastSeq >= 2, 15_000, 'boot and door');
      expect(sim.ledger(hubId).events.map((e) => e.type).slice(0, 2)).toEqual(['boot', 'door']);
      expect(sim.ledger(hubId).broken).toBeUndefined();
      expect(sim.ledger(hubId).status?.status).toBe('online');
    } finally {
      await sim.stop();
    }
    expect(await stopAll(started, log)).toEqual([]);
    // The audit module recorded `shutdown` and signed a checkpoint at it before the store closed.
    const reopened = await openStore({ path: databasePath(dir.path), busyTimeoutMs: 5000, log });
    try {
      const last = reopened.db.prepare('SELECT seq, type FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; type: string };
      expect(last.type).toBe('shutdown');
      expect(reopened.db.prepare('SELECT count(*) AS n FROM audit_checkpoints WHERE seq = ?').get(last.seq)).toEqual({ n: 1 });
    } finally {
      reopened.close();
    }
  });
});
