/**
 * Visits a stop or a crash left unsecured.
 *
 * At boot, before the hub takes any request (nothing else can unlock meanwhile: every request is
 * refused while a recovered visit holds the lock), each visit the journal still shows holding the
 * lock is finished: if its unlock may have been sent (unlocking … door-left-open, relock-failed),
 * the door is relocked first — closed: lock; open: the door-left-open alarm, lock on close — and
 * then it is closed as `aborted` (boot-recovery), audited and the homeowner told. Its clip, cut
 * short, was recovered by the clip store (trimmed to its last whole fragment) and is kept.
 *
 * At a stop, an open visit whose door is closed is relocked once on the way down (and closed as
 * aborted, shutdown); one that cannot be is left for the next boot.
 */
import type { VisitRecord } from '../store/visit-journal.js';
import { ErrorCode } from '../system/errors.js';
import { clipEntries, codeOf, detailOf, doorOpen, stopRecording, type DoorContext } from './context.js';
import { doorLeftOpen, secure } from './securing.js';
import { writeStep } from './steps.js';
import { Visit } from './visit.js';
import type { VisitEnd } from './visit-flow.js';

/** States in which the unlock command was never sent: nothing to relock. */
const BEFORE_UNLOCK: ReadonlySet<string> = new Set(['requested', 'verifying', 'camera-arming']);

export function recoveredVisit(record: VisitRecord, clock: DoorContext['clock']): Visit {
  const v = new Visit({ id: record.visitId, lockId: record.lockId, transport: record.transport, recovering: true }, clock);
  v.state = record.state;
  if (record.grantId !== undefined) {
    v.grant = { id: record.grantId, kind: record.grantKind ?? 'delivery', subject: record.subject ?? '', maxEntryMs: record.maxEntryMs ?? 0 };
    v.grantIdHex = Buffer.from(record.grantId).toString('hex');
  }
  v.openedAtMs = record.openedAtMs;
  v.clipId = record.clipId;
  v.outcome = record.outcome;
  v.receipt = record.receipt;
  return v;
}

export async function recoverVisit(ctx: DoorContext, v: Visit): Promise<VisitEnd> {
  ctx.log.warn({ visitId: v.id, state: v.state }, 'a visit was left open by a crash: securing the door before anything else');
  if (BEFORE_UNLOCK.has(v.state) || v.state === 'post-roll') {
    // Never unlocked, or already relocked and confirmed: only the record to close.
    writeStep(ctx, v, { state: 'aborted', cause: 'boot-recovery', with: clipEntries(v, ctx.clips?.byVisit(v.id) ?? []), close: true });
    v.state = 'aborted';
    ctx.notify({ kind: 'recovered-after-crash', visitId: v.id, door: ctx.lock.state().door });
    return 'secured';
  }
  // The door standing open at boot is alarmed now, whatever was said before the crash.
  if (doorOpen(ctx)) await doorLeftOpen(ctx, v);
  return secure(ctx, v, 'boot-recovery', { state: 'aborted', cause: 'boot-recovery' });
}

/** The daemon is stopping with `v` not secured: one relock if the door is closed, else the next boot does it. */
export async function relockOnShutdown(ctx: DoorContext, v: Visit): Promise<void> {
  if (BEFORE_UNLOCK.has(v.state) || v.state === 'post-roll' || doorOpen(ctx)) {
    const clips = await stopRecording(ctx, v);
    if (clips.length > 0) ctx.store.write('normal', () => clips.forEach((e) => ctx.audit.append(e)));
    return;
  }
  writeStep(ctx, v, { state: 'relocking', cause: 'shutdown' });
  v.state = 'relocking';
  try {
    await ctx.lock.lock();
  } catch (err) {
    const code = codeOf(err, ErrorCode.LOCK_NOT_CONFIRMED);
    writeStep(ctx, v, { state: 'relock-failed', reason: code, with: [{ type: 'bolt.failed', body: { wanted: 'locked', code, detail: detailOf(err), visitId: v.id } }] });
    v.state = 'relock-failed';
    const clips = await stopRecording(ctx, v);
    if (clips.length > 0) ctx.store.write('normal', () => clips.forEach((e) => ctx.audit.append(e)));
    return;
  }
  writeStep(ctx, v, { state: 'confirming', with: [{ type: 'bolt', body: { state: 'locked', by: 'shutdown', ...(v.grantIdHex === undefined ? {} : { grantId: v.grantIdHex }), visitId: v.id } }] });
  const clips = await stopRecording(ctx, v);
  writeStep(ctx, v, { state: 'aborted', cause: 'shutdown', with: clips, close: true });
  v.state = 'aborted';
}
