/**
 * The delivery room: builds the visit's machinery from plain values (the open store and audit log,
 * the access service, the lock, the camera, the hub's key) and returns it as a module main.ts
 * starts after the lock and the camera and before anything that takes requests (the cloud link,
 * BLE, the LAN page), and the service those transports talk to.
 *
 * start(): clips a crash cut short are recovered and kept (before any new recording), then visits
 * the journal shows still holding the lock are secured (recovery.ts) — the door relocked first,
 * requests refused meanwhile. stop(): no new visit; the one in progress is relocked on the way
 * down if its door is closed, else left for the next boot.
 */
import type { HubConfig } from '../config/schema.js';
import type { AccessService } from '../access/module.js';
import { ClipStore } from '../camera/clip-store.js';
import type { CameraEvent } from '../camera/camera.js';
import { Recorder, type CameraFeed } from '../camera/recorder.js';
import type { Lock } from '../lock/lock.js';
import type { HubKey } from '../store/hub-key.js';
import { homePolicy, type HomePolicyStore } from '../store/home-policy.js';
import { lockIdentity } from '../store/lock-identity.js';
import type { Store } from '../store/store.js';
import { visitJournal, type VisitJournal } from '../store/visit-journal.js';
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { DEFAULT_SETTINGS, type DeliverySettings, type DoorContext } from './context.js';
import { DoorAlarms } from './door-alarms.js';
import { Doorkeeper } from './doorkeeper.js';
import type { NoticeSink } from './notices.js';
import { recoveredVisit, recoverVisit, relockOnShutdown } from './recovery.js';
import type { VisitRequests } from './requests.js';
import type { AuditAppender } from './steps.js';

/** States in which a visit may have unlocked the door: the door moving then is the visit's, not an alarm. */
const DOOR_EXPLAINED = new Set(['unlocking', 'open', 'relocking', 'relock-failed', 'door-left-open']);

export interface DeliveryRoomDeps {
  store: Store;
  audit: AuditAppender;
  access: Pick<AccessService, 'authorize' | 'issueChallenge'>;
  lock: Lock;
  /** The door camera; absent: no camera (deliveries are refused before the door opens). */
  camera?: CameraFeed & { onEvent(listener: (event: CameraEvent) => void): () => void };
  /**
   * The recorder and clip index; by default a Recorder and a ClipStore over `camera` and `clips`.
   * (Tests of the state machine hand in their own through these small interfaces.)
   */
  recording?: { recorder: Pick<Recorder, 'start'>; clips: ClipIndex };
  hubId: string;
  hubKey: Pick<HubKey, 'privateKey'>;
  clock: Clock;
  log: Logger;
  /** Where clips go (`<stateDir>/clips`) and how much disk they may use. */
  clips: { dir: string; quotaBytes: number; visitQuotaBytes: number };
  settings?: Partial<DeliverySettings>;
  /** What the homeowner is told (the cloud's notifications and the LAN page's list, wired by main.ts). */
  notify?: NoticeSink;
  /** Receipts to the cloud (`receipts`); the courier also gets each on the path it asked. */
  publishReceipt?: (receipt: Uint8Array) => void;
  /** A journal or audit write failed: the daemon must stop (main.ts). Required: no safe default. */
  onAuditFailure(err: unknown): void;
}

/** What the room needs of the clip index: a visit's clips, and the boot-time clean-up. */
export type ClipIndex = Pick<ClipStore, 'byVisit' | 'recover'>;

export interface DeliveryService extends VisitRequests {
  /** The visit holding the lock now, if any: lock-audit and camera-audit name it on their entries. */
  currentVisit(): string | undefined;
  /** Settles once the visits a crash left open are secured (or the daemon stops). */
  recovered(): Promise<void>;
  readonly journal: VisitJournal;
  readonly policy: HomePolicyStore;
  /** Absent without a camera. */
  readonly clips: ClipIndex | undefined;
}

