import type { Store } from './store.js';

/** Where the audit log stands, for `keyhub status`: an installer sees what the cloud still lacks. */
export interface AuditSummary {
  /** The last seq written (0 when nothing was). */
  headSeq: number;
  /** Every entry up to here is stored by the cloud (its cumulative ack). */
  ackedThrough: number;
  /** Entries written and not yet acknowledged by the cloud: what the outbox still has to send. */
  backlog: number;
  /** Entries up to here were removed by retention (a signed checkpoint anchors the cut). */
  prunedThrough: number;
  /** The newest signed checkpoint's seq, or null before the first. */
  lastCheckpointSeq: number | null;
}

/** Read-only: safe beside a running daemon (WAL readers never block its writes). */
export function auditSummary(store: Store): AuditSummary {
  const db = store.db;
  const state = db.prepare('SELECT acked_through AS a, pruned_through AS p FROM audit_state WHERE id = 1').get() as { a: number; p: number };
  const head = db.prepare('SELECT max(seq) AS s FROM audit_events').get() as { s: number | null };
  const checkpoint = db.prepare('SELECT max(seq) AS s FROM audit_checkpoints').get() as { s: number | null };
  // After a full prune the table is empty and the head is the cut.
  const headSeq = head.s ?? state.p;
  return { headSeq, ackedThrough: state.a, backlog: headSeq - state.a, prunedThrough: state.p, lastCheckpointSeq: checkpoint.s };
}
