import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload, topicFor, hubSubtree } from '../../protocols/mqtt/contract.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { createCertificateAuthority } from '../../hub/cloud/pki.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { tempDir } from '../support/temp-dir.js';
import { silentLog } from '../support/silent-log.js';
import { downlinkTrustFrom, DownlinkIntake } from '../../hub/cloud/downlink.js';
import { accessOver } from '../support/grant-fixture.js';
import { TrustState } from '../../hub/access/trust.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { systemClock } from '../../hub/system/clock.js';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { signGrant } from '../../protocols/grant/issuer.js';
import { clockFloor } from '../../hub/store/clock-floor.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { openHubStore, startHubSide, until, type HubSide } from './cloud-hub.js';
import { CLOUD_IDENTITY, makeTestPki, MosquittoBroker, type TestPki } from './mosquitto-broker.js';

/**
 * The cloud link against a real mosquitto with TLS client certificates and per-hub ACLs.
 */
describe('cloud link through mosquitto with client certificates and ACLs', () => {
  const dir = tempDir('keyhub-mosq-');
  let pki: TestPki;
  let broker: MosquittoBroker;
  let cloud: SimCloud;
  let hub: HubSide;

  beforeAll(async () => {
    pki = await makeTestPki();
    broker = await MosquittoBroker.start(join(dir.path, 'broker'), pki);
    const store = await openHubStore(join(dir.path, 'hub-a'));
    const id = storeHubId(store);
    const hubKey = loadOrCreateHubKey(store).publicKey;
    const cloudCert = await pki.client(CLOUD_IDENTITY);
    cloud = new SimCloud({ url: broker.url, tls: { ...cloudCert, ca: pki.ca.cert }, protocolVersion: 5, hubs: new Map([[id, hubKey]]) });
    await cloud.start();
    hub = await startHubSide({ dir: join(dir.path, 'hub-a'), url: broker.url, ca: pki.ca.cert, identity: await pki.client(id), store, checkpointEvery: 10 });
  });

  afterAll(async () => {
    await hub?.stop();
    await cloud?.stop();
    await broker?.stop();
    dir.cleanup();
  });

  it('announces itself online (retained) and delivers audit entries, verified and acked', async () => {
    await cloud.waitFor(() => cloud.ledger(hub.hubId).status?.status === 'online', 10_000, 'birth message');
    for (let i = 0; i < 25; i++) hub.audit.append({ type: 'door', body: { state: i % 2 === 0 ? 'open' : 'closed' } });
    hub.outbox.wake();
    await cloud.waitFor(() => cloud.ledger(hub.hubId).lastSeq === 25, 10_000, '25 entries');
    await until(() => hub.audit.state().ackedThrough === 25, 'the ack', 5000);
    const ledger = cloud.ledger(hub.hubId);
    expect(ledger.broken).toBeUndefined();
    expect(ledger.events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(ledger.checkpoints).toBeGreaterThanOrEqual(2);
    await cloud.waitFor(() => cloud.ledger(hub.hubId).state?.audit.backlog === 0, 5000, 'state with an empty backlog');
  });

  it("keeps another hub's certificate out of this hub's topics, both ways", async () => {
    const other = await pki.client('kh-ffffffffffffffff');
    const intruder = await mqtt.connectAsync(broker.url, { ...other, ca: [pki.ca.cert], protocolVersion: 5, rejectUnauthorized: true, reconnectPeriod: 0, clientId: 'intruder' });
    const overheard: string[] = [];
    intruder.on('message', (topic) => overheard.push(topic));
    try {
      // mosquitto 2.0 grants the SUBSCRIBE but its ACL filters every delivery (read access).
      await intruder.subscribeAsync(hubSubtree(hub.hubId), { qos: 1 });
      const ledger = cloud.ledger(hub.hubId);
      const before = { refused: ledger.refusedPayloads, batches: ledger.batches, acked: hub.audit.state().ackedThrough };
      await intruder.publishAsync(topicFor(hub.hubId, 'events'), Buffer.from('{"forged":true}'), { qos: 1 }).catch(() => undefined);
      await intruder.publishAsync(topicFor(hub.hubId, 'acks'), Buffer.from(JSON.stringify({ through: 27, hash: '00'.repeat(32) })), { qos: 1 }).catch(() => undefined);
      // Round-trip through the broker: anything it forwarded would have arrived by now.
      hub.audit.append({ type: 'door', body: { state: 'open' } });
      hub.outbox.wake();
      await cloud.waitFor(() => cloud.ledger(hub.hubId).lastSeq === 26, 10_000, 'seq 26');
      await until(() => hub.audit.state().ackedThrough === 26, 'the ack of 26', 5000);
      expect(ledger.refusedPayloads).toBe(before.refused);
      expect(ledger.batches).toBe(before.batches + 1);
      expect(overheard).toEqual([]);
    } finally {
      await intruder.endAsync(true);
    }
  });

  it('refuses a certificate from an unknown CA at the TLS handshake', async () => {
    const stranger = await createCertificateAuthority({ commonName: 'not our CA', nowMs: Date.now() });
    const cert = await stranger.issue({ commonName: hub.hubId, usage: 'client', nowMs: Date.now() });
    await expect(
      mqtt.connectAsync(broker.url, { ...cert, ca: [pki.ca.cert], protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000, clientId: 'stranger' }),
    ).rejects.toThrow();
  });

  it('answers signed keyring, grant, revocation and time pushed over MQTT 5 with their correlation data, and refuses a forged grant', async () => {
    const now = Date.now();
    const issuer = new SimIssuer({ now });
    const trust = new TrustState(trustStore(hub.store));
    trust.pinRoot(issuer.rootPublicKey);
    const floor = clockFloor(hub.store);
    const intake = new DownlinkIntake({
      hubId: hub.hubId,
      link: hub.link,
      audit: hub.audit,
      store: hub.store,
      clock: systemClock(),
      log: silentLog(),
      trust: downlinkTrustFrom(accessOver({ trust, floor, store: hub.store, hubId: hub.hubId }), hub.store),
    });
    intake.start();
    try {
      const ledger = cloud.ledger(hub.hubId);
      const replyTo = (c: Uint8Array) => ledger.replies.find((r) => r.correlation === Buffer.from(c).toString('hex'));
      const answered = (c: Uint8Array, what: string) => cloud.waitFor(() => replyTo(c) !== undefined, 10_000, what);
      const keyring = await cloud.push(hub.hubId, 'keys', issuer.keyring());
      await answered(keyring, 'the keyring reply');
      expect(replyTo(keyring)).toMatchObject({ kind: 'keys', outcome: 'accepted', id: 'keyring-v1' });

      const delivery = {
        hubId: hub.hubId, lockId: 'front-door', courierId: 'courier-1', courierKey: generateSigningKey().publicKey,
        orderId: 'o-1', packageIds: ['p-1'], addressDigest: new Uint8Array(32), notBefore: now, notAfter: now + 3_600_000,
      };
      const { grant, signed } = issuer.deliveryGrant(delivery);
      const good = await cloud.push(hub.hubId, 'grants', signed);
      const forged = await cloud.push(hub.hubId, 'grants', signGrant({ ...issuer.deliveryGrant(delivery).grant }, generateSigningKey()));
      const again = await cloud.push(hub.hubId, 'grants', signed);
      await answered(again, 'the grant replies');
      expect(replyTo(good)).toMatchObject({ kind: 'grants', outcome: 'accepted', id: Buffer.from(grant.id).toString('hex') });
      expect(replyTo(forged)).toMatchObject({ kind: 'grants', outcome: 'refused', reasonName: 'GRANT_SIGNATURE_INVALID' });
      expect(replyTo(again)).toMatchObject({ kind: 'grants', outcome: 'duplicate' });

      const revocation = await cloud.push(hub.hubId, 'revocations', issuer.revoke({ grantId: grant.id }));
      const time = await cloud.push(hub.hubId, 'time', issuer.time(now));
      await answered(time, 'the time reply');
      await answered(revocation, 'the revocation reply');
      expect(replyTo(revocation)).toMatchObject({ outcome: 'accepted', id: 'revocations-v1' });
      expect(trust.isGrantRevoked(grant.id)).toBe(true);
      expect(replyTo(time)).toMatchObject({ outcome: 'accepted', id: `time-${now}` });

      // Every outcome is on record, and reaches the cloud through the audit chain.
      hub.outbox.wake();
      await cloud.waitFor(() => ledger.events.some((e) => e.type === 'downlink' && e.body['outcome'] === 'refused'), 10_000, 'the audited refusal');
      await until(() => hub.audit.state().ackedThrough === hub.audit.head().seq, 'everything acked', 10_000);
      expect(ledger.broken).toBeUndefined();
    } finally {
      intake.stop();
    }
  });

  it('catches up when the cloud goes away and comes back: nothing lost, nothing twice', async () => {
    await cloud.goAway();
    for (let i = 0; i < 30; i++) hub.audit.append({ type: 'door', body: { state: 'closed' } });
    hub.outbox.wake();
    await new Promise((r) => setTimeout(r, 300));
    const head = hub.audit.head().seq;
    expect(hub.audit.state().ackedThrough).toBeLessThan(head);
    await cloud.comeBack();
    await until(() => hub.audit.state().ackedThrough === head, 'the backlog acked after the cloud returned', 20_000);
    const ledger = cloud.ledger(hub.hubId);
    expect(ledger.events.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(ledger.broken).toBeUndefined();
  });

  it('survives a broker restart: entries written meanwhile arrive once, in order', async () => {
    await broker.stop();
    await until(() => !hub.link.connected, 'the link to notice', 10_000);
    for (let i = 0; i < 40; i++) hub.audit.append({ type: 'clip', body: { clipId: `c${i}`, state: 'finished' } });
    const head = hub.audit.head().seq;
    await broker.restart();
    await cloud.waitFor(() => cloud.ledger(hub.hubId).lastSeq === head, 20_000, `all ${head} entries after the restart`);
    await until(() => hub.audit.state().ackedThrough === head, 'the ack', 10_000);
    const ledger = cloud.ledger(hub.hubId);
    expect(ledger.broken).toBeUndefined();
    expect(ledger.events.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  });

  it('says offline (retained) itself on a clean stop, without the broker publishing its will', async () => {
    const ledger = cloud.ledger(hub.hubId);
    const before = ledger.statusHistory.length;
    await hub.link.stop();
    await cloud.waitFor(() => ledger.statusHistory.length > before, 10_000, 'the offline status');
    // A round trip through the broker after the hub went: a will would have reached the cloud first.
    const probeId = 'kh-00000000000000fe';
    const probe = await mqtt.connectAsync(broker.url, { ...(await pki.client(probeId)), ca: [pki.ca.cert], protocolVersion: 5, reconnectPeriod: 0 });
    const at = Date.now();
    await probe.publishAsync(topicFor(probeId, 'status'), Buffer.from(encodePayload('status', { status: 'online', hubId: probeId, atMs: at })), { qos: 1 });
    await cloud.waitFor(() => cloud.ledger(probeId).status?.atMs === at, 10_000, 'the probe');
    await probe.endAsync();
    expect(ledger.statusHistory.slice(before)).toEqual(['offline']);
    expect(ledger.status).toEqual({ status: 'offline', hubId: hub.hubId });
  });
});
