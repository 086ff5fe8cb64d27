/**
 * The second half of a visit: getting the door secured again, whatever it takes, and saying so.
 *
 * - The bolt is thrown only into a closed door (a lock without a door sensor: on the bolt alone,
 *   "door unknown"). A door still open when nothing is left to wait for is `door-left-open`: alarm,
 *   receipt, notification, and the relock the moment it closes.
 * - Confirmed means the lock's own report of the bolt locked (and the door not reading open). A lock
 *   that does not confirm (jam, timeout, battery) is `relock-failed`: alarm, receipt, notification,
 *   then retries with backoff, and any report of the bolt locked (a hand on the thumb-turn) ends it.
 *   It is never reported as locked.
 * - The receipt is signed in the transaction of the step that decided the outcome (locked, relock
 *   failed, door left open), naming that step's entry, and answers everyone waiting for it. Then
 *   the post-roll, the clips on record, the visit's end.
 */
import type { AuditEvent, VisitCause, VisitState } from '../../protocols/audit/events.js';
import type { ReceiptOutcome } from '../../protocols/grant/receipt.js';
import type { ClipMark } from '../camera/recorder.js';
import type { LockState } from '../lock/lock.js';
import type { VisitPatch } from '../store/visit-journal.js';
import { ErrorCode } from '../system/errors.js';
import { clipEntries, codeOf, detailOf, doorOpen, relockedBy, stopRecording, type DoorContext } from './context.js';
import { clipMark, signVisitReceipt } from './receipts.js';
import { refusal } from './requests.js';
import { writeStep, type Step } from './steps.js';
import type { Visit } from './visit.js';

export interface Ending {
  /** The state the visit ends in once secured. */
  state: Extract<VisitState, 'done' | 'camera-stalled' | 'left-outside' | 'aborted'>;
  reason?: ErrorCode;
  cause?: VisitCause;
  /** The relocking step was written already (the unlock failed: that step records why). */
  relockingWritten?: boolean;
}

/** Relocks until the lock confirms, then ends the visit. Returns early (door unsecured) only when the daemon stops. */
export async function secure(ctx: DoorContext, v: Visit, cause: VisitCause, ending: Ending): Promise<'secured' | 'stopped'> {
  let attempt = 0;
  let written = ending.relockingWritten === true;
  const by = relockedBy(cause);
  for (;;) {
    if (doorOpen(ctx)) {
      // Nothing left to wait for here (the entry time is over, or this is a retry or a recovery):
      // an open door now is a door left open.
      if (v.state !== 'door-left-open') await doorLeftOpen(ctx, v);
      if (!(await v.until(() => !doorOpen(ctx)))) return 'stopped';
      cause = 'door-closed';
      written = false;
    }
    if (!written) {
      const alarm: AuditEvent[] = cause === 'camera-stall' ? [{ type: 'alarm', body: { kind: 'camera-stalled', visitId: v.id } }] : [];
      enter(ctx, v, { state: 'relocking', cause, with: alarm });
    }
    written = false;
    v.sawLocked = false;
    let failure: unknown;
    try {
      await ctx.lock.lock();
    } catch (err) {
      failure = err;
    }
    if (failure === undefined) {
      if (doorOpen(ctx)) continue; // the bolt went out with the door (re)opened: not secured
      await decideIn(ctx, v, 'locked', { state: 'confirming', with: [{ type: 'bolt', body: { state: 'locked', by, ...grantOf(v), visitId: v.id } }] });
      break;
    }
    const code = codeOf(failure, ErrorCode.LOCK_NOT_CONFIRMED);
    ctx.log.error({ visitId: v.id, code, err: detailOf(failure), attempt }, 'relock failed: the door is not secured');
    await decideIn(ctx, v, 'relock-failed', {
      state: 'relock-failed',
      reason: code,
      with: [
        { type: 'bolt.failed', body: { wanted: 'locked', code, detail: detailOf(failure), visitId: v.id } },
        { type: 'alarm', body: { kind: 'relock-failed', visitId: v.id, code } },
      ],
    });
    ctx.notify({ kind: 'relock-failed', visitId: v.id, code, codeName: ErrorCode[code] ?? String(code) });
    const { firstMs, maxMs, attempts } = ctx.settings.relockRetry;
    const deadline = attempt < attempts ? ctx.clock.monotonic() + Math.min(maxMs, firstMs * 2 ** attempt) : undefined;
    const sawIt = await v.until(() => v.sawLocked, deadline);
    if (v.stopping) return 'stopped';
    if (sawIt && ctx.lock.state().bolt === 'locked' && !doorOpen(ctx)) {
      // The lock itself reports the bolt thrown (by hand, by keypad, or late): that is the confirmation.
      await decideIn(ctx, v, 'locked', { state: 'confirming', cause: 'lock-report' });
      break;
    }
    cause = 'retry';
    attempt += 1;
  }
  await finish(ctx, v, ending);
  return 'secured';
}

