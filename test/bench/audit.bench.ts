/**
 * Audit log and cloud drain (issue 8, Benchmark), baselines measured in the same run:
 * - rawInsertPerSec: plain better-sqlite3 inserts of rows the size of the hub's, WAL, the same
 *   synchronous level (NORMAL), 100 rows per transaction as the hub's appendMany does;
 *   auditAppendPerSec: the hub's append (canonical CBOR + SHA-256 chain + insert + checkpoints);
 *   appendRatio = audit / raw (goal ≥ 0.8); rawChunkInsertPerSec / appendRatioSameSql: the same
 *   baseline with the hub's own 25-row INSERT statements, i.e. the encode + hash overhead alone. Also single security events (synchronous FULL, one
 *   per transaction) both ways, for the record.
 * - rawPublishPerSec: entries/s of mqtt.js QoS 1 publishes of same-size batches to the same local
 *   mosquitto, received by a subscriber, with the outbox's window of batches in flight;
 *   drainPerSec: the hub process draining a 100,000-entry backlog through the outbox to sim/cloud
 *   (dedupe, chain + checkpoint verification, acks) via that mosquitto; drainRatio (goal ≥ 0.8);
 *   drainRssMb: the hub process's peak RSS during the drain (goal < 150).
 *   npx tsx test/bench/audit.bench.ts      (last line: JSON)
 * Knobs: DRAIN_EVENTS (default 100000), HUB_CPU_PROF=DIR (--cpu-prof of the hub process), IN_FLIGHT (batches, default 8), RSS_CURVE=1 (prints the hub's
 * [acked, rss, heapUsed, arrayBuffers] curve). Needs /usr/sbin/mosquitto.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import mqtt from 'mqtt';
import { canonicalEncode } from '../../protocols/audit/canonical.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { toWireEvent } from '../../protocols/audit/wire.js';
import { encodePayload, everyHub, topicFor } from '../../protocols/mqtt/contract.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { tempDir } from '../support/temp-dir.js';
import { CLOUD_IDENTITY, makeTestPki, MosquittoBroker } from '../peers/mosquitto-broker.js';
import { round, rssMb } from './support.js';

const APPEND_ROWS = 100_000;
const TX_ROWS = 100;
const CHUNK_ROWS = 25;
const SINGLE_ROWS = 300;
const DRAIN_ROWS = Number(process.env['DRAIN_EVENTS'] ?? 100_000);
const BATCH = Number(process.env['BATCH'] ?? 200);
const IN_FLIGHT = Number(process.env['IN_FLIGHT'] ?? 8);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The hub side runs as compiled JS under plain node, as an installed hub does (no tsx loader). */
const BUILD = join(ROOT, 'node_modules', '.cache', 'keyhub-bench-audit');
const PROCESS = join(BUILD, 'test', 'peers', 'cloud-hub-process.js');

function buildHubProcess(): void {
  rmSync(BUILD, { recursive: true, force: true });
  // tsc emits even if unrelated files of other rooms fail to type-check; the entry must exist.
  spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--noEmit', 'false', '--outDir', BUILD, '--sourceMap', 'false'], { stdio: 'ignore' });
  cpSync(join(ROOT, 'hub', 'store', 'migrations'), join(BUILD, 'hub', 'store', 'migrations'), { recursive: true });
  if (!existsSync(PROCESS)) throw new Error(`could not compile ${PROCESS}`);
}

const event = (i: number): AuditEvent => ({ type: 'decision', body: { outcome: i % 3 === 0 ? 'refuse' : 'allow', reason: i % 3 === 0 ? 208 : 0, transport: 'ble', grantId: 'ab'.repeat(16) } });

function perSec(count: number, ns: bigint): number {
  return count / (Number(ns) / 1e9);
}

/** A non-security event (NORMAL, batched): the bulk of what the log holds. */
const clip = (i: number): AuditEvent => ({ type: 'clip', body: { clipId: `clip-${String(i % 1_000_000).padStart(6, '0')}`, state: 'finished', visitId: 'cd'.repeat(8) } });

