/**
 * One step of a visit, written once: the journal row and its `visit` audit entry (with whatever
 * else the step records — the decision, the bolt, an alarm, a clip) in ONE synchronous=FULL
 * transaction, as the downlink writes a command's outcome and its claim. Either all of it is on
 * disk or none of it: after a power cut the journal and the chain say the same thing, and the
 * step's row carries the seq of its entry so anyone can check.
 *
 * A write that fails throws (VISIT_JOURNAL_WRITE_FAILED or AUDIT_WRITE_FAILED): the step did not
 * happen, and the caller lets it surface (the daemon stops; boot-time recovery relocks).
 */
import type { AuditEvent, VisitCause, VisitState } from '../../protocols/audit/events.js';
import type { ChainedRecord } from '../../protocols/audit/chain.js';
import type { Store } from '../store/store.js';
import type { VisitJournal, VisitPatch, VisitTransport } from '../store/visit-journal.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode } from '../system/errors.js';

export interface AuditAppender {
  append(event: AuditEvent): ChainedRecord;
}

export interface StepStores {
  store: Store;
  audit: AuditAppender;
  journal: VisitJournal;
  clock: Clock;
}

export interface Step {
  state: VisitState;
  reason?: ErrorCode;
  cause?: VisitCause;
  /** Entries the step records besides its own `visit` entry, written before it, in order. */
  with?: readonly AuditEvent[];
  patch?: VisitPatch;
  /** The visit ends here and lets go of the lock. */
  close?: boolean;
  /**
   * More to set on the visit that depends on the seqs just written (the receipt names the entry of
   * the relock): computed inside the transaction, so it commits with the step or not at all.
   */
  patchWith?: (written: { seq: number; with: number[] }) => VisitPatch;
}

/** What a written step left on record: its own entry's seq and the seqs of its `with` entries. */
export interface Written {
  seq: number;
  with: number[];
  atMs: number;
}

export interface VisitIdentity {
  readonly id: string;
  readonly lockId: string;
  readonly transport: VisitTransport;
  grantIdHex?: string;
}

export function writeStep(s: StepStores, visit: VisitIdentity, step: Step): Written {
  const atMs = Math.floor(s.clock.now());
  return s.store.write('full', () => {
    const withSeqs = (step.with ?? []).map((event) => s.audit.append(event).seq);
    const own = s.audit.append({ type: 'visit', body: visitBody(visit, step) });
    const patch = step.patchWith === undefined ? step.patch : { ...step.patch, ...step.patchWith({ seq: own.seq, with: withSeqs }) };
    s.journal.step(visit.id, { state: step.state, atMs, auditSeq: own.seq, reason: step.reason, cause: step.cause }, patch, step.close === true);
    return { seq: own.seq, with: withSeqs, atMs };
  });
}

/** Opens a visit and writes its first steps (and whatever decides it) in one transaction. */
export function openVisit<T>(s: StepStores, visit: VisitIdentity, requestedAtMs: number, then: () => T): T {
  return s.store.write('full', () => {
    s.journal.open({ visitId: visit.id, lockId: visit.lockId, transport: visit.transport, requestedAtMs, holdsLock: true });
    writeStep(s, visit, { state: 'requested' });
    return then();
  });
}

function visitBody(visit: VisitIdentity, step: Step): Extract<AuditEvent, { type: 'visit' }>['body'] {
  const first = step.state === 'requested';
  return {
    visitId: visit.id,
    state: step.state,
    ...(step.reason === undefined ? {} : { reason: step.reason, reasonName: (ErrorCode[step.reason] ?? '').slice(0, 64) }),
    ...(step.cause === undefined ? {} : { cause: step.cause }),
    // Who and where once, at the first step and when the grant is known; the journal has the rest.
    ...(first ? { lockId: visit.lockId.slice(0, 64), transport: visit.transport } : {}),
    ...(step.patch?.grantId !== undefined && visit.grantIdHex !== undefined ? { grantId: visit.grantIdHex } : {}),
  };
}
