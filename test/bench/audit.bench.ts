/**
 * Audit log and cloud drain, baselines measured in the same run:
 * - rawInsertPerSec / auditAppendPerSec / appendRatio (goal ≥ 0.8), and the same in CPU time per
 *   op (rawCpuUsPerInsert / auditCpuUsPerAppend / appendCpuRatio): the hub's append as every
 *   module calls it, `append(event)`, one event per transaction ("batched per transaction like the
 *   hub does": the hub does not batch), ordinary events at synchronous NORMAL, against one plain
 *   INSERT of a same-size row per transaction at the same level, in the same database file,
 *   interleaved op by op; securityAppendRatio: the same for security events (synchronous FULL);
 *   bulkAppendRatio: appendMany with 100 events per transaction against 100 plain INSERTs per
 *   transaction, for the record (no module appends in bulk; the encode + hash share shows most).
 * - rawPublishPerSec: entries/s of mqtt.js QoS 1 publishes of same-size batches to the same local
 *   mosquitto, received by a subscriber, with the outbox's window of batches in flight;
 *   drainPerSec: the hub process draining a 100,000-entry backlog through the outbox to sim/cloud
 *   (dedupe, chain + checkpoint verification, acks) via that mosquitto; drainRatio (goal ≥ 0.8);
 *   drainRssMb: the hub process's peak RSS during the drain (goal < 150).
 * - hubEncodePerSec / cloudIngestPerSec / ceilingRatio: each end of the drain alone, in this
 *   process, one core, no network (the outbox's read + encode of every batch; SimCloud#receive of
 *   those batches). The slower of the two bounds any drain; ceilingRatio is it over rawPublishPerSec.
 *   npx tsx test/bench/audit.bench.ts      (last line: JSON)
 * Knobs: APPEND_EVENTS (default 30000), SECURITY_EVENTS (default 1000), APPEND_ONLY=1 (skip the drain),
 * DRAIN_EVENTS (default 100000), HUB_CPU_PROF=DIR (--cpu-prof of the hub process), IN_FLIGHT (batches, default 8), RSS_CURVE=1 (prints the hub's
 * [acked, rss, heapUsed, arrayBuffers] curve). Needs /usr/sbin/mosquitto.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import mqtt from 'mqtt';
import { canonicalEncode } from '../../protocols/audit/canonical.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { BatchEncoder, MAX_BATCH_CHECKPOINTS, type BatchRow } from '../../protocols/audit/batch.js';
import { everyHub, topicFor, TOPICS } from '../../protocols/mqtt/contract.js';
import { noDelay, UnretainedStore } from '../../hub/cloud/link.js';
import { hubId as storeHubId } from '../../hub/store/daemon-runs.js';
import { DEFAULT_CHECKPOINT_EVERY } from '../../hub/store/audit-log.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { SimCloud } from '../../sim/cloud/cloud.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { tempDir } from '../support/temp-dir.js';
import { CLOUD_IDENTITY, makeTestPki, MosquittoBroker } from '../peers/mosquitto-broker.js';
import { round, rssMb } from './support.js';

const NORMAL_ROWS = Number(process.env['APPEND_EVENTS'] ?? 30_000);
const SINGLE_ROWS = Number(process.env['SECURITY_EVENTS'] ?? 1000);
const BULK_ROWS = 100_000;
const TX_ROWS = 100;
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

/**
 * The hub's append as its modules call it (hub/lock/lock-audit.ts, hub/cloud/downlink.ts, …):
 * `append(event)`, one event per IMMEDIATE transaction, NORMAL for ordinary events and FULL for
 * security events. The baseline is the same: one plain INSERT of a row of the same size per
 * transaction at the same synchronous level, into a table of the same shape in the SAME database
 * file, interleaved op by op with the hub's appends so that both see the same WAL, page cache
 * and disk (an fsync's cost wanders by 2× over seconds on this machine).
 */
