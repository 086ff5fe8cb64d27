/**
 * authorize(): decide, then consume. The grant use and the challenge are recorded in one committed
 * transaction (synchronous=FULL) *before* Allow is returned, so the lock is only ever told to open
 * after the use is on disk (DESIGN.md, "Trust and tokens": Replay). If another presentation of the
 * same grant or challenge committed first — another connection, another process — the transaction
 * sees it and this one is refused: exactly one wins.
 *
 * Only an allowed decision moves the clock floor: to the grant's issue time, never past the
 * ceiling the hub's own clock sets (README, "Security model: the clock floor"). A refusal, however
 * well signed its grant, moves nothing.
 *
 * A failure of the store throws: it is never turned into a refusal or logged away, because an
 * unlock whose use could not be recorded must not happen and someone must hear why.
 */
import type { ReplayStore } from '../store/replay-store.js';
import { ErrorCode } from '../system/errors.js';
import { decide, type Allow, type DecideContext, type DecideStores, type Decision } from './decide.js';

export interface AuthorizeStores extends DecideStores {
  replay: ReplayStore;
  /** The floor, and the highest it may be raised to now (the hub's own clock plus the skew). */
  floor: { floorMs(): number; ceilingMs(): number };
}

export type Authorized = Allow & { usesSoFar: number };

export function authorize(grantBytes: Uint8Array, presentationBytes: Uint8Array, ctx: DecideContext, stores: AuthorizeStores): Authorized | Exclude<Decision, Allow> {
  const decision = decide(grantBytes, presentationBytes, ctx, stores);
  if (!decision.allow) return decision;
  const { grant, presentation } = decision;
  const outcome = stores.replay.consume({
    kid: grant.kid,
    grantId: grant.id,
    maxUses: grant.uses,
    notAfter: grant.notAfter,
    challenge: presentation.challenge,
    now: ctx.now,
    raiseFloorTo: Math.min(grant.issuedAt, stores.floor.ceilingMs()),
  });
  if (!outcome.ok) {
    return outcome.why === 'challenge'
      ? { allow: false, code: ErrorCode.CHALLENGE_USED, reason: 'challenge was used by a concurrent presentation' }
      : { allow: false, code: ErrorCode.GRANT_USED_UP, reason: 'grant was used up by a concurrent presentation' };
  }
  return { ...decision, usesSoFar: outcome.uses };
}