async function appendFigures(dir: string) {
  // Baseline: the same table shape, the same body bytes, no encoding, no hashing.
  const sampleBody = canonicalEncode(clip(1).body);
  const raw = new BetterSqlite3(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, wall_ms INTEGER NOT NULL, mono_ms INTEGER NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL) STRICT');
  const insert = raw.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)');
  // Hash-sized values made up front: the baseline pays for inserting them, not for making them.
  const hashes = Array.from({ length: 1024 }, () => randomBytes(32));
  let seq = 0;
  const rawBatch = raw.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      seq += 1;
      insert.run(seq, 1_764_061_200_000 + seq, seq, 'clip', sampleBody, hashes[(seq - 1) % 1024], hashes[seq % 1024]);
    }
  });
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < APPEND_ROWS; i += TX_ROWS) rawBatch.immediate(TX_ROWS);
  const rawInsertPerSec = perSec(APPEND_ROWS, process.hrtime.bigint() - t0);
  // The same SQL the hub's appendMany uses (25-row INSERTs, hub/store/audit-log.ts CHUNK_ROWS): the
  // baseline for the encode + hash overhead alone, so the hub's statement shape earns it nothing.
  const chunk = raw.prepare(`INSERT INTO t VALUES ${Array(CHUNK_ROWS).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
  const params: unknown[] = new Array<unknown>(CHUNK_ROWS * 7);
  const rawChunkBatch = raw.transaction((n: number) => {
    for (let c = 0; c < n; c += CHUNK_ROWS) {
      for (let j = 0; j < CHUNK_ROWS; j++) {
        seq += 1;
        const o = j * 7;
        params[o] = seq;
        params[o + 1] = 1_764_061_200_000 + seq;
        params[o + 2] = seq;
        params[o + 3] = 'clip';
        params[o + 4] = sampleBody;
        params[o + 5] = hashes[(seq - 1) % 1024];
        params[o + 6] = hashes[seq % 1024];
      }
      chunk.run(params);
    }
  });
  t0 = process.hrtime.bigint();
  for (let i = 0; i < APPEND_ROWS; i += TX_ROWS) rawChunkBatch.immediate(TX_ROWS);
  const rawChunkInsertPerSec = perSec(APPEND_ROWS, process.hrtime.bigint() - t0);
  raw.pragma('synchronous = FULL');
  t0 = process.hrtime.bigint();
  for (let i = 0; i < SINGLE_ROWS; i++) rawBatch.immediate(1);
  const rawFullSinglePerSec = perSec(SINGLE_ROWS, process.hrtime.bigint() - t0);
  raw.close();

  const store = await openAuditStore(dir, 'audit.db');
  const audit = auditLogOn(store, new FakeClock(), 100);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < APPEND_ROWS; i += TX_ROWS) audit.appendMany(Array.from({ length: TX_ROWS }, (_, j) => clip(i + j)));
  const auditAppendPerSec = perSec(APPEND_ROWS, process.hrtime.bigint() - t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < SINGLE_ROWS; i++) audit.append(event(i));
  const auditFullSinglePerSec = perSec(SINGLE_ROWS, process.hrtime.bigint() - t0);
  const rowBytes = (store.db.prepare("SELECT avg(length(body)) AS b FROM audit_events WHERE type = 'clip'").get() as { b: number }).b;
  store.close();
  return { rawInsertPerSec, rawChunkInsertPerSec, auditAppendPerSec, rawFullSinglePerSec, auditFullSinglePerSec, rowBytes, sampleBodyBytes: sampleBody.length };
}

async function publishBaseline(broker: MosquittoBroker, pki: Awaited<ReturnType<typeof makeTestPki>>, batchPayload: Buffer, batches: number): Promise<number> {
  const hubName = 'kh-bench000000000000';
  const pub = await mqtt.connectAsync(broker.url, { ...(await pki.client(hubName)), ca: [pki.ca.cert], protocolVersion: 5, clientId: hubName, reconnectPeriod: 0 });
  const sub = await mqtt.connectAsync(broker.url, { ...(await pki.client(CLOUD_IDENTITY)), ca: [pki.ca.cert], protocolVersion: 5, clientId: 'bench-sub', reconnectPeriod: 0 });
  await sub.subscribeAsync(everyHub('events'), { qos: 1 });
  let received = 0;
  const done = new Promise<void>((resolve) => sub.on('message', () => ++received === batches && resolve()));
  const t0 = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches) {
      next++;
      await pub.publishAsync(topicFor(hubName, 'events'), batchPayload, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await done;
  const rate = perSec(batches * BATCH, process.hrtime.bigint() - t0);
  await pub.endAsync(true);
  await sub.endAsync(true);
  return rate;
}

async function drain(dir: string, broker: MosquittoBroker, pki: Awaited<ReturnType<typeof makeTestPki>>) {
  const hubDir = join(dir, 'hub');
  const store = await openAuditStore(hubDir);
  const id = storeHubId(store);
  const key = loadOrCreateHubKey(store).publicKey;
  const audit = auditLogOn(store, new FakeClock(), 100);
  for (let i = 0; i < DRAIN_ROWS; i += TX_ROWS) audit.appendMany(Array.from({ length: Math.min(TX_ROWS, DRAIN_ROWS - i) }, (_, j) => event(i + j)));
  const sample = audit.read(1, BATCH);
  store.close();
  const batchPayload = Buffer.from(encodePayload('events', { hubId: id, events: sample.map(toWireEvent), checkpoints: [] }));

  const identity = await pki.client(id);
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'hub.pem'), keyFile: join(dir, 'hub.key') };
  writeFileSync(files.caFile, pki.ca.cert);
  writeFileSync(files.certFile, identity.cert);
  writeFileSync(files.keyFile, identity.key);
  const cloud = new SimCloud({ url: broker.url, tls: { ...(await pki.client(CLOUD_IDENTITY)), ca: pki.ca.cert }, protocolVersion: 5, hubs: new Map([[id, key]]), keepEvents: false, clientId: 'bench-cloud' });
  await cloud.start();

  const rawPublishPerSec = await publishBaseline(broker, pki, batchPayload, Math.min(500, DRAIN_ROWS / BATCH));

  const t0 = process.hrtime.bigint();
  const profile = process.env['HUB_CPU_PROF'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['HUB_CPU_PROF']}`];
  const child = spawn(process.execPath, [...profile, PROCESS, JSON.stringify({ dir: hubDir, url: broker.url, batchSize: BATCH, maxInFlight: IN_FLIGHT, ...files })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  // Status lines every 200 ms: [ackedThrough, rss, heapUsed, arrayBuffers] (MB), printed with
  // RSS_CURVE=1 to tell a leak (live heap growing) from V8 collecting lazily (it does not).
  const rssCurve: Array<[number, number, number, number]> = [];
  lines.on('line', (line) => {
    const s = JSON.parse(line) as { ackedThrough: number; rssMb: number; heapMb: number; arrayBuffersMb: number };
    rssCurve.push([s.ackedThrough, round(s.rssMb), round(s.heapMb), round(s.arrayBuffersMb)]);
  });
  const tReady = process.hrtime.bigint();
  const readyRss = rssMb(child.pid as number);
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssMb(child.pid as number));
    } catch {
      /* exited */
    }
  }, 50);
  await cloud.waitFor(() => cloud.ledger(id).lastSeq === DRAIN_ROWS, 600_000, `${DRAIN_ROWS} entries`);
  const tEnd = process.hrtime.bigint();
  clearInterval(sampler);
  const ledger = cloud.ledger(id);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (process.env['RSS_CURVE'] !== undefined) console.log(`rss curve [acked, rss, heap, arrayBuffers]: ${JSON.stringify(rssCurve.filter((_, i) => i % 5 === 0))}`);
  await cloud.stop();
  if (ledger.broken !== undefined) throw new Error(`chain broken during the drain: ${JSON.stringify(ledger.broken)}`);
  return {
    rawPublishPerSec,
    drainPerSec: perSec(DRAIN_ROWS, tEnd - tReady),
    drainWithStartupS: Number(tEnd - t0) / 1e9,
    drainRssMb: peakRss,
    readyRssMb: readyRss,
    batchBytes: batchPayload.length,
    duplicates: ledger.duplicates,
    checkpointsVerified: ledger.checkpoints,
  };
}