export function deliveryRoom(deps: DeliveryRoomDeps): { module: Module; service: DeliveryService } {
  const log = deps.log;
  const journal = visitJournal(deps.store);
  const policy = homePolicy(deps.store);
  const identity = lockIdentity(deps.store);
  const notify: NoticeSink = (notice) => {
    log.info({ notice }, 'homeowner notice');
    deps.notify?.(notice);
  };
  const { recorder, clips } = deps.recording ?? recordingFor(deps, notify);
  const ctx: DoorContext = {
    store: deps.store,
    audit: deps.audit,
    journal,
    clock: deps.clock,
    log,
    lock: deps.lock,
    recorder,
    clips,
    cameraHealthy: () => deps.camera?.healthy() ?? false,
    hubId: deps.hubId,
    hubKey: deps.hubKey,
    settings: { ...DEFAULT_SETTINGS, ...deps.settings },
    notify,
    publishReceipt: (receipt) => deps.publishReceipt?.(receipt),
  };
  const rememberLockId = (id: string): void => {
    try {
      if (identity.remember(id, deps.audit)) log.info({ lockId: id }, 'lock id recorded');
    } catch (err) {
      deps.onAuditFailure(err);
    }
  };
  const doorkeeper = new Doorkeeper({ ctx, access: deps.access, policy, onLockId: rememberLockId, onAuditFailure: deps.onAuditFailure });
  const alarms = new DoorAlarms({
    lock: deps.lock,
    visitExplainsDoor: () => doorkeeper.current !== undefined && DOOR_EXPLAINED.has(doorkeeper.current.state),
    audit: deps.audit,
    notify,
    clock: deps.clock,
    log,
    ajarMs: ctx.settings.doorAjarMs,
    onAuditFailure: deps.onAuditFailure,
  });
  let recovery: Promise<unknown> = Promise.resolve();
  const unsubscribe: Array<() => void> = [];

  const module: Module = {
    name: 'delivery',
    start() {
      // Before any new recording (it would be taken for a crash's leftover), and never in the way of
      // the relock below: a clip store that cannot be cleaned up is logged, the door comes first.
      try {
        clips?.recover();
      } catch (err) {
        log.error({ err: (err as Error)?.message }, 'clips left by a crash could not be recovered');
      }
      const id = deps.lock.id();
      if (id !== undefined) rememberLockId(id);
      unsubscribe.push(
        deps.lock.onEvent((event) => {
          try {
            if (event.kind === 'door' || event.kind === 'locked' || event.kind === 'unlocked' || event.kind === 'jammed') doorkeeper.lockReported(event.kind === 'locked');
            alarms.onLockEvent(event);
          } catch (err) {
            // Never into the lock driver's fan-out, which would only log it.
            deps.onAuditFailure(err);
          }
        }),
      );
      if (deps.camera !== undefined) {
        unsubscribe.push(
          deps.camera.onEvent((event) => {
            try {
              if (event.type === 'stall') doorkeeper.cameraStalled();
            } catch (err) {
              deps.onAuditFailure(err);
            }
          }),
        );
      }
      // Claimed synchronously, before the first request can be answered.
      const held = journal.holding().map((record) => recoveredVisit(record, deps.clock));
      recovery = doorkeeper.hold(held, (v) => recoverVisit(ctx, v)) ?? Promise.resolve();
      doorkeeper.open();
    },
    async stop() {
      const stopped = await doorkeeper.stop();
      if (stopped?.end === 'stopped') {
        try {
          await relockOnShutdown(ctx, stopped.visit);
        } catch (err) {
          deps.onAuditFailure(err);
        }
      }
      for (const off of unsubscribe.splice(0)) off();
      alarms.stop();
    },
  };

  const service: DeliveryService = {
    challenge: (transport) => doorkeeper.challenge(transport),
    present: (request) => doorkeeper.present(request),
    relock: (visitId) => doorkeeper.relock(visitId),
    currentVisit: () => doorkeeper.current?.id,
    recovered: () => recovery.then(() => undefined),
    journal,
    policy,
    clips,
  };
  return { module, service };
}

/** The room's settings from the config file (camera.postRollS, delivery.*). */
export function deliverySettingsFrom(config: Pick<HubConfig, 'camera' | 'delivery'>): { settings: Partial<DeliverySettings>; quotaBytes: number; visitQuotaBytes: number } {
  return {
    settings: {
      postRollMs: config.camera.postRollS * 1000,
      doorAjarMs: config.delivery.doorAjarS * 1000,
      relockRetry: { ...DEFAULT_SETTINGS.relockRetry, attempts: config.delivery.relockRetries },
    },
    quotaBytes: config.camera.clipQuotaMb * 1024 * 1024,
    visitQuotaBytes: config.camera.visitClipQuotaMb * 1024 * 1024,
  };
}

function recordingFor(deps: DeliveryRoomDeps, notify: NoticeSink): { recorder: Pick<Recorder, 'start'> | undefined; clips: ClipIndex | undefined } {
  if (deps.camera === undefined) return { recorder: undefined, clips: undefined };
  const clips = new ClipStore({ store: deps.store, dir: deps.clips.dir, clock: deps.clock, log: deps.log, quotaBytes: deps.clips.quotaBytes, visitQuotaBytes: deps.clips.visitQuotaBytes });
  const recorder = new Recorder({
    camera: deps.camera,
    clips,
    clock: deps.clock,
    log: deps.log,
    // E409: visit clips fill their share; the homeowner must export or delete some.
    onQuota: (outcome) => {
      if (outcome.alert !== undefined) notify({ kind: 'clip-quota', code: outcome.alert.code, detail: outcome.alert.message.slice(0, 200) });
    },
  });
  return { recorder, clips };
}
