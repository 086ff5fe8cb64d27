import BetterSqlite3 from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { canonicalEncode } from '../../protocols/audit/canonical.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn, openAuditStore } from '../../test/support/audit-store.js';
import { tempDir } from '../../test/support/temp-dir.js';
const N = Number(process.env.N ?? 100000);
const clip = (i: number): AuditEvent => ({ type: 'clip', body: { clipId: `clip-${String(i % 1_000_000).padStart(6, '0')}`, state: 'finished', visitId: 'cd'.repeat(8) } });
const dir = tempDir('prof8-');
const raw = new BetterSqlite3(join(dir.path, 'raw.db'));
raw.pragma('journal_mode = WAL'); raw.pragma('synchronous = NORMAL');
raw.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, wall_ms INTEGER NOT NULL, mono_ms INTEGER NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL) STRICT');
const ins = raw.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)');
const hashes = Array.from({ length: 1024 }, () => randomBytes(32));
const body = canonicalEncode(clip(1).body);
let seq = 0;
const tx = raw.transaction((n: number) => { for (let i = 0; i < n; i++) { seq++; ins.run(seq, 1e12 + seq, seq, 'clip', body, hashes[(seq - 1) % 1024], hashes[seq % 1024]); } });
const store = await openAuditStore(dir.path, 'audit.db');
const audit = auditLogOn(store, new FakeClock(), 100);
let rawNs = 0n, audNs = 0n; let a = 0;
for (let r = 0; r < 5; r++) {
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N / 5; i += 100) tx.immediate(100);
  rawNs += process.hrtime.bigint() - t0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N / 5; i += 100) { audit.appendMany(Array.from({ length: 100 }, (_, j) => clip(a + j))); a += 100; }
  audNs += process.hrtime.bigint() - t0;
}
console.log('raw/s', Math.round(N / (Number(rawNs) / 1e9)), 'audit/s', Math.round(N / (Number(audNs) / 1e9)), 'ratio', (Number(rawNs) / Number(audNs)).toFixed(2));
store.close(); raw.close(); dir.cleanup();
