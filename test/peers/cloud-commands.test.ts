/**
 * Signed commands end to end: the simulated cloud pushes a `lock` command
 * signed with the issuer SDK through a real mosquitto (MQTT 5, TLS client certificates, per-hub
 * ACL); the hub's link hands it to the downlink intake, which verifies it and throws the bolt of
 * the simulated Kwikset through the real Z-Wave driver (zwave-js on its mock controller). The reply
 * carries the request's MQTT 5 correlation data, and the audit entries (bolt, downlink) reach the
 * cloud through the outbox with the chain verified. A forged command on the hub's own topic is
 * refused and audited.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { signCommand } from '../../protocols/grant/issuer.js';
import { decodePayload, topicFor, type PayloadOf } from '../../protocols/mqtt/contract.js';
import { TrustState } from '../../hub/access/trust.js';
import { commandActionsFrom } from '../../hub/cloud/command-actions.js';
import { downlinkTrustFrom, DownlinkIntake } from '../../hub/cloud/downlink.js';
import { accessOver } from '../support/grant-fixture.js';
import { clockFloor } from '../../hub/store/clock-floor.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import type { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { startRig, type Rig } from '../support/zwave-lock-rig.js';
import { openHubStore, startHubSide, until, type HubSide } from './cloud-hub.js';
import { CLOUD_IDENTITY, CLOUD_TOOL_IDENTITY, makeTestPki, MosquittoBroker, type TestPki } from './mosquitto-broker.js';

describe('signed cloud commands through mosquitto to the Z-Wave lock', () => {
  const dir = tempDir('keyhub-commands-peer-');
  let broker: MosquittoBroker;
  let pki: TestPki;
  let cloud: SimCloud;
  let hub: HubSide;
  let rig: Rig;
  let sim: KwiksetLock;
  let intake: DownlinkIntake;
  const issuer = new SimIssuer({ now: Date.now() });

  beforeAll(async () => {
    pki = await makeTestPki();
    broker = await MosquittoBroker.start(join(dir.path, 'broker'), pki);
    const store = await openHubStore(join(dir.path, 'hub'));
    const id = storeHubId(store);
    cloud = new SimCloud({
      url: broker.url,
      tls: { ...(await pki.client(CLOUD_IDENTITY)), ca: pki.ca.cert },
      protocolVersion: 5,
      hubs: new Map([[id, loadOrCreateHubKey(store).publicKey]]),
    });
    await cloud.start();
    rig = await startRig();
    sim = rig.sim as KwiksetLock;
    hub = await startHubSide({ dir: join(dir.path, 'hub'), url: broker.url, ca: pki.ca.cert, identity: await pki.client(id), store });
    // Provisioning: the installer pinned the cloud's root; the keyring certifies its issuer.
    const trust = new TrustState(trustStore(store));
    trust.pinRoot(issuer.rootPublicKey);
    trust.installKeyring(issuer.keyring());
    const floor = clockFloor(store);
    const clock = systemClock();
    intake = new DownlinkIntake({
      hubId: hub.hubId,
      link: hub.link,
      audit: hub.audit,
      store,
      clock,
      log: silentLog(),
      trust: downlinkTrustFrom(accessOver({ trust, floor, store, hubId: hub.hubId, clock }), store),
      commands: {
        actions: commandActionsFrom({ audit: hub.audit, outbox: hub.outbox, link: hub.link, lock: rig.lock, clock, version: 'test' }),
        floorMs: () => floor.floorMs(),
        clockSkewMs: 300_000,
      },
    });
    intake.start();
    await until(() => hub.link.connected, 'the hub link', 10_000);
  }, 60_000);

  afterAll(async () => {
    await intake?.stop();
    await hub?.stop();
    await rig?.close();
    await cloud?.stop();
    await broker?.stop();
    dir.cleanup();
  });

  const ledger = () => cloud.ledger(hub.hubId);
  const replyTo = (c: Uint8Array) => ledger().replies.find((r) => r.correlation === Buffer.from(c).toString('hex'));
  const answered = (c: Uint8Array, what: string) => cloud.waitFor(() => replyTo(c) !== undefined, 15_000, what);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('throws the bolt on a signed lock command, answers with the same correlation data, and ships bolt + downlink entries', async () => {
    await rig.lock.unlock();
    expect(sim.bolt).toBe('unlocked');
    const before = hub.audit.head().seq;
    const { command, signed } = issuer.command(hub.hubId, 'lock', { at: Date.now() });
    const correlation = await cloud.push(hub.hubId, 'commands', signed);
    await answered(correlation, 'the lock command reply');

    expect(replyTo(correlation)).toMatchObject({ kind: 'commands', outcome: 'accepted', id: hex(command.id), detail: 'lock' });
    expect(sim.bolt).toBe('locked');
    expect(rig.lock.state().bolt).toBe('locked');
    expect(hub.audit.read(before + 1, 10).map((r) => r.event)).toEqual([
      { type: 'bolt', body: { state: 'locked', by: 'cloud-command' } },
      { type: 'downlink', body: { kind: 'commands', outcome: 'accepted', id: hex(command.id), detail: 'lock' } },
    ]);
    // The outbox drains them to the cloud, which verifies the chain as they arrive.
    hub.outbox.wake();
    await cloud.waitFor(() => ledger().lastSeq >= before + 2, 15_000, 'the bolt and downlink entries');
    expect(ledger().broken).toBeUndefined();
    expect(ledger().events.slice(-2).map((e) => e.type)).toEqual(['bolt', 'downlink']);

    // Redelivered (QoS 1 is at least once): answered duplicate, the lock is not told again.
    const sent = sim.received.length;
    const again = await cloud.push(hub.hubId, 'commands', signed);
    await answered(again, 'the duplicate reply');
    expect(replyTo(again)).toMatchObject({ outcome: 'duplicate', id: hex(command.id) });
    expect(sim.received.length).toBe(sent);
  }, 30_000);

  it("refuses a forged lock command on the hub's own topic and puts the refusal on record", async () => {
    await rig.lock.unlock();
    const before = hub.audit.head().seq;
    const { command } = issuer.command(hub.hubId, 'lock', { at: Date.now() });
    const forged = await cloud.push(hub.hubId, 'commands', signCommand(command, generateSigningKey()));
    await answered(forged, 'the forged command reply');
    expect(replyTo(forged)).toMatchObject({ outcome: 'refused', id: hex(command.id), reason: ErrorCode.COMMAND_SIGNATURE_INVALID, reasonName: 'COMMAND_SIGNATURE_INVALID' });
    expect(sim.bolt).toBe('unlocked');
    expect(hub.audit.read(before + 1, 10).map((r) => r.event)).toEqual([
      { type: 'downlink', body: { kind: 'commands', outcome: 'refused', id: hex(command.id), reason: ErrorCode.COMMAND_SIGNATURE_INVALID, detail: 'lock: command signature does not verify' } },
    ]);
    hub.outbox.wake();
    await cloud.waitFor(() => ledger().lastSeq >= before + 1, 15_000, 'the refusal entry');
    expect(ledger().events.at(-1)).toMatchObject({ type: 'downlink' });
  }, 30_000);

  it("answers a lock command the lock cannot confirm with the lock's code and bolt.failed on record", async () => {
    sim.blocked = true;
    try {
      const before = hub.audit.head().seq;
      const { command, signed } = issuer.command(hub.hubId, 'lock', { at: Date.now() });
      const c = await cloud.push(hub.hubId, 'commands', signed);
      await answered(c, 'the jammed lock reply');
      expect(replyTo(c)).toMatchObject({ outcome: 'refused', id: hex(command.id), reason: ErrorCode.LOCK_JAMMED });
      expect(hub.audit.read(before + 1, 10).map((r) => r.event.type)).toEqual(['bolt.failed', 'downlink']);
    } finally {
      sim.blocked = false;
    }
  }, 30_000);

  it('publishes the retained state with the lock on publish-state, and signs and ships a checkpoint on checkpoint', async () => {
    // Every state the hub publishes, seen by a second cloud consumer (the outbox publishes its own, too).
    const states: PayloadOf<'state'>[] = [];
    const watcher = await mqtt.connectAsync(broker.url, { ...(await pki.client(CLOUD_TOOL_IDENTITY)), ca: [pki.ca.cert], protocolVersion: 5, clientId: 'state-watcher', reconnectPeriod: 0 });
    try {
      watcher.on('message', (_topic, payload) => {
        const d = decodePayload('state', new Uint8Array(payload));
        if (d.ok) states.push(d.value);
      });
      await watcher.subscribeAsync(topicFor(hub.hubId, 'state'), { qos: 1 });
      const state = await cloud.push(hub.hubId, 'commands', issuer.command(hub.hubId, 'publish-state', { at: Date.now() }).signed);
      await answered(state, 'the publish-state reply');
      expect(replyTo(state)).toMatchObject({ outcome: 'accepted', detail: 'publish-state' });
      await until(() => states.some((s) => s.lock !== undefined), 'a state with the lock', 10_000);
      expect(states.find((s) => s.lock !== undefined)?.lock).toEqual({ bolt: rig.lock.state().bolt, door: 'closed' });
    } finally {
      await watcher.endAsync(true);
    }

    const checkpointsBefore = ledger().checkpoints;
    const head = hub.audit.head().seq;
    const cp = await cloud.push(hub.hubId, 'commands', issuer.command(hub.hubId, 'checkpoint', { at: Date.now() }).signed);
    await answered(cp, 'the checkpoint reply');
    // Signed at the command's own entry, one past the head before it.
    expect(hub.audit.checkpoints(head + 1, head + 1)).toHaveLength(1);
    await cloud.waitFor(() => ledger().checkpoints > checkpointsBefore, 15_000, 'the checkpoint at the cloud');
    expect(ledger().broken).toBeUndefined();
  }, 30_000);
});
