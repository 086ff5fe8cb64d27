/**
 * The access module: owns the trust state, replay set, challenges and clock floor for the daemon.
 * On start it loads and re-verifies the held trust material and checks the wall clock against the
 * floor; a clock behind the floor means no decisions until a signed time arrives or the clock
 * catches up, and the module says so in its status and logs. On a clean stop it raises the floor
 * to the hub's own clock, bounded by the monotonic time elapsed since start (or since a root-signed
 * time) so that a wall clock stepped far ahead while running cannot push the floor into the future.
 * What may move the floor, and how far, is hub-clock.ts (README, "Security model: the clock floor").
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

export interface AccessModule extends Module {
  service(): AccessService;
}

export function accessModule(deps: {
  store: () => Store;
  clock: Clock;
  log: Logger;
  policy?: AccessPolicy;
  /** Where a root-signed time that re-anchors the clock floor is put on record (hub/main.ts). */
  audit?: () => AuditSink;
}): AccessModule {
  const policy = deps.policy ?? DEFAULT_POLICY;
  const { clock, log } = deps;
  let state:
    | {
        store: Store;
        hubId: string;
        trust: TrustState;
        replay: ReplayStore;
        /** The stored floor; every raise goes through `floor` below, which bounds it. */
        raw: ClockFloor;
        /** The hub's clocks and the bounded floor (what authorize() takes as AuthorizeStores.floor). */
        floor: HubClock;
        localTimes: LocalTimes;
        subjectKeys: PublicKeyCache;
      }
    | undefined;
  const running = () => {
    if (state === undefined) throw new Error('access module is not started');
    return state;
  };
  const status = (): AccessStatus => {
    const s = running();
    return { ...s.trust.status(), clockTrusted: s.floor.trusted(), clockFloorMs: s.floor.floorMs(), clockFloorSource: s.floor.floorSource() };
  };

  const service: AccessService = {
    issueChallenge: () => {
      const s = running();
      return s.replay.issueChallenge(s.floor.now());
    },
    authorize(grant, presentation, ctx) {
      const s = running();
      const decision = authorize(grant, presentation, { ...ctx, now: s.floor.now(), policy }, s);
      if (decision.allow) log.info({ grantKind: decision.grant.kind, subject: decision.grant.subjectId, uses: decision.usesSoFar }, 'access allowed');
      else log.warn({ code: decision.code, reason: decision.reason }, 'access refused');
      return decision;
    },
    trust: () => running().trust,
    acceptSignedTime(signed) {
      const s = running();
      const audit = deps.audit?.();
      const time = acceptSignedTime(signed, { trust: s.trust, clock: s.floor, floor: s.raw, store: s.store, hubId: s.hubId, ...(audit === undefined ? {} : { audit }) });
      log.info(
        { signedTime: new Date(time).toISOString(), clockFloor: new Date(s.floor.floorMs()).toISOString(), clockFloorSource: s.floor.floorSource(), clockTrusted: s.floor.trusted() },
        'signed time accepted',
      );
      return time;
    },
    status,
  };

  return {
    name: 'access',
    start() {
      const store = deps.store();
      const raw = clockFloor(store);
      state = {
        store,
        hubId: hubId(store),
        trust: new TrustState(trustStore(store)),
        replay: replayStore(store),
        raw,
        floor: new HubClock({ clock, floor: raw, skewMs: policy.clockSkewMs }),
        localTimes: new LocalTimes(),
        subjectKeys: new PublicKeyCache(),
      };
      const s = status();
      if (!s.clockTrusted) {
        log.error(
          { clock: new Date(clock.now()).toISOString(), clockFloor: new Date(s.clockFloorMs).toISOString(), code: 'CLOCK_UNTRUSTED' },
          'wall clock is behind the clock floor: refusing every unlock until a signed time arrives or the clock catches up',
        );
      } else {
        log.info({ clockFloor: s.clockFloorMs, keyringVersion: s.keyringVersion, revocationsVersion: s.revocationsVersion }, 'access ready');
      }
    },
    stop() {
      if (state === undefined) return;
      const s = state;
      // Failing to persist the floor must surface (it guards against a reset clock reopening grants).
      s.floor.stop();
      state = undefined;
    },
    service: () => ({ ...service }),
  };
}
