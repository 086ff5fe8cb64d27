/**
 * The first half of an admitted visit (its grant use and challenge already consumed, the decision
 * on record, the state camera-arming): camera first, then the door.
 *
 * The order is the safety argument (DESIGN.md, steps 3–5):
 * 1. the grant use and the challenge were consumed (authorize, committed) before anything here;
 * 2. the recorder is writing, pre-roll included, before the unlock command is sent — no healthy
 *    camera, no entry: the courier is told to leave the parcel outside and the door stays shut;
 * 3. "unlocked" is the lock's own report (Lock.unlock() resolves on it), never the command sent.
 * Then the door is open: the entry time runs on the Clock, the courier may ask to relock, a camera
 * stall relocks at once, and the bolt goes out only into a closed door (securing.ts).
 */
import { ErrorCode } from '../system/errors.js';
import { codeOf, detailOf, doorOpen, needsCamera, stopRecording, type DoorContext } from './context.js';
import type { PresentAnswer } from './requests.js';
import { refusal } from './requests.js';
import { secure } from './securing.js';
import { writeStep } from './steps.js';
import type { Visit } from './visit.js';

export type VisitEnd = 'secured' | 'stopped';

export async function runVisit(ctx: DoorContext, v: Visit, answer: (a: PresentAnswer) => void): Promise<VisitEnd> {
  const grant = v.grant;
  if (grant === undefined) throw new Error(`visit ${v.id} was admitted without a grant`);

  // 2. Camera first.
  if (ctx.recorder !== undefined && (needsCamera(grant.kind) || ctx.cameraHealthy())) {
    try {
      v.recording = await ctx.recorder.start(v.id);
      v.clipId = v.recording.id;
    } catch (err) {
      if (needsCamera(grant.kind)) return leaveOutside(ctx, v, answer, codeOf(err, ErrorCode.CAMERA_RECORDING_FAILED), `the door camera is not recording: ${detailOf(err)}`);
      ctx.log.warn({ visitId: v.id, err: detailOf(err) }, 'no clip for this visit: the camera is not recording');
    }
  } else if (needsCamera(grant.kind)) {
    return leaveOutside(ctx, v, answer, ErrorCode.CAMERA_UNHEALTHY, 'this hub has no door camera: no camera, no entry');
  }
  if (v.stalled) return leaveOutside(ctx, v, answer, ErrorCode.CAMERA_STALL, 'the door camera stalled before the door opened');
  if (v.stopping) return leaveOutside(ctx, v, answer, ErrorCode.VISITS_NOT_TAKEN, 'the hub is stopping');
  writeStep(ctx, v, {
    state: 'unlocking',
    ...(v.clipId === undefined ? {} : { with: [{ type: 'clip', body: { clipId: v.clipId, state: 'started', visitId: v.id } }], patch: { clipId: v.clipId } }),
  });
  v.state = 'unlocking';

  // 3. The lock's own word.
  try {
    await ctx.lock.unlock();
  } catch (err) {
    // The bolt may have moved anyway (a timeout): make sure it is thrown, then the courier is told.
    const code = codeOf(err, ErrorCode.LOCK_NOT_CONFIRMED);
    writeStep(ctx, v, { state: 'relocking', cause: 'unlock-failed', reason: code, with: [{ type: 'bolt.failed', body: { wanted: 'unlocked', code, detail: detailOf(err), visitId: v.id } }] });
    v.state = 'relocking';
    answer(refusal(code, `the lock did not open: ${detailOf(err)}`, v.id));
    return secure(ctx, v, 'unlock-failed', { state: 'left-outside', reason: code, relockingWritten: true });
  }
  const openedAtMs = Math.floor(ctx.clock.now());
  v.openedAtMs = openedAtMs;
  writeStep(ctx, v, {
    state: 'open',
    with: [{ type: 'bolt', body: { state: 'unlocked', by: 'grant', ...(v.grantIdHex === undefined ? {} : { grantId: v.grantIdHex }), visitId: v.id } }],
    patch: { openedAtMs },
  });
  v.state = 'open';
  answer({ ok: true, visitId: v.id, relockAtMs: openedAtMs + grant.maxEntryMs });

  // The door is open: until the courier asks to relock, the camera stalls, or the entry time ends.
  const deadline = ctx.clock.monotonic() + grant.maxEntryMs;
  await v.until(() => v.relockAsked || v.stalled, deadline);
  if (v.stopping) return 'stopped';
  const cause = v.stalled ? 'camera-stall' : v.relockAsked ? 'courier' : 'entry-timer';
  // Asked early with the door still open: wait for it to close, as long as the entry time lasts.
  if (cause !== 'entry-timer' && doorOpen(ctx)) await v.until(() => !doorOpen(ctx), deadline);
  if (v.stopping) return 'stopped';
  return secure(ctx, v, cause, { state: v.stalled ? 'camera-stalled' : 'done', ...(v.stalled ? { reason: ErrorCode.CAMERA_STALL } : {}) });
}

/** The door never opened: the courier leaves the parcel outside; the visit ends and lets go of the lock. */
async function leaveOutside(ctx: DoorContext, v: Visit, answer: (a: PresentAnswer) => void, code: ErrorCode, why: string): Promise<VisitEnd> {
  answer(refusal(code, why, v.id));
  const clips = await stopRecording(ctx, v);
  writeStep(ctx, v, { state: 'left-outside', reason: code, with: clips, close: true });
  v.state = 'left-outside';
  ctx.notify({ kind: 'left-outside', visitId: v.id, code, codeName: ErrorCode[code] ?? String(code) });
  v.settleWaiters(refusal(code, why, v.id));
  return 'secured';
}
