/**
 * The schedule module as the daemon builds it (store with every migration, the real audit log,
 * the Z-Wave driver on the simulated stick and Kwikset), on a fake Clock for the schedule's own
 * timers. The lock driver keeps the system clock: its command timeouts are real time, as the
 * radio's are. `restart()` stops the module and starts a new one on the same database, as a hub
 * restart does.
 */
import type { AuditRecord } from '../../protocols/audit/chain.js';
import type { AuditBody, AuditEventType } from '../../protocols/audit/events.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import type { Lock } from '../../hub/lock/lock.js';
import { scheduleModule, type ScheduleModule, type ScheduleModuleSettings } from '../../hub/schedule/module.js';
import type { ScheduleNotification } from '../../hub/schedule/notifications.js';
import type { Store } from '../../hub/store/store.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import type { ZwaveLockOptions } from '../../hub/lock/zwave/zwave-lock.js';
import type { KwiksetLock, KwiksetOptions } from '../../sim/lock/zwave/kwikset-lock.js';
import { auditLogOn, openAuditStore } from './audit-store.js';
import { silentLog } from './silent-log.js';
import { tempDir } from './temp-dir.js';
import { startRig, type Rig } from './zwave-lock-rig.js';

export interface ScheduleRig {
  clock: FakeClock;
  /** The lock the schedule drives. */
  lock: Lock;
  /** The Z-Wave rig and its simulated Kwikset (absent with `memory`). */
  zwave: Rig;
  sim: KwiksetLock;
  store: Store;
  audit: AuditLog;
  module: ScheduleModule;
  notes: ScheduleNotification[];
  /** Audit entries of the schedule's types (code.*) since the rig started. */
  entries(type?: string): AuditRecord[];
  /** The bodies of the entries of one type, typed. */
  bodies<T extends AuditEventType>(type: T): AuditBody<T>[];
  /** Advances the fake clock by `ms` and waits until the slot worker is idle. */
  advance(ms: number): Promise<void>;
  /** Advances to wall time `atMs`. */
  advanceTo(atMs: number): Promise<void>;
  settle(): Promise<void>;
  /** Stops the module; `restart` starts a new one on the same store and lock. */
  stop(): Promise<void>;
  /** `settings` as a changed config would give them. */
  restart(settings?: Partial<ScheduleModuleSettings>): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_SETTINGS: ScheduleModuleSettings = {
  slots: { first: 11, last: 30 },
  zone: 'Europe/Berlin',
  pinDigits: { min: 4, max: 8 },
  reconcileEveryMs: 6 * 3_600_000,
  wrongCodes: { limit: 5, windowMs: 600_000 },
};

export async function startScheduleRig(
  options: {
    wallMs?: number;
    settings?: Partial<ScheduleModuleSettings>;
    zwave?: Rig;
    /** Runs on this in-memory lock instead of the Z-Wave rig. */
    memory?: Lock;
    /** For the Z-Wave rig this makes: the driver's options, the simulated lock's. */
    driver?: Partial<ZwaveLockOptions>;
    sim?: Omit<KwiksetOptions, 'clock'>;
    lock?: (lock: Lock) => Lock;
    backoff?: { minMs: number; maxMs: number };
    watchMs?: number;
    clockTrusted?: () => boolean;
  } = {},
): Promise<ScheduleRig> {
  const clock = new FakeClock({ wallMs: options.wallMs ?? Date.UTC(2026, 10, 23, 6, 0) });
  // The simulated lock keeps the fake clock too, so its log of Sets says when they happened in
  // schedule time (motorMs 0 and no S2: the sim sets no timers of its own).
  const zwave =
    options.memory === undefined ? (options.zwave ?? (await startRig({ sim: { clock, ...options.sim }, driver: options.driver ?? {} }))) : (undefined as unknown as Rig);
  const sim = zwave?.sim as KwiksetLock;
  const dir = tempDir('keyhub-schedule-');
  const store = await openAuditStore(dir.path);
  const audit = auditLogOn(store, clock);
  const notes: ScheduleNotification[] = [];
  let settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const base = options.memory ?? zwave.lock;
  const lock = options.lock === undefined ? base : options.lock(base);
  const firstSeq = audit.head().seq + 1;
  const make = (): ScheduleModule =>
    scheduleModule({
      store: () => store,
      lock: () => lock,
      audit: () => audit,
      clock,
      log: silentLog(),
      settings,
      notifier: { notify: (n) => notes.push(n) },
      onAuditFailure: (err) => {
        throw err;
      },
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.watchMs === undefined ? {} : { watchMs: options.watchMs }),
      ...(options.clockTrusted === undefined ? {} : { clockTrusted: options.clockTrusted }),
    });
  let running = true;
  const rig: ScheduleRig = {
    clock,
    lock,
    zwave,
    sim,
    store,
    audit,
    module: make(),
    notes,
    entries(type) {
      return audit.read(firstSeq, 100_000).filter((r) => (type === undefined ? r.event.type.startsWith('code.') : r.event.type === type));
    },
    bodies<T extends AuditEventType>(type: T) {
      return rig.entries(type).map((r) => r.event.body as AuditBody<T>);
    },
    async advance(ms) {
      await clock.advance(ms);
      await rig.settle();
    },
    async advanceTo(atMs) {
      await rig.advance(Math.max(0, atMs - clock.now()));
    },
    async settle() {
      // The worker may start more work from a lock event that is still on the simulated air.
      for (let i = 0; i < 3; i++) {
        await rig.module.idle();
        await new Promise((r) => setTimeout(r, 5));
      }
      await rig.module.idle();
    },
    async stop() {
      if (!running) return;
      running = false;
      await rig.module.stop();
    },
    async restart(changed) {
      await rig.stop();
      if (changed !== undefined) settings = { ...settings, ...changed };
      rig.module = make();
      await rig.module.start(new AbortController().signal);
      running = true;
      await rig.settle();
    },
    async close() {
      await rig.stop();
      store.close();
      if (options.zwave === undefined && options.memory === undefined) await zwave.close();
      dir.cleanup();
    },
  };
  await rig.module.start(new AbortController().signal);
  await rig.settle();
  return rig;
}
