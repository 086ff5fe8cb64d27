/**
 * The delivery room on a FakeClock with a real store, a real audit log and the real access module
 * (grants from the trusted world of grant-fixture.ts), and two fakes through the small interfaces:
 * a lock whose bolt and door the test moves, and a recorder whose clips are rows, not files. What
 * the lock is told and what the store held at that moment is kept, so a test can check the order.
 */
import { createHash } from 'node:crypto';
import { accessRoom, type AccessService } from '../../hub/access/module.js';
import type { ClipRow } from '../../hub/camera/clip-store.js';
import type { ClipMark, Recording } from '../../hub/camera/recorder.js';
import type { CameraEvent } from '../../hub/camera/camera.js';
import { deliveryRoom, type DeliveryService } from '../../hub/delivery/module.js';
import type { VisitNotice } from '../../hub/delivery/notices.js';
import type { DeliverySettings } from '../../hub/delivery/context.js';
import { LockEventFanout } from '../../hub/lock/lock-events.js';
import type { BoltState, DoorState, Lock, LockEvent, LockState } from '../../hub/lock/lock.js';
import { AuditLog } from '../../hub/store/audit-log.js';
import { loadOrCreateHubKey, type HubKey } from '../../hub/store/hub-key.js';
import type { Module } from '../../hub/system/lifecycle.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import type { Frame } from '../../hub/camera/frame.js';
import type { Grant } from '../../protocols/grant/grant.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { signGrant } from '../../protocols/grant/issuer.js';
import type { Transport } from '../../protocols/grant/presentation.js';
import { HUB_ID, LOCK_ID, NOW, POLICY, deliveryGrant, makeWorld, type World } from './grant-fixture.js';
import { silentLog } from './silent-log.js';

type Outcome = 'ok' | ErrorCode;

/** A lock the test drives: commands confirm at once (or after `motorMs` on the clock), or fail with a code. */
export class FakeLock implements Lock {
  /** The hub that listened died: the lock now talks to a restarted one, on its clock. */
  restartedHub(clock: FakeClock): void {
    this.#clock = clock;
    this.#events = new LockEventFanout((err) => {
      throw err;
    });
  }

  bolt: BoltState = 'locked';
  door: DoorState = 'closed';
  connected = true;
  doorSensor = true;
  motorMs = 0;
  nextUnlock: Outcome = 'ok';
  /** Outcomes of the next lock() calls, in order; 'ok' once they run out. */
  lockOutcomes: Outcome[] = [];
  readonly commands: string[] = [];
  onUnlock: (() => void) | undefined;
  // A listener that throws fails the test: the room must never throw into the lock's fan-out.
  #events = new LockEventFanout((err) => {
    throw err;
  });
  #clock: FakeClock;
  readonly #id: string | undefined;

  constructor(clock: FakeClock, id: string | undefined) {
    this.#clock = clock;
    this.#id = id;
  }

  id(): string | undefined {
    return this.#id;
  }

  state(): LockState {
    return { bolt: this.bolt, door: this.doorSensor ? this.door : 'unknown', batteryPercent: 80, updatedAtMs: NOW, connected: this.connected };
  }

  unlock(): Promise<void> {
    this.commands.push('unlock');
    this.onUnlock?.();
    return this.#move('unlocked', this.nextUnlock);
  }

  lock(): Promise<void> {
    this.commands.push('lock');
    return this.#move('locked', this.lockOutcomes.shift() ?? 'ok');
  }

  setCode(): Promise<void> {
    return Promise.reject(new Error('no keypad'));
  }

  clearCode(): Promise<void> {
    return Promise.reject(new Error('no keypad'));
  }

  codes(): Promise<readonly never[]> {
    return Promise.resolve([]);
  }

  onEvent(listener: (event: LockEvent) => void): () => void {
    return this.#events.subscribe(listener);
  }

  openDoor(): void {
    this.door = 'open';
    if (this.doorSensor) this.#events.emit({ kind: 'door', door: 'open', atMs: this.#clock.now() });
  }

  closeDoor(): void {
    this.door = 'closed';
    if (this.doorSensor) this.#events.emit({ kind: 'door', door: 'closed', atMs: this.#clock.now() });
  }

  /** Someone inside turns the thumb-turn. */
  manualLock(): void {
    this.bolt = 'locked';
    this.#events.emit({ kind: 'locked', by: 'manual', atMs: this.#clock.now() });
  }

  #move(target: 'locked' | 'unlocked', outcome: Outcome): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        if (outcome === 'ok') {
          this.bolt = target;
          this.#events.emit({ kind: target, by: 'hub', awaited: true, atMs: this.#clock.now() });
          resolve();
        } else {
          if (outcome === ErrorCode.LOCK_JAMMED) this.bolt = 'jammed';
          reject(new HubError(outcome, `fake lock: ${target} failed`));
        }
      };
      if (this.motorMs <= 0) done();
      else this.#clock.setTimeout(done, this.motorMs);
    });
  }
}

