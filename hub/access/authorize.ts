/**
 * authorize(): decide, then consume. The grant use and the challenge are recorded in one committed
 * transaction (synchronous=FULL) *before* Allow is returned, so the lock is only ever told to open
 * after the use is on disk (DESIGN.md, "Trust and tokens": Replay). If another presentation of the
 * same grant or challenge committed first — another connection, another process — the transaction
 * sees it and this one is refused: exactly one wins.
 *
 * A failure of the store throws: it is never turned into a refusal or logged away, because an
 * unlock whose use could not be recorded must not happen and someone must hear why.
 */
import type { ClockFloor } from '../store/clock-floor.js';
import type { ReplayStore } from '../store/replay-store.js';
import { ErrorCode } from '../system/errors.js';
import { decide, type Allow, type DecideContext, type DecideStores, type Decision } from './decide.js';

export interface AuthorizeStores extends DecideStores {
  replay: ReplayStore;
  floor: ClockFloor;
}

export type Authorized = Allow & { usesSoFar: number };

export function authorize(grantBytes: Uint8Array, presentationBytes: Uint8Array, ctx: DecideContext, stores: AuthorizeStores): Authorized | Exclude<Decision, Allow> {
  const decision = decide(grantBytes, presentationBytes, ctx, stores);
  if (!decision.allow) {
    // A verified grant's issue time is a signed time: it raises the floor even when refused.
    if (decision.verifiedIssuedAt !== undefined) stores.floor.raise(decision.verifiedIssuedAt, 'grant');
    return decision;
  }
  const { grant, presentation } = decision;
  const outcome = stores.replay.consume({
    grantId: grant.id,
    maxUses: grant.uses,
    notAfter: grant.notAfter,
    challenge: presentation.challenge,
    now: ctx.now,
    // A verified grant's issue time is a signed time: it raises the floor.
    raiseFloorTo: grant.issuedAt,
  });
  if (!outcome.ok) {
    return outcome.why === 'challenge'
      ? { allow: false, code: ErrorCode.CHALLENGE_USED, reason: 'challenge was used by a concurrent presentation' }
      : { allow: false, code: ErrorCode.GRANT_USED_UP, reason: 'grant was used up by a concurrent presentation' };
  }
  return { ...decision, usesSoFar: outcome.uses };
}
