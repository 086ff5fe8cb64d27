/**
 * A signed time arrives (the cloud's `time` topic, hub/cloud/downlink.ts): what it may move.
 *
 * - An issuer's SignedTime is one issuer's word: decisions count on from it while the wall clock is
 *   behind the floor, and the floor rises toward it no further than the hub's own clock plus the
 *   skew (hub-clock.ts). A bad issuer clock, or a bad issuer, cannot lock the hub out with it.
 * - The root's RootTime for this hub re-anchors: the floor is set to it, up or down, with its
 *   version (so it is taken once) and, when an audit log is at hand, a `clock.floor` entry, all in
 *   one synchronous=FULL transaction. This is the way out of a floor pushed ahead of the truth.
 */
import type { AuditSink } from '../store/audit-log.js';
import type { ClockFloor } from '../store/clock-floor.js';
import type { Store } from '../store/store.js';
import type { HubClock } from './hub-clock.js';
import type { TrustState } from './trust.js';

export interface SignedTimeDeps {
  trust: TrustState;
  clock: HubClock;
  floor: ClockFloor;
  store: Store;
  hubId: string;
  /** The audit log; absent in tests of the trust core alone. */
  audit?: AuditSink;
}

/** Verifies and takes a signed time; returns the time. Throws TRUST_UPDATE_INVALID when refused. */
export function acceptSignedTime(signed: Uint8Array, deps: SignedTimeDeps): number {
  const verified = deps.trust.verifySignedTime(signed, deps.hubId);
  if (verified.by === 'issuer') {
    deps.clock.issuerTime(verified.time);
    return verified.time;
  }
  deps.store.write('full', () => {
    deps.trust.recordRootTime(verified);
    const fromMs = deps.floor.reanchor(verified.time);
    // Last in the transaction: if the audit write fails, nothing of the re-anchor commits.
    deps.audit?.append({ type: 'clock.floor', body: { fromMs, toMs: verified.time, source: 'signed-time' } });
  });
  deps.clock.rootTime(verified.time);
  return verified.time;
}
