import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicFor } from '../../protocols/mqtt/contract.js';
import { EmbeddedBroker } from '../../hub/cloud/embedded-broker.js';
import { createCertificateAuthority } from '../../hub/cloud/pki.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { systemClock } from '../../hub/system/clock.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { openHubStore, startHubSide, until, type HubSide } from '../peers/cloud-hub.js';
import { createLogger } from '../../hub/system/logger.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

/** The embedded aedes broker of the simulated home: TLS, client certificates, per-hub topics. */
describe('the embedded broker (aedes over TLS)', () => {
  const dir = tempDir('keyhub-aedes-');
  const brokerDir = join(dir.path, 'broker');
  const newBroker = (port = 0) => new EmbeddedBroker({ dir: brokerDir, port, cloudIdentity: 'keyhub-cloud', clock: systemClock(), log: silentLog() });
  let broker: EmbeddedBroker;
  let cloud: SimCloud;
  let hub: HubSide;

  beforeAll(async () => {
    broker = newBroker();
    await broker.start();
    const store = await openHubStore(join(dir.path, 'hub'));
    const id = storeHubId(store);
    cloud = new SimCloud({ url: broker.url, tls: { ...(await broker.clientIdentity('keyhub-cloud')), ca: broker.caCert }, protocolVersion: 4, hubs: new Map([[id, loadOrCreateHubKey(store).publicKey]]) });
    await cloud.start();
    hub = await startHubSide({ log: process.env['DBG'] ? createLogger({ level: 'debug', format: 'json' }) : undefined, dir: '', store, url: broker.url, ca: broker.caCert, identity: await broker.clientIdentity(id), protocolVersion: 4, checkpointEvery: 5 });
  });
  afterAll(async () => {
    await hub?.stop();
    await cloud?.stop();
    await broker?.stop();
    dir.cleanup();
  });

  it('carries the audit outbox to the cloud over MQTT 3.1.1 with TLS client certificates', async () => {
    await until(() => hub.link.connected, 'the link', 10_000);
    for (let i = 0; i < 12; i++) hub.audit.append({ type: 'door', body: { state: 'open' } });
    hub.outbox.wake();
    await cloud.waitFor(() => cloud.ledger(hub.hubId).lastSeq === 12, 10_000, '12 entries');
    await until(() => hub.audit.state().ackedThrough === 12, 'the ack', 5000);
    expect(cloud.ledger(hub.hubId).broken).toBeUndefined();
    expect(cloud.ledger(hub.hubId).status?.status).toBe('online');
  });

  it("refuses a hub's subscription to and publication on another hub's topics", async () => {
    const other = await broker.clientIdentity('kh-0000000000000001');
    const intruder = await mqtt.connectAsync(broker.url, { ...other, ca: [broker.caCert], protocolVersion: 4, reconnectPeriod: 0, clientId: 'intruder' });
    try {
      // A failure SUBACK (0x80, MQTT 3.1.1 §3.9.3): mqtt.js rejects the subscription.
      await expect(intruder.subscribeAsync(topicFor(hub.hubId, 'acks'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
      await expect(intruder.subscribeAsync('keyhub/v1/+/events', { qos: 1 })).rejects.toThrow(/Subscribe error/);
      expect(intruder.connected).toBe(true);
      const before = cloud.ledger(hub.hubId).batches;
      // aedes answers an unauthorized publish by closing the connection.
      const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
      intruder.publish(topicFor(hub.hubId, 'events'), Buffer.from('{}'), { qos: 1 });
      await closed;
      hub.audit.append({ type: 'door', body: { state: 'closed' } });
      hub.outbox.wake();
      await cloud.waitFor(() => cloud.ledger(hub.hubId).lastSeq === 13, 10_000, 'seq 13');
      expect(cloud.ledger(hub.hubId).batches).toBe(before + 1);
      expect(cloud.ledger(hub.hubId).refusedPayloads).toBe(0);
    } finally {
      await intruder.endAsync(true);
    }
  });

  it('refuses a client certificate from another CA', async () => {
    const stranger = await createCertificateAuthority({ commonName: 'stranger', nowMs: Date.now() });
    const cert = await stranger.issue({ commonName: hub.hubId, usage: 'client', nowMs: Date.now() });
    const client = mqtt.connect(broker.url, { ...cert, ca: [broker.caCert], protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000, clientId: 'stranger' });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('close', () => resolve('refused'));
    });
    client.end(true);
    expect(outcome).toBe('refused');
  });

  it('keeps its CA across restarts, so pinned clients reconnect', async () => {
    const ca = broker.caCert;
    const port = Number(new URL(broker.url).port);
    await broker.stop();
    await until(() => !hub.link.connected, 'the link to notice', 10_000);
    broker = newBroker(port);
    await broker.start();
    expect(broker.caCert).toBe(ca);
    hub.audit.append({ type: 'door', body: { state: 'open' } });
    await until(() => hub.audit.state().ackedThrough === 14, 'seq 14 acked after the restart', 20_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; cloud at ${cloud.ledger(hub.hubId).lastSeq}, link ${hub.link.connected}`);
    });
  });
});
