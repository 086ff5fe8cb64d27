import type { Store } from './store.js';

/** The hub's identity and each daemon run, for `keyhub status` and for spotting unclean exits. */
export interface DaemonRun {
  id: number;
  pid: number;
  version: string;
  startedAtMs: number;
  readyAtMs: number | null;
  stoppedAtMs: number | null;
  outcome: string | null;
}

export function hubId(store: Store): string {
  const row = store.db.prepare('SELECT value FROM meta WHERE key = ?').get('hub_id') as { value: string } | undefined;
  if (row === undefined) throw new Error(`database ${store.path} has no hub_id: schema is incomplete`);
  return row.value;
}

export function recordRunStart(store: Store, run: { pid: number; version: string; startedAtMs: number }): number {
  return store.write('normal', (db) =>
    Number(
      db.prepare('INSERT INTO daemon_runs (pid, version, started_at_ms) VALUES (?, ?, ?)').run(run.pid, run.version, run.startedAtMs)
        .lastInsertRowid,
    ),
  );
}

export function recordRunReady(store: Store, runId: number, atMs: number): void {
  store.write('normal', (db) => db.prepare('UPDATE daemon_runs SET ready_at_ms = ? WHERE id = ?').run(atMs, runId));
}

export function recordRunStop(store: Store, runId: number, atMs: number, outcome: string): void {
  store.write('full', (db) => db.prepare('UPDATE daemon_runs SET stopped_at_ms = ?, outcome = ? WHERE id = ?').run(atMs, outcome, runId));
}

export function lastRun(store: Store): DaemonRun | undefined {
  const row = store.db
    .prepare(
      `SELECT id, pid, version, started_at_ms AS startedAtMs, ready_at_ms AS readyAtMs,
              stopped_at_ms AS stoppedAtMs, outcome
         FROM daemon_runs ORDER BY id DESC LIMIT 1`,
    )
    .get() as DaemonRun | undefined;
  return row;
}

/** Runs that started but never recorded a stop: crashes, kill -9, power cuts. */
export function uncleanRuns(store: Store, beforeId: number): number {
  const row = store.db.prepare('SELECT count(*) AS n FROM daemon_runs WHERE stopped_at_ms IS NULL AND id < ?').get(beforeId) as { n: number };
  return row.n;
}
