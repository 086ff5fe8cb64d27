/**
 * The daemon itself (`keyhub run`, cloud.broker external) against a real mosquitto run with the
 * operator's config (mosquitto-broker.ts), driven by the sim cloud and by foreign clients
 * (mosquitto_pub/sub): what reaches the hub is bounded by the Maximum Packet Size of its CONNECT,
 * another hub's certificate cannot knock it off, a flood of garbage leaves its audit log bounded
 * and verifiable, a SIGTERM says `offline` exactly once (DISCONNECT, no will), and a grant and a
 * command queued in its session while it was stopped are answered once it runs again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../protocols/audit/checkpoint.js';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { topicFor } from '../../protocols/mqtt/contract.js';
import type { HubStatus } from '../../protocols/control/contract.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { cleanEnv, finished, runKeyhub, spawnKeyhub, type Finished } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';
import { CLOUD_IDENTITY, CLOUD_TOOL_IDENTITY, CLOUD_WATCH_IDENTITY, makeTestPki, MosquittoBroker, type TestPki } from './mosquitto-broker.js';
import { mosquittoPub, MosquittoSub, writeIdentity, type ToolIdentity } from './mosquitto-clients.js';

const REFUSALS = { inFullPerKind: 5, inFullTotal: 20, intervalS: 600 };

describe('the daemon on a real mosquitto with the operator config', () => {
  const dir = tempDir('keyhub-daemon-mosq-');
  const issuer = new SimIssuer({ now: Date.now() });
  let pki: TestPki;
  let broker: MosquittoBroker;
  let cloud: SimCloud;
  let tool: ToolIdentity;
  let watch: ToolIdentity;
  let flags: string[];
  let hubId: string;
  let hubKeyHex: string;
  let daemon: { done: Promise<Finished>; kill(signal: NodeJS.Signals): void } | undefined;

  const ledger = () => cloud.ledger(hubId);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const run = async (args: string[]): Promise<Finished> => {
    const out = await runKeyhub([...flags, ...args]);
    expect(out.code, out.stderr).toBe(0);
    return out;
  };
  const startDaemon = async () => {
    const child = await spawnKeyhub([...flags, 'run'], cleanEnv());
    daemon = { done: finished(child), kill: (s) => child.kill(s) };
    const online = ledger().statusHistory.length;
    await cloud.waitFor(() => ledger().statusHistory.length > online && ledger().status?.status === 'online', 30_000, 'the daemon online');
  };
  /**
   * A round trip through the broker after the daemon went: a tool publishes a marker the sub sees,
   * so a will the broker published for the daemon would have been delivered before it.
   */
  const roundTrip = async (sub: MosquittoSub, topic: string) => {
    // Until one arrives: mosquitto_sub gives no sign of having subscribed.
    for (let attempt = 0; ; attempt++) {
      const marker = `marker-${Date.now()}-${attempt}`;
      expect((await mosquittoPub(broker, tool, { topic, lines: [marker] })).code).toBe(0);
      const seen = await until(() => sub.on(topic).includes(marker), 'the marker', 1000).then(() => true, () => false);
      if (seen) return;
      if (attempt === 20) throw new Error('mosquitto_sub never saw a marker');
    }
  };
  const delivery = () => ({
    hubId, lockId: 'front-door', courierId: 'courier-1', courierKey: generateSigningKey().publicKey,
    orderId: 'o-1', packageIds: ['p-1'], addressDigest: new Uint8Array(32), notBefore: Date.now() - 60_000, notAfter: Date.now() + 3_600_000,
  });

  beforeAll(async () => {
    pki = await makeTestPki();
    broker = await MosquittoBroker.start(join(dir.path, 'broker'), pki);
    const stateDir = join(dir.path, 'state');
    const config = join(dir.path, 'config.json');
    const files = { certFile: join(dir.path, 'hub.pem'), keyFile: join(dir.path, 'hub.key'), caFile: broker.caFile };
    writeFileSync(
      config,
      JSON.stringify({ version: 1, log: { level: 'info', format: 'json' }, systemd: { notify: false }, cloud: { broker: 'external', url: broker.url, ...files, refusals: REFUSALS } }),
    );
    flags = ['--config', config, '--state-dir', stateDir];
    // Provisioning as the installer does it: pin the root, read the hub id, issue its certificate.
    await run(['trust-root', hex(issuer.rootPublicKey)]);
    hubId = (JSON.parse((await run(['status', '--json'])).stdout) as HubStatus).hubId;
    hubKeyHex = (await run(['audit', 'key'])).stdout.trim();
    const identity = await pki.client(hubId);
    writeFileSync(files.certFile, identity.cert);
    writeFileSync(files.keyFile, identity.key, { mode: 0o600 });
    tool = writeIdentity(dir.path, 'tool', await pki.client(CLOUD_TOOL_IDENTITY));
    watch = writeIdentity(dir.path, 'watch', await pki.client(CLOUD_WATCH_IDENTITY));
    cloud = new SimCloud({ url: broker.url, tls: { ...(await pki.client(CLOUD_IDENTITY)), ca: pki.ca.cert }, protocolVersion: 5, hubs: new Map([[hubId, ed25519PublicKey(Buffer.from(hubKeyHex, 'hex'))]]) });
    await cloud.start();
    await startDaemon();
    // The cloud's first push: its keyring, signed by the pinned root.
    const c = await cloud.push(hubId, 'keys', issuer.keyring());
    await cloud.waitFor(() => ledger().replies.some((r) => r.correlation === hex(c)), 15_000, 'the keyring reply');
  }, 120_000);

  afterAll(async () => {
    daemon?.kill('SIGTERM');
    await daemon?.done;
    await cloud?.stop();
    await broker?.stop();
    dir.cleanup();
  }, 60_000);

  const replyTo = (c: Uint8Array | string) => ledger().replies.find((r) => r.correlation === (typeof c === 'string' ? c : hex(c)));

  it("keeps another hub's certificate from taking over this hub's client id (use_username_as_clientid)", async () => {
    const statuses = ledger().statusHistory.length;
    const other = await pki.client('kh-ffffffffffffffff');
    for (let i = 0; i < 5; i++) {
      // A clean start under the hub's own client id: without the option it would take over the
      // hub's session (the broker drops the hub, fires its will and wipes its queued messages).
      const intruder = await mqtt.connectAsync(broker.url, { ...other, ca: [pki.ca.cert], protocolVersion: 5, clientId: hubId, clean: true, reconnectPeriod: 0, rejectUnauthorized: true });
      await new Promise((r) => setTimeout(r, 200));
      await intruder.endAsync();
    }
    // Still the same connection: it answers, and the cloud saw neither a will nor a new birth.
    const c = await cloud.push(hubId, 'commands', issuer.command(hubId, 'checkpoint', { at: Date.now() }).signed);
    await cloud.waitFor(() => replyTo(c) !== undefined, 15_000, 'the checkpoint reply');
    expect(replyTo(c)).toMatchObject({ outcome: 'accepted' });
    expect(ledger().statusHistory.slice(statuses)).toEqual([]);
  }, 60_000);

  it('is never handed a payload over the Maximum Packet Size of its CONNECT; the broker refuses 10 MiB outright', async () => {
    const big = join(dir.path, 'big.bin');
    writeFileSync(big, Buffer.alloc(200 * 1024, 0xa5)); // under the broker's max_packet_size, over the hub's
    const grants = topicFor(hubId, 'grants');
    expect((await mosquittoPub(broker, tool, { topic: grants, file: big, correlation: 'big' })).code).toBe(0);
    // mosquitto_pub keeps to the broker's Maximum Packet Size by itself; mqtt.js does not: the
    // broker disconnects a client whose packet is over its max_packet_size.
    const sender = await mqtt.connectAsync(broker.url, { ...(await pki.client(CLOUD_TOOL_IDENTITY)), ca: [pki.ca.cert], protocolVersion: 5, reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => sender.once('close', () => resolve()));
    sender.publish(grants, Buffer.alloc(10 * 1024 * 1024, 0xa5), { qos: 1, properties: { correlationData: Buffer.from('huge') } });
    await closed;
    sender.end(true);
    const { grant, signed } = issuer.deliveryGrant(delivery());
    const small = join(dir.path, 'grant.bin');
    writeFileSync(small, signed);
    expect((await mosquittoPub(broker, tool, { topic: grants, file: small, correlation: 'small', responseTopic: topicFor(hubId, 'replies') })).code).toBe(0);
    await cloud.waitFor(() => replyTo(hex(Buffer.from('small'))) !== undefined, 15_000, 'the small grant reply');
    expect(replyTo(hex(Buffer.from('small')))).toMatchObject({ outcome: 'accepted', id: hex(grant.id) });
    // Delivered in order after the others: had they reached the hub, they would be answered by now.
    expect(replyTo(hex(Buffer.from('big')))).toBeUndefined();
    expect(replyTo(hex(Buffer.from('huge')))).toBeUndefined();
  }, 60_000);

  it('answers a flood of 4,000 garbage messages, one by one, with a bounded audit log', async () => {
    const replies = ledger().replies.length;
    const lines = (what: string) => Array.from({ length: 2000 }, (_, i) => `${what} garbage ${i} ${'x'.repeat(i % 50)}`);
    expect((await mosquittoPub(broker, tool, { topic: topicFor(hubId, 'grants'), lines: lines('grant') })).code).toBe(0);
    expect((await mosquittoPub(broker, tool, { topic: topicFor(hubId, 'commands'), lines: lines('command') })).code).toBe(0);
    await cloud.waitFor(() => ledger().replies.length >= replies + 4000, 60_000, '4,000 replies');
    expect(ledger().replies.slice(replies).every((r) => r.outcome === 'refused')).toBe(true);
  }, 90_000);

  it('says offline exactly once on SIGTERM (a DISCONNECT, no will), and its log is bounded and verifies', async () => {
    const statusTopic = topicFor(hubId, 'status');
    // Outside the contract, inside the hub's subtree: the cloud identities may use it.
    const markerTopic = `${topicFor(hubId, 'status').slice(0, -'status'.length)}marker`;
    const sub = MosquittoSub.start(broker, watch, [statusTopic, markerTopic]);
    try {
      await roundTrip(sub, markerTopic); // subscribed
      const before = ledger().statusHistory.length;
      daemon?.kill('SIGTERM');
      const out = await daemon?.done;
      daemon = undefined;
      expect(out?.code, out?.stderr).toBe(0);
      await roundTrip(sub, markerTopic);
      await cloud.waitFor(() => ledger().statusHistory.length > before, 10_000, 'the offline status');
      expect(ledger().statusHistory.slice(before)).toEqual(['offline']);
      expect(sub.on(statusTopic).map((p) => (JSON.parse(p) as { status: string }).status)).toEqual(['offline']);
    } finally {
      await sub.stop();
    }

    // Every refusal is on record, in full or counted; the log grew by tens, not thousands.
    const exported = join(dir.path, 'audit.jsonl');
    const exportOut = await run(['audit', 'export']);
    writeFileSync(exported, exportOut.stdout);
    await run(['audit', 'verify', exported, '--hub-key', hubKeyHex]);
    const events = exportOut.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; type?: string; body?: Record<string, unknown> })
      .filter((r) => r.kind === 'event');
    const inFull = events.filter((e) => e.type === 'downlink' && e.body?.['outcome'] === 'refused');
    const tallies = events.filter((e) => e.type === 'downlink.refusals');
    expect(inFull).toHaveLength(2 * REFUSALS.inFullPerKind);
    expect(tallies.map((t) => t.body)).toEqual([
      expect.objectContaining({
        count: 4000 - 2 * REFUSALS.inFullPerKind,
        kinds: [
          { kind: 'grants', reason: 503, count: 2000 - REFUSALS.inFullPerKind },
          { kind: 'commands', reason: 507, count: 2000 - REFUSALS.inFullPerKind },
        ],
      }),
    ]);
    expect(events.length).toBeLessThan(100);
  }, 60_000);

  it('answers a grant and a command queued in its session while it was stopped, once it runs again', async () => {
    expect(daemon).toBeUndefined();
    const { grant, signed } = issuer.deliveryGrant(delivery());
    const state = issuer.command(hubId, 'publish-state', { at: Date.now() });
    const grantFile = join(dir.path, 'queued-grant.bin');
    const commandFile = join(dir.path, 'queued-command.bin');
    writeFileSync(grantFile, signed);
    writeFileSync(commandFile, state.signed);
    const replies = topicFor(hubId, 'replies');
    expect((await mosquittoPub(broker, tool, { topic: topicFor(hubId, 'grants'), file: grantFile, correlation: 'queued-grant', responseTopic: replies })).code).toBe(0);
    expect((await mosquittoPub(broker, tool, { topic: topicFor(hubId, 'commands'), file: commandFile, correlation: 'queued-command', responseTopic: replies })).code).toBe(0);
    await startDaemon();
    await cloud.waitFor(() => replyTo(hex(Buffer.from('queued-command'))) !== undefined, 30_000, 'the queued command reply');
    await cloud.waitFor(() => replyTo(hex(Buffer.from('queued-grant'))) !== undefined, 30_000, 'the queued grant reply');
    expect(replyTo(hex(Buffer.from('queued-grant')))).toMatchObject({ kind: 'grants', outcome: 'accepted', id: hex(grant.id) });
    // Accepted on the broker's PUBACK: the link takes publishes as soon as the broker accepted the session.
    expect(replyTo(hex(Buffer.from('queued-command')))).toMatchObject({ kind: 'commands', outcome: 'accepted', id: hex(state.command.id), detail: 'publish-state' });
  }, 90_000);
});
