/**
 * The visit journal (migration 0007): what each visit of the lock did, step by step, durable. The
 * visit (hub/delivery) writes a step in the same synchronous=FULL transaction as the step's `visit`
 * audit entry and records that entry's seq here, so after any crash the journal says exactly what
 * the chain says. Boot-time recovery reads the visits still holding the lock from here.
 *
 * One visit holds a lock at a time: a unique index over the visits still holding it makes a second
 * one impossible, whichever process or connection tries.
 */
import type { Statement } from 'better-sqlite3';
import type { VisitCause, VisitState } from '../../protocols/audit/events.js';
import type { ReceiptOutcome } from '../../protocols/grant/receipt.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Store } from './store.js';

export type VisitTransport = 'ble' | 'cloud';

export interface VisitRecord {
  visitId: string;
  lockId: string;
  transport: VisitTransport;
  requestedAtMs: number;
  grantId: Uint8Array | undefined;
  grantKind: string | undefined;
  subject: string | undefined;
  maxEntryMs: number | undefined;
  clipId: string | undefined;
  openedAtMs: number | undefined;
  state: VisitState;
  outcome: ReceiptOutcome | undefined;
  receipt: Uint8Array | undefined;
  holdsLock: boolean;
  closedAtMs: number | undefined;
}

export interface VisitStep {
  step: number;
  state: VisitState;
  atMs: number;
  auditSeq: number;
  reason: number | undefined;
  cause: VisitCause | undefined;
}

/** What a step may set on its visit besides the state (each at most once in practice). */
export interface VisitPatch {
  grantId?: Uint8Array;
  grantKind?: string;
  subject?: string;
  maxEntryMs?: number;
  clipId?: string;
  openedAtMs?: number;
  outcome?: ReceiptOutcome;
  receipt?: Uint8Array;
}

export interface VisitJournal {
  /**
   * Opens a visit at its first step's state. With `holdsLock` it claims the lock; throws
   * VISIT_JOURNAL_WRITE_FAILED naming the holder when another visit holds it.
   */
  open(v: { visitId: string; lockId: string; transport: VisitTransport; requestedAtMs: number; holdsLock: boolean }): void;
  /** Appends a step; `close` ends the visit (it lets go of the lock). Returns the step number. */
  step(visitId: string, s: { state: VisitState; atMs: number; auditSeq: number; reason?: number; cause?: VisitCause }, patch?: VisitPatch, close?: boolean): number;
  get(visitId: string): VisitRecord | undefined;
  steps(visitId: string): VisitStep[];
  /** Visits still holding a lock, oldest first (at boot: the ones a crash left open). */
  holding(): VisitRecord[];
  /** The newest visits first, at most `limit`. */
  recent(limit: number): VisitRecord[];
}

interface Row {
  visit_id: string;
  lock_id: string;
  transport: VisitTransport;
  requested_at_ms: number;
  grant_id: Buffer | null;
  grant_kind: string | null;
  subject: string | null;
  max_entry_ms: number | null;
  clip_id: string | null;
  opened_at_ms: number | null;
  state: VisitState;
  outcome: ReceiptOutcome | null;
  receipt: Buffer | null;
  holds_lock: number;
  closed_at_ms: number | null;
}

const toRecord = (r: Row): VisitRecord => ({
  visitId: r.visit_id,
  lockId: r.lock_id,
  transport: r.transport,
  requestedAtMs: r.requested_at_ms,
  grantId: r.grant_id === null ? undefined : new Uint8Array(r.grant_id),
  grantKind: r.grant_kind ?? undefined,
  subject: r.subject ?? undefined,
  maxEntryMs: r.max_entry_ms ?? undefined,
  clipId: r.clip_id ?? undefined,
  openedAtMs: r.opened_at_ms ?? undefined,
  state: r.state,
  outcome: r.outcome ?? undefined,
  receipt: r.receipt === null ? undefined : new Uint8Array(r.receipt),
  holdsLock: r.holds_lock === 1,
  closedAtMs: r.closed_at_ms ?? undefined,
});

const PATCH_COLUMNS: Record<keyof VisitPatch, string> = {
  grantId: 'grant_id',
  grantKind: 'grant_kind',
  subject: 'subject',
  maxEntryMs: 'max_entry_ms',
  clipId: 'clip_id',
  openedAtMs: 'opened_at_ms',
  outcome: 'outcome',
  receipt: 'receipt',
};