function interleaved(store: Awaited<ReturnType<typeof openAuditStore>>, audit: ReturnType<typeof auditLogOn>, make: (i: number) => AuditEvent, full: boolean, rows: number) {
  const db = store.db;
  const table = full ? 'raw_full' : 'raw_normal';
  db.exec(`CREATE TABLE ${table} (seq INTEGER PRIMARY KEY, wall_ms INTEGER NOT NULL, mono_ms INTEGER NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL) STRICT`);
  const insert = db.prepare(`INSERT INTO ${table} VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const sample = make(1);
  const body = canonicalEncode(sample.body);
  // Hash-sized values made up front: the baseline pays for inserting them, not for making them.
  const hashes = Array.from({ length: 1024 }, () => randomBytes(32));
  let seq = 0;
  const one = db.transaction(() => {
    seq += 1;
    insert.run(seq, 1_764_061_200_000 + seq, seq, sample.type, body, hashes[(seq - 1) % 1024], hashes[seq % 1024]);
  });
  let rawNs = 0n;
  let hubNs = 0n;
  // CPU time too (user + system, µs): steadier than wall time, which the disk's own wanderings
  // (write-back, WAL checkpoints) move by more than the whole difference being measured.
  let rawCpu = 0;
  let hubCpu = 0;
  for (let i = 0; i < rows; i++) {
    let c0 = process.cpuUsage();
    let t0 = process.hrtime.bigint();
    if (full) db.pragma('synchronous = FULL');
    one.immediate();
    if (full) db.pragma('synchronous = NORMAL');
    rawNs += process.hrtime.bigint() - t0;
    let c = process.cpuUsage(c0);
    rawCpu += c.user + c.system;
    c0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    audit.append(make(i));
    hubNs += process.hrtime.bigint() - t0;
    c = process.cpuUsage(c0);
    hubCpu += c.user + c.system;
  }
  return { raw: perSec(rows, rawNs), audit: perSec(rows, hubNs), rawCpuUs: rawCpu / rows, auditCpuUs: hubCpu / rows };
}

async function appendFigures(dir: string) {
  const store = await openAuditStore(dir, 'audit.db');
  const audit = auditLogOn(store, new FakeClock(), DEFAULT_CHECKPOINT_EVERY);
  // Warm-up (JIT, page cache), not counted.
  interleaved(store, audit, clip, false, 2000);
  store.db.exec('DROP TABLE raw_normal');
  const normal = interleaved(store, audit, clip, false, NORMAL_ROWS);
  const full = interleaved(store, audit, event, true, SINGLE_ROWS);
  const rowBytes = (store.db.prepare("SELECT avg(length(body)) AS b FROM audit_events WHERE type = 'clip'").get() as { b: number }).b;
  store.close();

  // For the record: a bulk path (appendMany, 100 events per transaction), which no module uses
  // today; here the SQLite share per row is smallest, so the encode + hash + checks show most.
  const sampleBody = canonicalEncode(clip(1).body);
  const raw = new BetterSqlite3(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, wall_ms INTEGER NOT NULL, mono_ms INTEGER NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL) STRICT');
  const insert = raw.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)');
  const hashes = Array.from({ length: 1024 }, () => randomBytes(32));
  let seq = 0;
  const rawBatch = raw.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      seq += 1;
      insert.run(seq, 1_764_061_200_000 + seq, seq, 'clip', sampleBody, hashes[(seq - 1) % 1024], hashes[seq % 1024]);
    }
  });
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < BULK_ROWS; i += TX_ROWS) rawBatch.immediate(TX_ROWS);
  const rawBulkPerSec = perSec(BULK_ROWS, process.hrtime.bigint() - t0);
  raw.close();
  const bulkStore = await openAuditStore(dir, 'bulk.db');
  const bulk = auditLogOn(bulkStore, new FakeClock(), DEFAULT_CHECKPOINT_EVERY);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < BULK_ROWS; i += TX_ROWS) bulk.appendMany(Array.from({ length: TX_ROWS }, (_, j) => clip(i + j)));
  const auditBulkPerSec = perSec(BULK_ROWS, process.hrtime.bigint() - t0);
  bulkStore.close();
  return { normal, full, rawBulkPerSec, auditBulkPerSec, rowBytes, sampleBodyBytes: sampleBody.length };
}

async function publishBaseline(broker: MosquittoBroker, pki: Awaited<ReturnType<typeof makeTestPki>>, batchPayload: Buffer, batches: number): Promise<number> {
  const hubName = 'kh-bench000000000000';
  // The hub's client setup (hub/cloud/link.ts): no copy of each publish kept for a resend, and
  // TCP_NODELAY on both sockets, as the hub and the sim cloud have them.
  const pub = await mqtt.connectAsync(broker.url, { ...(await pki.client(hubName)), ca: [pki.ca.cert], protocolVersion: 5, clientId: hubName, reconnectPeriod: 0, outgoingStore: new UnretainedStore() });
  const sub = await mqtt.connectAsync(broker.url, { ...(await pki.client(CLOUD_IDENTITY)), ca: [pki.ca.cert], protocolVersion: 5, clientId: 'bench-sub', reconnectPeriod: 0 });
  noDelay(pub);
  noDelay(sub);
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

/** Every batch of the backlog as the outbox builds it (readBatch, its checkpoints, the encoder), timed. */
function encodeAllBatches(audit: ReturnType<typeof auditLogOn>, hubId: string): { perSec: number; payloads: Buffer[] } {
  const encoder = new BatchEncoder();
  const payloads: Buffer[] = [];
  let next = 1;
  let checkpointsThrough = 0;
  const t0 = process.hrtime.bigint();
  for (;;) {
    const batch = audit.readBatch(next, BATCH);
    if (batch === undefined) break;
    const to = (batch.rows.at(-1) as BatchRow)[0];
    const checkpoints = audit.unsentCheckpointsThrough(checkpointsThrough, to, MAX_BATCH_CHECKPOINTS);
    const { view, count } = encoder.encodeRowsView(hubId, batch.prevHash, batch.rows, checkpoints, TOPICS.events.payload.maxBytes);
    if (count !== batch.rows.length) throw new Error('a bench batch did not fit whole');
    payloads.push(Buffer.from(view));
    checkpointsThrough = to;
    next = to + 1;
  }
  return { perSec: perSec(next - 1, process.hrtime.bigint() - t0), payloads };
}

/** The sim cloud's ingest of those batches, fed in process (SimCloud#receive: no broker, no acks). */
function ingestAll(hubId: string, key: KeyObject, payloads: readonly Buffer[]): number {
  const cloud = new SimCloud({ url: 'mqtts://127.0.0.1:1', tls: { cert: '', key: '', ca: '' }, protocolVersion: 5, hubs: new Map([[hubId, key]]), keepEvents: false });
  const topic = topicFor(hubId, 'events');
  const t0 = process.hrtime.bigint();
  for (const p of payloads) cloud.receive(topic, p);
  const ns = process.hrtime.bigint() - t0;
  const ledger = cloud.ledger(hubId);
  if (ledger.lastSeq !== DRAIN_ROWS || ledger.broken !== undefined) throw new Error(`in-process ingest ended at seq ${ledger.lastSeq}: ${JSON.stringify(ledger.broken)}`);
  return perSec(ledger.lastSeq, ns);
}

async function drain(dir: string, broker: MosquittoBroker, pki: Awaited<ReturnType<typeof makeTestPki>>) {
  const hubDir = join(dir, 'hub');
  const store = await openAuditStore(hubDir);
  const id = storeHubId(store);
  const key = loadOrCreateHubKey(store).publicKey;
  const audit = auditLogOn(store, new FakeClock(), 100);
  for (let i = 0; i < DRAIN_ROWS; i += TX_ROWS) audit.appendMany(Array.from({ length: Math.min(TX_ROWS, DRAIN_ROWS - i) }, (_, j) => event(i + j)));
  // The baseline publishes the bytes of the hub's own first batch (the outbox's encoder, with the
  // checkpoints that batch carries): same size, same count, as the drain sends.
  const sample = audit.readBatch(1, BATCH);
  if (sample === undefined) throw new Error('no entries to sample');
  const sampleTo = (sample.rows.at(-1) as BatchRow)[0];
  const sampleCheckpoints = audit.unsentCheckpoints(0, 64).filter((c) => c.seq <= sampleTo);
  const encoded = new BatchEncoder().encodeRows(id, sample.prevHash, sample.rows, sampleCheckpoints, TOPICS.events.payload.maxBytes);
  if (encoded.count !== BATCH) throw new Error(`the sample batch holds ${encoded.count} entries, not ${BATCH}`);
  const batchPayload = Buffer.from(encoded.bytes);
  // The two ends of the drain on their own, in this process, one core each, no network: the
  // hub's read + encode of every batch (as Outbox#send does it) and the sim cloud's ingest of
  // those batches (decode, dedupe, chain, checkpoint signatures). A drain is at most as fast as
  // the slower of the two, whatever the transport does.
  const { perSec: hubEncodePerSec, payloads } = encodeAllBatches(audit, id);
  store.close();
  const cloudIngestPerSec = ingestAll(id, key, payloads);
  payloads.length = 0;

  const identity = await pki.client(id);
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'hub.pem'), keyFile: join(dir, 'hub.key') };
  writeFileSync(files.caFile, pki.ca.cert);
  writeFileSync(files.certFile, identity.cert);
  writeFileSync(files.keyFile, identity.key);
  // The baseline first, alone: the sim cloud (a durable subscriber to every hub's events) starts
  // after it, so it neither receives nor spends CPU on the baseline's batches.
  const rawPublishPerSec = await publishBaseline(broker, pki, batchPayload, Math.min(500, DRAIN_ROWS / BATCH));
  const cloud = new SimCloud({ url: broker.url, tls: { ...(await pki.client(CLOUD_IDENTITY)), ca: pki.ca.cert }, protocolVersion: 5, hubs: new Map([[id, key]]), keepEvents: false, clientId: 'bench-cloud' });
  await cloud.start();

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
    hubEncodePerSec,
    cloudIngestPerSec,
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
  console.log(`append   raw ${round(a.normal.raw, 0)}/s  audit ${round(a.normal.audit, 0)}/s  ratio ${round(a.normal.audit / a.normal.raw, 2)}  (1/tx as the modules append, NORMAL, body ${round(a.rowBytes, 0)} B vs raw ${a.sampleBodyBytes} B)`);
  console.log(`         CPU per op: raw ${round(a.normal.rawCpuUs, 1)} µs, audit ${round(a.normal.auditCpuUs, 1)} µs (ratio ${round(a.normal.rawCpuUs / a.normal.auditCpuUs, 2)})`);
  console.log(`security raw ${round(a.full.raw, 0)}/s  audit ${round(a.full.audit, 0)}/s  ratio ${round(a.full.audit / a.full.raw, 2)}  (1/tx, synchronous FULL)`);
  console.log(`bulk     raw ${round(a.rawBulkPerSec, 0)}/s  audit ${round(a.auditBulkPerSec, 0)}/s  ratio ${round(a.auditBulkPerSec / a.rawBulkPerSec, 2)}  (appendMany, ${TX_ROWS}/tx, NORMAL; no module appends this way)`);
  if (process.env['APPEND_ONLY'] !== undefined) {
    console.log(JSON.stringify({ bench: 'audit', appendRatio: round(a.normal.audit / a.normal.raw, 2), appendCpuRatio: round(a.normal.rawCpuUs / a.normal.auditCpuUs, 2), securityAppendRatio: round(a.full.audit / a.full.raw, 2), bulkAppendRatio: round(a.auditBulkPerSec / a.rawBulkPerSec, 2) }));
    dir.cleanup();
    process.exit(0);
  }
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
  console.log(`ends     hub read+encode ${round(d.hubEncodePerSec, 0)} entries/s, sim cloud ingest ${round(d.cloudIngestPerSec, 0)} entries/s (in process, one core each: a drain's ceiling is the slower, ratio ${round(Math.min(d.hubEncodePerSec, d.cloudIngestPerSec) / d.rawPublishPerSec, 2)} of raw publish)`);
  console.log(`drain    ${DRAIN_ROWS} entries at ${round(d.drainPerSec, 0)}/s  ratio ${round(d.drainPerSec / d.rawPublishPerSec, 2)}  peak RSS ${round(d.drainRssMb)} MB (${round(d.readyRssMb)} MB when ready)  (${d.checkpointsVerified} checkpoints verified, ${d.duplicates} duplicates deduped)`);
  console.log(
    JSON.stringify({
      bench: 'audit',
      rawInsertPerSec: round(a.normal.raw, 0),
      auditAppendPerSec: round(a.normal.audit, 0),
      appendRatio: round(a.normal.audit / a.normal.raw, 2),
      rawCpuUsPerInsert: round(a.normal.rawCpuUs, 1),
      auditCpuUsPerAppend: round(a.normal.auditCpuUs, 1),
      appendCpuRatio: round(a.normal.rawCpuUs / a.normal.auditCpuUs, 2),
      rawSecurityInsertPerSec: round(a.full.raw, 0),
      auditSecurityAppendPerSec: round(a.full.audit, 0),
      securityAppendRatio: round(a.full.audit / a.full.raw, 2),
      bulkAppendRatio: round(a.auditBulkPerSec / a.rawBulkPerSec, 2),
      rawPublishPerSec: round(d.rawPublishPerSec, 0),
      hubEncodePerSec: round(d.hubEncodePerSec, 0),
      cloudIngestPerSec: round(d.cloudIngestPerSec, 0),
      ceilingRatio: round(Math.min(d.hubEncodePerSec, d.cloudIngestPerSec) / d.rawPublishPerSec, 2),
      drainPerSec: round(d.drainPerSec, 0),
      drainRatio: round(d.drainPerSec / d.rawPublishPerSec, 2),
      drainRssMb: round(d.drainRssMb),
      drainEvents: DRAIN_ROWS,
    }),
  );
} finally {
  dir.cleanup();
}