/** A camera and recorder whose clips are rows: healthy unless told, stalls on demand. */
export class FakeCamera {
  healthy = true;
  failStart: ErrorCode | undefined;
  /** start() never returns (a camera that hangs while the recording starts). */
  hangStart = false;
  readonly started: string[] = [];
  readonly stopped: string[] = [];
  readonly #listeners = new Set<(e: CameraEvent) => void>();

  feed() {
    return {
      healthy: () => this.healthy,
      preRoll: (): Frame[] => [],
      onFrame: () => () => {},
      onEvent: (listener: (e: CameraEvent) => void) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
    };
  }

  stall(): void {
    this.healthy = false;
    const error = new HubError(ErrorCode.CAMERA_STALL, 'fake stall');
    for (const l of this.#listeners) l({ type: 'stall', error, record: { type: 'camera.stall', code: ErrorCode.CAMERA_STALL, codeName: 'CAMERA_STALL', at: NOW, silentForMs: 3000, thresholdMs: 3000, reason: 'silence' } });
  }

  recorder(clock: FakeClock) {
    return {
      start: async (visitId?: string): Promise<Recording> => {
        if (this.failStart !== undefined) throw new HubError(this.failStart, 'fake recorder: cannot start');
        if (this.hangStart) await new Promise(() => {});
        const id = `clip-${this.started.length + 1}`;
        this.started.push(visitId ?? '');
        const startedAtMs = clock.now();
        let bytes = 1000;
        const row = (): ClipRow => ({ id, visitId: visitId ?? null, file: `${id}.mp4`, startedAtMs, endedAtMs: clock.now(), bytes, sha256: createHash('sha256').update(String(bytes)).digest('hex'), state: 'complete' });
        const visit = { clips: [row()] as [ClipRow] };
        return {
          id,
          clipIds: () => [id],
          mark: async (): Promise<ClipMark> => ({ clipId: id, bytes, sha256: new Uint8Array(createHash('sha256').update(String(bytes)).digest()) }),
          done: Promise.resolve(visit),
          stop: async () => {
            bytes += 500;
            this.stopped.push(id);
            return { clips: [row()] as [ClipRow] };
          },
        };
      },
    };
  }
}

export interface VisitRig {
  clock: FakeClock;
  world: World;
  lock: FakeLock;
  camera: FakeCamera;
  audit: AuditLog;
  hubKey: HubKey;
  access: AccessService;
  room: { module: Module; service: DeliveryService };
  notices: VisitNotice[];
  receipts: Uint8Array[];
  auditFailures: unknown[];
  /** A delivery grant signed by the world's issuer, for this hub and lock. */
  grant(over?: Partial<Grant>): { grant: Grant; signed: Uint8Array };
  /** Asks a challenge and signs the presentation of `signed` over it, as the courier's handheld does. */
  presentation(grant: Grant, transport?: Transport): Uint8Array;
  /** The presentation over a challenge the hub issued earlier (or any other bytes). */
  presentationOver(grant: Grant, challenge: Uint8Array): Uint8Array;
  /** Lets promise chains run (no time passes). */
  settle(): Promise<void>;
  close(): Promise<void>;
  /** The process dies: no stop, no further write. */
  crash(): void;
}

export interface VisitRigOptions {
  /** A database file (a later rig on the same path is the hub after a restart). */
  path?: string;
  settings?: Partial<DeliverySettings>;
  camera?: boolean;
  lockId?: string | undefined;
  start?: boolean;
  clock?: FakeClock;
  /** The physical lock, kept across a restart. */
  lock?: FakeLock;
  /** The audit log as the room sees it (a test may make it fail). */
  auditFor?: (audit: AuditLog) => AuditLog;
}

export async function visitRig(options: VisitRigOptions = {}): Promise<VisitRig> {
  const clock = options.clock ?? new FakeClock({ wallMs: NOW });
  const world = await makeWorld(options.path ?? ':memory:');
  const hubKey = loadOrCreateHubKey(world.store);
  const audit = new AuditLog({ store: world.store, clock, hubId: HUB_ID, hubKey, checkpointEvery: 100, log: silentLog() });
  const accessMod = accessRoom({ store: world.store, clock, log: silentLog(), policy: POLICY });
  await accessMod.module.start(new AbortController().signal);
  const access = accessMod.service;
  const lock = options.lock ?? new FakeLock(clock, 'lockId' in options ? options.lockId : LOCK_ID);
  const camera = new FakeCamera();
  const notices: VisitNotice[] = [];
  const receipts: Uint8Array[] = [];
  const auditFailures: unknown[] = [];
  const withCamera = options.camera !== false;
  const room = deliveryRoom({
    store: world.store,
    audit: options.auditFor?.(audit) ?? audit,
    access,
    lock,
    ...(withCamera ? { camera: camera.feed(), recording: { recorder: camera.recorder(clock), clips: { byVisit: () => [], recover: () => ({ recovered: [], removed: [] }) } } } : {}),
    hubId: HUB_ID,
    hubKey,
    clock,
    log: silentLog(),
    clips: { dir: '/nonexistent', quotaBytes: 1e9, visitQuotaBytes: 1e9 },
    settings: { postRollMs: 10_000, relockRetry: { firstMs: 5_000, maxMs: 60_000, attempts: 3 }, doorAjarMs: 300_000, ...options.settings },
    notify: (n) => notices.push(n),
    publishReceipt: (r) => receipts.push(r),
    onAuditFailure: (err) => auditFailures.push(err),
  });
  if (options.start !== false) await room.module.start(new AbortController().signal);
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) await Promise.resolve();
  };
  return {
    clock,
    world,
    lock,
    camera,
    audit,
    hubKey,
    access,
    room,
    notices,
    receipts,
    auditFailures,
    grant: (over = {}) => {
      const grant = deliveryGrant(world, over);
      return { grant, signed: signGrant(grant, world.issuer) };
    },
    presentation(grant, transport = 'ble') {
      const answer = room.service.challenge(transport);
      if (!answer.ok) throw new Error(`no challenge: ${answer.codeName}`);
      return signPresentation({ grantId: grant.id, challenge: answer.challenge, transport, time: NOW, packages: ['pkg-1'] }, world.courier);
    },
    presentationOver: (grant, challenge) => signPresentation({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages: ['pkg-1'] }, world.courier),
    settle,
    async close() {
      if (world.store.db.open) {
        await room.module.stop();
        await accessMod.module.stop();
      }
      world.close();
    },
    crash() {
      // kill -9: nothing stops, nothing more is written; the database stays as the last commit left it.
      world.close();
    },
  };
}