/** The door is open and nothing is left to wait for: alarm, receipt, the homeowner told. */
export async function doorLeftOpen(ctx: DoorContext, v: Visit): Promise<void> {
  ctx.log.warn({ visitId: v.id }, 'door left open: relocking the moment it closes');
  await decideIn(ctx, v, 'door-left-open', { state: 'door-left-open', with: [{ type: 'alarm', body: { kind: 'door-left-open', visitId: v.id } }] });
  ctx.notify({ kind: 'door-left-open', visitId: v.id });
}

function enter(ctx: DoorContext, v: Visit, step: Step): ReturnType<typeof writeStep> {
  const written = writeStep(ctx, v, step);
  v.state = step.state;
  return written;
}

/**
 * Writes a step that may decide the visit's outcome. The first outcome is the receipt's: signed
 * inside the step's transaction, naming its first entry (the bolt, the failed relock, the alarm)
 * or else the step's own; later ones only tell the homeowner that it is locked after all.
 */
async function decideIn(ctx: DoorContext, v: Visit, outcome: ReceiptOutcome, step: Step): Promise<void> {
  const decides = v.outcome === undefined && v.grant !== undefined && (v.openedAtMs !== undefined || v.recovering);
  if (!decides) {
    enter(ctx, v, step);
    if (outcome === 'locked' && v.outcome !== undefined) ctx.notify({ kind: 'locked-after-all', visitId: v.id, door: doorWord(ctx.lock.state()) });
    return;
  }
  const clip: ClipMark | undefined = await clipMark(v, ctx.log);
  const state = ctx.lock.state();
  // "Locked" is the lock's word just given (lock() resolved on its report, or the lock reported it).
  const lock: LockState = outcome === 'locked' ? { ...state, bolt: 'locked' } : state;
  let receipt: Uint8Array | undefined;
  const patchWith = (w: { seq: number; with: number[] }): VisitPatch => {
    receipt = signVisitReceipt(ctx.hubId, ctx.hubKey, v, { outcome, atMs: Math.floor(ctx.clock.now()), auditSeq: w.with[0] ?? w.seq, lock, clip });
    return { outcome, receipt };
  };
  enter(ctx, v, { ...step, patchWith });
  v.outcome = outcome;
  v.receipt = receipt;
  v.settleWaiters(v.decidedAnswer());
  if (receipt !== undefined) ctx.publishReceipt(receipt);
}

/** Post-roll (while a recording runs), the clips on record, the end step. */
async function finish(ctx: DoorContext, v: Visit, ending: Ending): Promise<void> {
  let clips: AuditEvent[] = [];
  if (v.recording !== undefined) {
    enter(ctx, v, { state: 'post-roll' });
    await v.pause(ctx.settings.postRollMs);
    clips = await stopRecording(ctx, v);
  } else if (v.recovering) {
    // The clip a crash cut short, recovered at boot (ClipStore.recover): on record as it is.
    clips = clipEntries(v, ctx.clips?.byVisit(v.id) ?? []);
  }
  enter(ctx, v, { state: ending.state, ...(ending.reason === undefined ? {} : { reason: ending.reason }), ...(ending.cause === undefined ? {} : { cause: ending.cause }), with: clips, close: true });
  const door = doorWord(ctx.lock.state());
  if (ending.state === 'done') ctx.notify({ kind: 'delivered', visitId: v.id, door, ...(v.clipId === undefined ? {} : { clipId: v.clipId }) });
  if (ending.state === 'camera-stalled') ctx.notify({ kind: 'camera-stalled', visitId: v.id });
  if (ending.state === 'left-outside' && ending.reason !== undefined) ctx.notify({ kind: 'left-outside', visitId: v.id, code: ending.reason, codeName: ErrorCode[ending.reason] ?? '' });
  if (ending.state === 'aborted' && ending.cause === 'boot-recovery') ctx.notify({ kind: 'recovered-after-crash', visitId: v.id, door });
  // No outcome (the door never opened): whoever waits for a receipt hears why.
  v.settleWaiters(v.outcome !== undefined ? v.decidedAnswer() : refusal(ending.reason ?? ErrorCode.VISIT_UNKNOWN, `the visit ended ${ending.state} without an entry`, v.id));
}

function doorWord(state: LockState): 'closed' | 'unknown' {
  return state.door === 'closed' ? 'closed' : 'unknown';
}

function grantOf(v: Visit): { grantId?: string } {
  return v.grantIdHex === undefined ? {} : { grantId: v.grantIdHex };
}
