/**
 * The executed-command set (migration 0005): a cloud command runs at most once per id, across
 * redeliveries (MQTT QoS 1 is at least once), replays and restarts. The id is claimed in one
 * committed transaction (synchronous=FULL) after the command verified and before the hub acts on it
 * — the same order as a grant use (DESIGN.md, "Trust and tokens": Replay) — so a crash after the
 * claim leaves the command not run rather than run twice.
 */
import type { Store } from './store.js';

export type CommandOutcome = 'accepted' | 'refused';

export interface CommandRecord {
  outcome: CommandOutcome | undefined;
  reason: number | undefined;
  receivedAtMs: number;
}

export interface CommandLog {
  /** Claims `id` durably; false when it was claimed before (a duplicate: do not run it). */
  claim(c: { id: Uint8Array; kid: string; action: string; notAfter: number; now: number }): boolean;
  /** Records how the claimed command ended. */
  finish(id: Uint8Array, outcome: CommandOutcome, reason?: number): void;
  get(id: Uint8Array): CommandRecord | undefined;
  /** Claimed commands with no outcome: the hub stopped while running them. */
  unfinished(): { id: Uint8Array; action: string }[];
  /**
   * Forgets ids whose window closed before `safeMs` (the clock floor minus the skew: a replay of
   * them can only be refused as expired from then on); returns how many went.
   */
  prune(safeMs: number): number;
}

export function commandLog(store: Store): CommandLog {
  const db = store.db;
  const insert = db.prepare(
    'INSERT OR IGNORE INTO executed_commands (command_id, kid, action, not_after_ms, received_at_ms) VALUES (?, ?, ?, ?, ?)',
  );
  const finish = db.prepare('UPDATE executed_commands SET outcome = ?, reason = ? WHERE command_id = ?');
  const get = db.prepare('SELECT outcome, reason, received_at_ms AS receivedAtMs FROM executed_commands WHERE command_id = ?');
  const unfinished = db.prepare('SELECT command_id AS id, action FROM executed_commands WHERE outcome IS NULL ORDER BY received_at_ms');
  const prune = db.prepare('DELETE FROM executed_commands WHERE not_after_ms < ?');
  return {
    claim: (c) => store.write('full', () => insert.run(c.id, c.kid, c.action, c.notAfter, Math.floor(c.now)).changes === 1),
    finish(id, outcome, reason) {
      store.write('full', () => finish.run(outcome, reason ?? null, id));
    },
    get(id) {
      const row = get.get(id) as { outcome: CommandOutcome | null; reason: number | null; receivedAtMs: number } | undefined;
      return row === undefined ? undefined : { outcome: row.outcome ?? undefined, reason: row.reason ?? undefined, receivedAtMs: row.receivedAtMs };
    },
    unfinished: () => (unfinished.all() as { id: Buffer; action: string }[]).map((r) => ({ id: new Uint8Array(r.id), action: r.action })),
    prune: (safeMs) => store.write('normal', () => prune.run(safeMs).changes),
  };
}