export function visitJournal(store: Store): VisitJournal {
  const db = store.db;
  const insertVisit = db.prepare('INSERT INTO visits (visit_id, lock_id, transport, requested_at_ms, state, holds_lock) VALUES (?, ?, ?, ?, ?, ?)');
  const holder = db.prepare('SELECT visit_id FROM visits WHERE lock_id = ? AND holds_lock = 1').pluck();
  const lastStep = db.prepare('SELECT coalesce(max(step), 0) FROM visit_steps WHERE visit_id = ?').pluck() as Statement<unknown[], number>;
  const insertStep = db.prepare('INSERT INTO visit_steps (visit_id, step, state, at_ms, audit_seq, reason, cause) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const setState = db.prepare('UPDATE visits SET state = ? WHERE visit_id = ?');
  const close = db.prepare('UPDATE visits SET holds_lock = 0, closed_at_ms = ? WHERE visit_id = ? AND holds_lock = 1');
  const get = db.prepare('SELECT * FROM visits WHERE visit_id = ?');
  const steps = db.prepare('SELECT step, state, at_ms AS atMs, audit_seq AS auditSeq, reason, cause FROM visit_steps WHERE visit_id = ? ORDER BY step');
  const holding = db.prepare('SELECT * FROM visits WHERE holds_lock = 1 ORDER BY requested_at_ms, visit_id');
  const recent = db.prepare('SELECT * FROM visits ORDER BY requested_at_ms DESC, visit_id DESC LIMIT ?');
  const patches = new Map<string, Statement>();
  const patchStatement = (keys: readonly (keyof VisitPatch)[]): Statement => {
    const sql = `UPDATE visits SET ${keys.map((k) => `${PATCH_COLUMNS[k]} = ?`).join(', ')} WHERE visit_id = ?`;
    let stmt = patches.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      patches.set(sql, stmt);
    }
    return stmt;
  };
  const fail = (what: string, err: unknown): HubError =>
    err instanceof HubError ? err : new HubError(ErrorCode.VISIT_JOURNAL_WRITE_FAILED, `visit journal: ${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });

  return {
    open(v) {
      try {
        store.write('full', () => {
          if (v.holdsLock) {
            const other = holder.get(v.lockId) as string | undefined;
            if (other !== undefined) throw new HubError(ErrorCode.VISIT_JOURNAL_WRITE_FAILED, `visit journal: lock ${v.lockId} is held by visit ${other}`);
          }
          insertVisit.run(v.visitId, v.lockId, v.transport, Math.floor(v.requestedAtMs), 'requested', v.holdsLock ? 1 : 0);
        });
      } catch (err) {
        throw fail(`opening visit ${v.visitId}`, err);
      }
    },
    step(visitId, s, patch = {}, closeIt = false) {
      try {
        return store.write('full', () => {
          const n = (lastStep.get(visitId) ?? 0) + 1;
          insertStep.run(visitId, n, s.state, Math.floor(s.atMs), s.auditSeq, s.reason ?? null, s.cause ?? null);
          setState.run(s.state, visitId);
          const keys = (Object.keys(patch) as (keyof VisitPatch)[]).filter((k) => patch[k] !== undefined);
          if (keys.length > 0) patchStatement(keys).run(...keys.map((k) => patch[k]), visitId);
          if (closeIt) close.run(Math.floor(s.atMs), visitId);
          return n;
        });
      } catch (err) {
        throw fail(`step ${s.state} of visit ${visitId}`, err);
      }
    },
    get(visitId) {
      const row = get.get(visitId) as Row | undefined;
      return row === undefined ? undefined : toRecord(row);
    },
    steps: (visitId) =>
      (steps.all(visitId) as Array<{ step: number; state: VisitState; atMs: number; auditSeq: number; reason: number | null; cause: VisitCause | null }>).map((r) => ({
        ...r,
        reason: r.reason ?? undefined,
        cause: r.cause ?? undefined,
      })),
    holding: () => (holding.all() as Row[]).map(toRecord),
    recent: (limit) => (recent.all(limit) as Row[]).map(toRecord),
  };
}
