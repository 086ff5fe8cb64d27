import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { systemClock } from '../../hub/system/clock.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { auditLogOn } from '../support/audit-store.js';
import { tempDir } from '../support/temp-dir.js';
import { openHubStore, until } from './cloud-hub.js';
import { CLOUD_IDENTITY, makeTestPki, MosquittoBroker } from './mosquitto-broker.js';
import { nodeArgsFor } from '../support/built.js';

/**
 * An outage: N audit entries written while the broker is down; then, during the drain, the
 * broker restarted twice and the hub killed with SIGKILL once. The cloud must end with all N, in
 * order, none lost, none duplicated after dedupe, chain and checkpoints verified.
 * `npm test` runs it with 10,000 entries; OUTAGE_EVENTS raises it (npm run test:outage).
 */
const N = Number(process.env['OUTAGE_EVENTS'] ?? 10_000);
const PROCESS = fileURLToPath(new URL('./cloud-hub-process.ts', import.meta.url));

interface HubProcess {
  child: ChildProcess;
  last: { sentThrough?: number; ackedThrough?: number; connected?: boolean; rssMb?: number };
  exited: Promise<void>;
}

async function spawnHub(args: object): Promise<HubProcess> {
  const child = spawn(process.execPath, [...(await nodeArgsFor(PROCESS)), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const hub: HubProcess = { child, last: {}, exited: new Promise((r) => child.once('exit', () => r())) };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { ready?: boolean } & HubProcess['last'];
      if (msg.ready === true) resolve(hub);
      else hub.last = msg;
    });
    child.once('exit', (code) => reject(new Error(`hub process exited (${code}) before ready: ${stderr}`)));
  });
}

describe('the outbox through an outage, two broker restarts and a hub kill -9', () => {
  const dir = tempDir('keyhub-outage-');
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    dir.cleanup();
  });

  it(`delivers all ${N} entries exactly once, in order, with the chain verified`, async () => {
    const pki = await makeTestPki();
    const broker = await MosquittoBroker.start(join(dir.path, 'broker'), pki);
    cleanups.push(() => broker.stop());

    // The hub's identity and its backlog, written while the broker is down.
    const hubDir = join(dir.path, 'hub');
    const store = await openHubStore(hubDir);
    const id = storeHubId(store);
    const hubKey = loadOrCreateHubKey(store).publicKey;
    const identity = await pki.client(id);
    const files = { caFile: join(dir.path, 'ca.pem'), certFile: join(dir.path, 'hub.pem'), keyFile: join(dir.path, 'hub.key') };
    writeFileSync(files.caFile, pki.ca.cert);
    writeFileSync(files.certFile, identity.cert);
    writeFileSync(files.keyFile, identity.key);

    const cloud = new SimCloud({ url: broker.url, tls: { ...(await pki.client(CLOUD_IDENTITY)), ca: pki.ca.cert }, protocolVersion: 5, hubs: new Map([[id, hubKey]]) });
    await cloud.start();
    cleanups.push(() => cloud.stop());
    await broker.stop();

    const audit = auditLogOn(store, systemClock(), 100);
    for (let i = 0; i < N; i += 100) {
      const chunk: AuditEvent[] = [];
      for (let j = i; j < Math.min(N, i + 100); j++) chunk.push({ type: 'clip', body: { clipId: `clip-${j}`, state: 'finished' } });
      audit.appendMany(chunk);
    }
    store.close();

    const args = { dir: hubDir, url: broker.url, batchSize: 50, maxInFlight: 2, ...files };
    let hub = await spawnHub(args);
    cleanups.push(async () => {
      hub.child.kill('SIGKILL');
      await hub.exited;
    });
    const received = (): number => cloud.ledger(id).lastSeq;

    await broker.restart();
    await cloud.waitFor(() => received() >= N * 0.2, 60_000, '20% delivered');
    expect(received()).toBeLessThan(N); // the fault lands mid-drain
    await broker.restart(); // restart 1, mid-drain
    await cloud.waitFor(() => received() >= N * 0.45, 60_000, '45% delivered');
    expect(received()).toBeLessThan(N);
    hub.child.kill('SIGKILL'); // the hub dies with batches in flight
    await hub.exited;
    await cloud.waitFor(() => cloud.ledger(id).status?.status === 'offline', 30_000, 'the last will (offline)');
    hub = await spawnHub(args);
    await cloud.waitFor(() => received() >= N * 0.7, 60_000, '70% delivered');
    expect(received()).toBeLessThan(N);
    await broker.restart(); // restart 2
    await cloud.waitFor(() => received() === N, 120_000, `all ${N} delivered`);
    await until(() => hub.last.ackedThrough === N, 'the hub to record the final ack', 30_000);

    const ledger = cloud.ledger(id);
    const seqs = ledger.events.map((e) => e.seq);
    expect(ledger.broken).toBeUndefined();
    expect(seqs.length).toBe(N);
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
    expect(new Set(seqs).size).toBe(N);
    expect(ledger.checkpoints).toBeGreaterThanOrEqual(N / 100);
    expect(ledger.statusHistory).toContain('offline');
    expect(ledger.status?.status).toBe('online');
    // The closing note quotes these.
    console.log(
      JSON.stringify({ outage: { events: N, received: seqs.length, lost: N - seqs.length, duplicatesDeduped: ledger.duplicates, outOfOrderDropped: ledger.outOfOrder, batches: ledger.batches, checkpointsVerified: ledger.checkpoints } }),
    );
  }, 90_000 + N * 5);
});
