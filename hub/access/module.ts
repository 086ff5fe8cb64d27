/**
 * The access module: owns the trust state, replay set, challenges and clock floor for the daemon.
 * It loads and re-verifies the held trust material when it is made; on start it checks the wall
 * clock against the floor; a clock behind the floor means no decisions until a signed time arrives
 * or the clock catches up, and the module says so in its status and logs. On a clean stop it raises
 * the floor to the hub's own clock, bounded by the monotonic time elapsed since start (or since a
 * root-signed time) so that a wall clock stepped far ahead while running cannot push the floor into
 * the future. What may move the floor, and how far, is hub-clock.ts (docs/security-model.md).
 */
import type { AuditSink } from '../store/audit-log.js';
import { clockFloor, type ClockFloor, type FloorSource } from '../store/clock-floor.js';
import { hubId } from '../store/daemon-runs.js';
import { replayStore, type ReplayStore } from '../store/replay-store.js';
import type { Store } from '../store/store.js';
import { trustStore } from '../store/trust-store.js';
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { authorize, type Authorized } from './authorize.js';
import type { AccessPolicy, DecideContext, Decision, Allow } from './decide.js';
import { HubClock } from './hub-clock.js';
import { PublicKeyCache } from './key-cache.js';
import { LocalTimes } from './local-time.js';
import { acceptSignedTime } from './signed-time.js';
import { TrustState, type TrustStatus } from './trust.js';

/**
 * The policy when none is handed in; the config schema's `access` defaults match it (policy.ts maps
 * the config). No home position: every cloud-path presentation is refused (fail secure) until the
 * installer sets where the home is; BLE at the door works.
 */
export const DEFAULT_POLICY: AccessPolicy = {
  clockSkewMs: 5 * 60_000,
  rssiFloorDbm: -70,
};

export interface AccessStatus extends TrustStatus {
  clockTrusted: boolean;
  clockFloorMs: number;
  clockFloorSource: FloorSource;
}

/** What the rest of the daemon (delivery, BLE, cloud) calls. */
export interface AccessService {
  issueChallenge(): Uint8Array;
  authorize(grant: Uint8Array, presentation: Uint8Array, ctx: Omit<DecideContext, 'now' | 'policy'>): Authorized | Exclude<Decision, Allow>;
  trust(): TrustState;
  acceptSignedTime(signed: Uint8Array): number;
  status(): AccessStatus;
}

/**
 * The access room: the service is made at once on the open store (trust material loaded and
 * re-verified, replay set, clock floor), so it can be handed on as a value. The module's start
 * judges the wall clock against the floor and says so; its stop raises the floor.
 */
export function accessRoom(deps: {
  store: Store;
  clock: Clock;
  log: Logger;
  policy?: AccessPolicy;
  /** Where a root-signed time that re-anchors the clock floor is put on record (hub/main.ts). */
  audit?: AuditSink;
}): { module: Module; service: AccessService } {
  const policy = deps.policy ?? DEFAULT_POLICY;
  const { clock, log, store } = deps;
  const raw = clockFloor(store);
  const s: {
    trust: TrustState;
    replay: ReplayStore;
    /** The stored floor; every raise goes through `floor` below, which bounds it. */
    raw: ClockFloor;
    /** The hub's clocks and the bounded floor (what authorize() takes as AuthorizeStores.floor). */
    floor: HubClock;
    localTimes: LocalTimes;
    subjectKeys: PublicKeyCache;
  } = {
    trust: new TrustState(trustStore(store)),
    replay: replayStore(store),
    raw,
    floor: new HubClock({ clock, floor: raw, skewMs: policy.clockSkewMs }),
    localTimes: new LocalTimes(),
    subjectKeys: new PublicKeyCache(),
  };
  const id = hubId(store);
  let started = false;
  const status = (): AccessStatus => ({ ...s.trust.status(), clockTrusted: s.floor.trusted(), clockFloorMs: s.floor.floorMs(), clockFloorSource: s.floor.floorSource() });

  const service: AccessService = {
    issueChallenge: () => s.replay.issueChallenge(s.floor.now()),
    authorize(grant, presentation, ctx) {
      const decision = authorize(grant, presentation, { ...ctx, now: s.floor.now(), policy }, s);
      if (decision.allow) log.info({ grantKind: decision.grant.kind, subject: decision.grant.subjectId, uses: decision.usesSoFar }, 'access allowed');
      else log.warn({ code: decision.code, reason: decision.reason }, 'access refused');
      return decision;
    },
    trust: () => s.trust,
    acceptSignedTime(signed) {
      const time = acceptSignedTime(signed, { trust: s.trust, clock: s.floor, floor: s.raw, store, hubId: id, ...(deps.audit === undefined ? {} : { audit: deps.audit }) });
      log.info(
        { signedTime: new Date(time).toISOString(), clockFloor: new Date(s.floor.floorMs()).toISOString(), clockFloorSource: s.floor.floorSource(), clockTrusted: s.floor.trusted() },
        'signed time accepted',
      );
      return time;
    },
    status,
  };

  const module: Module = {
    name: 'access',
    start() {
      started = true;
      const now = status();
      if (!now.clockTrusted) {
        log.error(
          { clock: new Date(clock.now()).toISOString(), clockFloor: new Date(now.clockFloorMs).toISOString(), code: 'CLOCK_UNTRUSTED' },
          'wall clock is behind the clock floor: refusing every unlock until a signed time arrives or the clock catches up',
        );
      } else {
        log.info({ clockFloor: now.clockFloorMs, keyringVersion: now.keyringVersion, revocationsVersion: now.revocationsVersion }, 'access ready');
      }
    },
    stop() {
      if (!started) return;
      // Failing to persist the floor must surface (it guards against a reset clock reopening grants).
      s.floor.stop();
      started = false;
    },
  };
  return { module, service };
}