const dir = tempDir('keyhub-bench-audit-');
try {
  const a = await appendFigures(dir.path);
  console.log(`append   raw ${round(a.rawInsertPerSec, 0)}/s  audit ${round(a.auditAppendPerSec, 0)}/s  ratio ${round(a.auditAppendPerSec / a.rawInsertPerSec, 2)}  (${TX_ROWS}/tx, NORMAL, body ${round(a.rowBytes, 0)} B vs raw ${a.sampleBodyBytes} B)`);
  console.log(`same SQL raw ${round(a.rawChunkInsertPerSec, 0)}/s (${CHUNK_ROWS}-row INSERTs as the hub's)  ratio ${round(a.auditAppendPerSec / a.rawChunkInsertPerSec, 2)}`);
  console.log(`security raw ${round(a.rawFullSinglePerSec, 0)}/s  audit ${round(a.auditFullSinglePerSec, 0)}/s  (1/tx, synchronous FULL)`);
  buildHubProcess();
  const pki = await makeTestPki();
  const broker = await MosquittoBroker.start(join(dir.path, 'broker'), pki);
  let d: Awaited<ReturnType<typeof drain>>;
  try {
    d = await drain(dir.path, broker, pki);
  } finally {
    await broker.stop();
  }
  console.log(`publish  raw ${round(d.rawPublishPerSec, 0)} entries/s (QoS 1, ${BATCH}/batch of ${d.batchBytes} B, ${IN_FLIGHT} in flight)`);
  console.log(`drain    ${DRAIN_ROWS} entries at ${round(d.drainPerSec, 0)}/s  ratio ${round(d.drainPerSec / d.rawPublishPerSec, 2)}  peak RSS ${round(d.drainRssMb)} MB (${round(d.readyRssMb)} MB when ready)  (${d.checkpointsVerified} checkpoints verified, ${d.duplicates} duplicates deduped)`);
  console.log(
    JSON.stringify({
      bench: 'audit',
      rawInsertPerSec: round(a.rawInsertPerSec, 0),
      auditAppendPerSec: round(a.auditAppendPerSec, 0),
      appendRatio: round(a.auditAppendPerSec / a.rawInsertPerSec, 2),
      rawChunkInsertPerSec: round(a.rawChunkInsertPerSec, 0),
      appendRatioSameSql: round(a.auditAppendPerSec / a.rawChunkInsertPerSec, 2),
      rawFullSinglePerSec: round(a.rawFullSinglePerSec, 0),
      auditFullSinglePerSec: round(a.auditFullSinglePerSec, 0),
      rawPublishPerSec: round(d.rawPublishPerSec, 0),
      drainPerSec: round(d.drainPerSec, 0),
      drainRatio: round(d.drainPerSec / d.rawPublishPerSec, 2),
      drainRssMb: round(d.drainRssMb),
      drainEvents: DRAIN_ROWS,
    }),
  );
} finally {
  dir.cleanup();
}
