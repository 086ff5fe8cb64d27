/**
 * The access module: owns the trust state, replay set, challenges and clock floor for the daemon.
 * It loads and re-verifies the held trust material when it is made; on start it checks the wall
 * clock against the floor; a clock behind the floor means no decisions until a SignedTime arrives or the clock
 * catches up, and the module says so in its status and logs. On a clean stop it raises the floor
 * to the hub's own clock, bounded by the monotonic time elapsed since start so that a wall clock
 * stepped far ahead while running cannot push the floor into the future.
 */
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { clockFloor, type ClockFloor, type FloorSource } from '../store/clock-floor.js';
import { replayStore, type ReplayStore } from '../store/replay-store.js';
import type { Store } from '../store/store.js';
import { trustStore } from '../store/trust-store.js';
import { authorize, type Authorized } from './authorize.js';
import type { AccessPolicy, DecideContext, Decision, Allow } from './decide.js';
import { PublicKeyCache } from './key-cache.js';
import { LocalTimes } from './local-time.js';
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
export function accessRoom(deps: { store: Store; clock: Clock; log: Logger; policy?: AccessPolicy }): { module: Module; service: AccessService } {
  const policy = deps.policy ?? DEFAULT_POLICY;
  const { clock, log, store } = deps;
  const s: {
    trust: TrustState;
    replay: ReplayStore;
    floor: ClockFloor;
    localTimes: LocalTimes;
    subjectKeys: PublicKeyCache;
    anchor?: { signedMs: number; mono: number };
  } = {
    trust: new TrustState(trustStore(store)),
    replay: replayStore(store),
    floor: clockFloor(store),
    localTimes: new LocalTimes(),
    subjectKeys: new PublicKeyCache(),
  };
  /** Wall and monotonic time at start: what a clean stop may raise the floor to is bounded by them. */
  let started: { wall: number; mono: number } | undefined;
  /**
   * The wall time decisions use. The wall clock when it is at or above the floor (minus skew);
   * otherwise, once a SignedTime has arrived, that time plus the monotonic time elapsed since (the
   * RTC may be wrong, the monotonic clock still counts true); otherwise the wall clock, which
   * decide() then refuses with CLOCK_UNTRUSTED.
   */
  const decisionTime = (): number => {
    const wall = clock.now();
    if (wall >= s.floor.floorMs() - policy.clockSkewMs || s.anchor === undefined) return Math.floor(wall);
    // Whole milliseconds: the system clock's monotonic time is fractional, stored times are not.
    return Math.floor(s.anchor.signedMs + (clock.monotonic() - s.anchor.mono));
  };
  const clockTrusted = () => decisionTime() >= s.floor.floorMs() - policy.clockSkewMs;
  const status = (): AccessStatus => ({ ...s.trust.status(), clockTrusted: clockTrusted(), clockFloorMs: s.floor.floorMs(), clockFloorSource: s.floor.source() });

  const service: AccessService = {
    issueChallenge: () => s.replay.issueChallenge(decisionTime()),
    authorize(grant, presentation, ctx) {
      const decision = authorize(grant, presentation, { ...ctx, now: decisionTime(), policy }, s);
      if (decision.allow) log.info({ grantKind: decision.grant.kind, subject: decision.grant.subjectId, uses: decision.usesSoFar }, 'access allowed');
      else log.warn({ code: decision.code, reason: decision.reason }, 'access refused');
      return decision;
    },
    trust: () => s.trust,
    acceptSignedTime(signed) {
      const mono = clock.monotonic();
      const time = s.trust.acceptSignedTime(signed, s.floor);
      s.anchor = { signedMs: time, mono };
      log.info({ signedTime: new Date(time).toISOString(), clockFloor: new Date(s.floor.floorMs()).toISOString(), clockTrusted: clockTrusted() }, 'signed time accepted');
      return time;
    },
    status,
  };

  const module: Module = {
    name: 'access',
    start() {
      started = { wall: clock.now(), mono: clock.monotonic() };
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
      if (started === undefined) return;
      const base = s.anchor ?? { signedMs: started.wall, mono: started.mono };
      const bound = Math.floor(base.signedMs + (clock.monotonic() - base.mono));
      // Failing to persist the floor must surface (it guards against a reset clock reopening grants).
      s.floor.raise(Math.min(decisionTime(), bound), 'shutdown');
      started = undefined;
    },
  };
  return { module, service };
}
