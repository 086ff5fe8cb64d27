/**
 * What arrives at (re)connect, and what a clean stop leaves behind, through the embedded aedes
 * broker (MQTT 3.1.1, TLS client certificates) with the real link, outbox and downlink intake:
 * grants and commands queued in the persistent session while the hub was away, and a retained
 * grant found by the first subscribe, are all answered on `replies`; a clean stop says `offline`
 * once, and the broker publishes no will.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { encodePayload, topicFor } from '../../protocols/mqtt/contract.js';
import { EmbeddedBroker } from '../../hub/cloud/embedded-broker.js';
import { CloudLink } from '../../hub/cloud/link.js';
import { EMBEDDED_CLOUD_IDENTITY } from '../../hub/cloud/module.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { systemClock } from '../../hub/system/clock.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { openHubStore, startHubSide, type HubSide } from '../peers/cloud-hub.js';
import { relayTo } from '../support/tcp-relay.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

describe('the cloud link at (re)connect and at a clean stop, through aedes', () => {
  const dir = tempDir('keyhub-reconnect-');
  const issuer = new SimIssuer({ now: Date.now() });
  let broker: EmbeddedBroker;
  let cloud: SimCloud;
  const hubs = new Map<string, ReturnType<typeof loadOrCreateHubKey>['publicKey']>();
  const running: HubSide[] = [];

  /** A hub side on the store under `name` (made on first use), with the downlink intake. */
  const hubSide = async (name: string): Promise<HubSide> => {
    const store = await openHubStore(join(dir.path, name));
    const id = storeHubId(store);
    hubs.set(id, loadOrCreateHubKey(store).publicKey);
    const hub = await startHubSide({ dir: '', store, url: broker.url, ca: broker.caCert, identity: await broker.clientIdentity(id), protocolVersion: 4, downlink: { issuer } });
    running.push(hub);
    return hub;
  };
  const stop = async (hub: HubSide) => {
    running.splice(running.indexOf(hub), 1);
    await hub.stop();
  };
  const delivery = (hubId: string) => ({
    hubId, lockId: 'front-door', courierId: 'courier-1', courierKey: generateSigningKey().publicKey,
    orderId: 'o-1', packageIds: ['p-1'], addressDigest: new Uint8Array(32), notBefore: Date.now() - 60_000, notAfter: Date.now() + 3_600_000,
  });
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const replyTo = (hubId: string, id: string) => cloud.ledger(hubId).replies.find((r) => r.id === id);

  /**
   * A round trip through the broker after `hub` went: another hub publishes its own status and the
   * cloud sees it, so a will the broker published for `hub` would have reached the cloud first.
   */
  const roundTrip = async () => {
    const probeId = 'kh-00000000000000fe';
    const probe = await mqtt.connectAsync(broker.url, { ...(await broker.clientIdentity(probeId)), ca: [broker.caCert], protocolVersion: 4, clientId: probeId, reconnectPeriod: 0 });
    const at = Date.now();
    await probe.publishAsync(topicFor(probeId, 'status'), Buffer.from(encodePayload('status', { status: 'online', hubId: probeId, atMs: at })), { qos: 1 });
    await cloud.waitFor(() => cloud.ledger(probeId).status?.atMs === at, 10_000, 'the probe');
    await probe.endAsync();
  };

  beforeAll(async () => {
    broker = new EmbeddedBroker({ dir: join(dir.path, 'broker'), port: 0, cloudIdentity: EMBEDDED_CLOUD_IDENTITY, clock: systemClock(), log: silentLog() });
    await broker.start();
    cloud = new SimCloud({ url: broker.url, tls: { ...(await broker.clientIdentity(EMBEDDED_CLOUD_IDENTITY)), ca: broker.caCert }, protocolVersion: 4, hubs });
    await cloud.start();
  });
  afterAll(async () => {
    for (const hub of running.splice(0)) await hub.stop();
    await cloud?.stop();
    await broker?.stop();
    dir.cleanup();
  });

  it('says offline once on a clean stop: it sends DISCONNECT, so the broker publishes no will', async () => {
    const hub = await hubSide('hub-stop');
    const ledger = cloud.ledger(hub.hubId);
    await cloud.waitFor(() => ledger.status?.status === 'online', 10_000, 'the birth');
    const before = ledger.statusHistory.length;
    await stop(hub);
    await roundTrip();
    expect(ledger.statusHistory.slice(before)).toEqual(['offline']);
  });

  it('publishes the will of a hub whose connection is cut (the cloud hears it went)', async () => {
    const store = await openHubStore(join(dir.path, 'hub-cut'));
    const id = storeHubId(store);
    const relay = await relayTo(Number(new URL(broker.url).port));
    const link = new CloudLink({ hubId: id, endpoint: { url: `mqtts://127.0.0.1:${relay.port}`, tls: { ...(await broker.clientIdentity(id)), ca: broker.caCert }, protocolVersion: 4 }, clock: systemClock(), log: silentLog() });
    try {
      await link.start();
      await cloud.waitFor(() => cloud.ledger(id).status?.status === 'online', 10_000, 'the birth');
      await relay.close(); // both TCP connections reset: no DISCONNECT, no goodbye
      await cloud.waitFor(() => cloud.ledger(id).status?.status === 'offline', 10_000, 'the will');
    } finally {
      await link.stop();
      store.close();
    }
  });

  it('answers a grant and commands queued while the hub was away, once it is back', async () => {
    const first = await hubSide('hub-away');
    const id = first.hubId;
    await cloud.waitFor(() => cloud.ledger(id).status?.status === 'online', 10_000, 'the birth (subscriptions made)');
    await stop(first);

    // Queued by the broker in the hub's persistent session.
    const { grant, signed } = issuer.deliveryGrant(delivery(id));
    const state = issuer.command(id, 'publish-state', { at: Date.now() });
    const checkpoint = issuer.command(id, 'checkpoint', { at: Date.now() });
    await cloud.push(id, 'grants', signed);
    await cloud.push(id, 'commands', state.signed);
    await cloud.push(id, 'commands', checkpoint.signed);
    await cloud.push(id, 'grants', Uint8Array.from([0xa0]));
    const repliesBefore = cloud.ledger(id).replies.length;

    await hubSide('hub-away');
    await cloud.waitFor(() => cloud.ledger(id).replies.length >= repliesBefore + 4, 15_000, 'four replies');
    expect(replyTo(id, hex(grant.id))).toMatchObject({ kind: 'grants', outcome: 'accepted' });
    // publish-state is accepted on the broker's PUBACK: the link takes publishes as soon as the broker accepted the session.
    expect(replyTo(id, hex(state.command.id))).toMatchObject({ kind: 'commands', outcome: 'accepted', detail: 'publish-state' });
    expect(replyTo(id, hex(checkpoint.command.id))).toMatchObject({ kind: 'commands', outcome: 'accepted', detail: 'checkpoint' });
    expect(cloud.ledger(id).replies.slice(repliesBefore).find((r) => r.kind === 'grants' && r.outcome === 'refused')).toMatchObject({ reasonName: 'CLOUD_PAYLOAD_INVALID' });
  });

  it('answers a retained grant that the first subscribe of a new hub finds', async () => {
    const store = await openHubStore(join(dir.path, 'hub-new'));
    const id = storeHubId(store);
    store.close();
    const { grant, signed } = issuer.deliveryGrant(delivery(id));
    const publisher = await mqtt.connectAsync(broker.url, { ...(await broker.clientIdentity(EMBEDDED_CLOUD_IDENTITY)), ca: [broker.caCert], protocolVersion: 4, clientId: 'retainer', reconnectPeriod: 0 });
    try {
      await publisher.publishAsync(topicFor(id, 'grants'), Buffer.from(signed), { qos: 1, retain: true });
      await hubSide('hub-new');
      await cloud.waitFor(() => replyTo(id, hex(grant.id)) !== undefined, 15_000, 'the retained grant reply');
      expect(replyTo(id, hex(grant.id))).toMatchObject({ kind: 'grants', outcome: 'accepted' });
    } finally {
      await publisher.publishAsync(topicFor(id, 'grants'), Buffer.alloc(0), { qos: 1, retain: true });
      await publisher.endAsync();
    }
  });
});
