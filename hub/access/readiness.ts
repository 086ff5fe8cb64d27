/**
 * Can the hub decide now? Read from the store alone (clock floor, pinned root, held keyring and
 * revocation list), so `keyhub status` can say it without running the daemon. The clock is judged
 * as a hub starting now would judge it: the wall clock against the floor minus the skew. A running
 * daemon that has since accepted a SignedTime counts on from that (module.ts); that anchor lives
 * in its memory only, so this view can be more cautious than the daemon, never less.
 */
import { clockFloor, type FloorSource } from '../store/clock-floor.js';
import type { Store } from '../store/store.js';
import { trustStore } from '../store/trust-store.js';
import { ErrorCode } from '../system/errors.js';

export interface AccessProblem {
  code: ErrorCode;
  codeName: string;
  reason: string;
}

export interface AccessReadiness {
  /** True when nothing below stops a valid grant from being allowed. */
  canDecide: boolean;
  clockTrusted: boolean;
  /** ISO time of the clock floor, or null while nothing has set one. */
  clockFloor: string | null;
  clockFloorSource: FloorSource;
  rootPinned: boolean;
  /** The pinned root's Ed25519 public key as hex, so an installer can compare it. */
  rootKey: string | null;
  keyringVersion: number;
  revocationsVersion: number;
  /** Why the hub cannot decide, first the clock (decide() checks it first), then the trust chain. */
  problems: AccessProblem[];
}

const problem = (code: ErrorCode, reason: string): AccessProblem => ({ code, codeName: ErrorCode[code], reason });

/**
 * `clockTrusted`, from a running daemon, is its own judgement (it counts on from a signed time it
 * accepted); without it the wall clock is judged against the floor minus the skew.
 */
export function accessReadiness(store: Store, nowMs: number, clockSkewMs: number, clockTrusted = nowMs >= clockFloor(store).floorMs() - clockSkewMs): AccessReadiness {
  const floor = clockFloor(store);
  const trust = trustStore(store);
  const floorMs = floor.floorMs();
  const root = trust.rootPublicKey();
  const keyringVersion = trust.held('keyring')?.version ?? 0;
  const problems: AccessProblem[] = [];
  if (!clockTrusted) {
    problems.push(
      problem(
        ErrorCode.CLOCK_UNTRUSTED,
        `wall clock ${new Date(nowMs).toISOString()} is behind the clock floor ${new Date(floorMs).toISOString()} by more than ${clockSkewMs / 1000} s: no unlock until a signed time arrives or the clock catches up`,
      ),
    );
  }
  if (root === undefined) problems.push(problem(ErrorCode.TRUST_ROOT_MISSING, 'no root key is pinned: run `keyhub trust-root`'));
  if (keyringVersion === 0) problems.push(problem(ErrorCode.ISSUER_UNKNOWN, 'no keyring is installed: every grant would come from an unknown issuer'));
  return {
    canDecide: problems.length === 0,
    clockTrusted,
    clockFloor: floor.source() === 'none' ? null : new Date(floorMs).toISOString(),
    clockFloorSource: floor.source(),
    rootPinned: root !== undefined,
    rootKey: root === undefined ? null : Buffer.from(root).toString('hex'),
    keyringVersion,
    revocationsVersion: trust.held('revocations')?.version ?? 0,
    problems,
  };
}
