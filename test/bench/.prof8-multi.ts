import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir } from '../support/temp-dir.js';
const N = 200000; const dir = tempDir('p8m-');
const body = randomBytes(60); const h = randomBytes(32);
for (const K of [1, 8, 16, 25, 50, 100]) {
  const raw = new BetterSqlite3(join(dir.path, `r${K}.db`));
  raw.pragma('journal_mode = WAL'); raw.pragma('synchronous = NORMAL');
  raw.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, wall_ms INTEGER NOT NULL, mono_ms INTEGER NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL) STRICT');
  const ins = raw.prepare('INSERT INTO t VALUES ' + Array(K).fill('(?, ?, ?, ?, ?, ?, ?)').join(','));
  const params: unknown[] = new Array(K * 7);
  let seq = 0;
  const tx = raw.transaction(() => { for (let c = 0; c < 100 / K; c++) { for (let j = 0; j < K; j++) { seq++; const o = j * 7; params[o] = seq; params[o+1] = 1.7e12 + seq; params[o+2] = seq; params[o+3] = 'clip'; params[o+4] = body; params[o+5] = h; params[o+6] = h; } ins.run(params); } });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += 100) tx.immediate();
  console.log(K, Math.round(N / (Number(process.hrtime.bigint() - t0) / 1e9)), '/s');
  raw.close();
}
dir.cleanup();
