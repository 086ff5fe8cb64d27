/**
 * The composition root: reads config, builds the rooms, starts their modules in order, and stops
 * them in reverse order on SIGTERM/SIGINT within the configured deadline. Nothing else in hub/
 * imports this file; rooms receive the values they need (Clock, Logger, Store, Lock…) from here.
 */
import { join } from 'node:path';
import { accessRoom, type AccessService } from './access/module.js';
import { accessPolicy } from './access/policy.js';
import { cameraAuditModule } from './camera/camera-audit.js';
import { cameraRoom } from './camera/module.js';
import { deliveryRoom, deliverySettingsFrom, type DeliveryService } from './delivery/module.js';
import type { DoorCamera } from './camera/no-camera.js';
import type { CloudRoom } from './cloud/module.js';
import { controlRoom } from './control/module.js';
import type { ControlServer } from './control/server.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import type { HubConfig } from './config/schema.js';
import { lockAuditModule } from './lock/lock-audit.js';
import type { Lock } from './lock/lock.js';
import { lockRoom } from './lock/module.js';
import { logNotifier } from './schedule/notifications.js';
import { scheduleModule, type ScheduleModule } from './schedule/module.js';
import type { AuditLog } from './store/audit-log.js';
import { auditRoom } from './store/audit-module.js';
import { hubId } from './store/daemon-runs.js';
import { loadOrCreateHubKey } from './store/hub-key.js';
import { openDaemonStore, storeRoom, type StoreModule } from './store/module.js';
import type { Store } from './store/store.js';
import type { Clock } from './system/clock.js';
import { ErrorCode, ExitCode, HubError, exitCodeFor } from './system/errors.js';
import { startAll, stopWithin, type Module } from './system/lifecycle.js';
import { createLogger, type Logger } from './system/logger.js';
import { createServiceNotifier } from './system/sd-notify.js';
import { keyhubVersion } from './system/version.js';

export type Mode = 'production' | 'dev';

export interface HubOptions {
  mode: Mode;
  configPath?: string;
  /** Dotted config paths from CLI flags (e.g. `stateDir`), highest precedence. */
  overrides?: Record<string, unknown>;
  /** Which CLI flag set each override, for error messages. */
  overrideFlags?: Record<string, string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  /** Where the one-line startup failure goes when no logger exists yet (config errors). */
  stderr: { write(line: string): unknown };
  /** Calls `handler` on SIGTERM/SIGINT; returns an unsubscribe function. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
}

/** A room of the daemon: the module main.ts starts and stops, and the value it hands on. */
export interface Room<S, M extends Module = Module> {
  module: M;
  service: S;
}

/** The composed daemon: every room, and its modules in start order (stopped in reverse). */
export interface Hub {
  modules: Module[];
  store: Room<Store, StoreModule>;
  audit: Room<AuditLog>;
  access: Room<AccessService>;
  lock: Room<Lock>;
  camera: Room<DoorCamera>;
  cloud: CloudRoom;
  control: { module: ControlServer };
  schedule: ScheduleModule;
  delivery: Room<DeliveryService>;
}

export interface ComposeDeps {
  clock: Clock;
  log: Logger;
  version: string;
  /** An audit write failed: stop the daemon (non-zero exit). Required: there is no safe default. */
  onAuditFailure: (err: unknown) => void;
}

/** Opens the store (migrating it: the one step that waits) and builds every room on it. */
export async function composeHub(loaded: LoadedConfig, deps: ComposeDeps): Promise<Hub> {
  const { config } = loaded;
  const store = await openDaemonStore({ stateDir: config.stateDir, busyTimeoutMs: config.store.busyTimeoutMs, log: deps.log.child({ module: 'store' }) });
  try {
    return await composeRooms(config, store, deps);
  } catch (err) {
    store.close();
    throw err;
  }
}

/**
 * The rooms, joined by values. The synchronous things (the store, the hub key, the audit log, the
 * trust state) exist before the list is built; each room's constructor only keeps references, and
 * its module's start() starts it. Later rooms add theirs here. The one wait is for code: a room
 * whose config leaves it out is never loaded (see the cloud's).
 */
export async function composeRooms(config: HubConfig, store: Store, deps: ComposeDeps): Promise<Hub> {
  const { clock, log, version, onAuditFailure } = deps;
  const { stateDir } = config;
  const policy = accessPolicy(config.access);
  const hubKey = loadOrCreateHubKey(store);
  // Each daemon run on record for `keyhub status`; the database closes last.
  const run = storeRoom({ store, clock, log: log.child({ module: 'store' }), version });
  // The tamper-evident log: boot/shutdown entries, checkpoints, retention of what the cloud acked.
  const audit = auditRoom({
    store,
    hubKey,
    clock,
    log: log.child({ module: 'audit' }),
    version,
    checkpointEvery: config.audit.checkpointEvery,
    retention: { keepMs: config.audit.retentionDays * 86_400_000, everyMs: 3_600_000 },
    onAuditFailure,
  });
  // Offline grants: trust, replay set, challenges; persists the clock floor at a clean stop.
  const access = accessRoom({ store, clock, log: log.child({ module: 'access' }), policy, audit: audit.service });
  // The smart lock (`lock.driver`: zwave | ble | none, which refuses every command).
  const lock = await lockRoom(config.lock, { stateDir, clock, log: log.child({ module: 'lock' }) });
  // The door camera (`camera.url`, else one that is never healthy: no camera, no entry).
  const camera = cameraRoom(config.camera, { clock, log: log.child({ module: 'camera' }) });
  // What the lock and the camera report on their own goes on record.
  // The visit (hub/delivery): grant checked and used, camera recording, unlock, relock, receipt.
  // It starts after the lock and the camera and first secures any visit a crash left open.
  const deliveryLog = log.child({ module: 'delivery' });
  const deliveryConfig = deliverySettingsFrom(config);
  const delivery = deliveryRoom({
    store,
    audit: audit.service,
    access: access.service,
    lock: lock.service,
    camera: camera.service,
    hubId: hubId(store),
    hubKey,
    clock,
    log: deliveryLog,
    clips: { dir: join(stateDir, 'clips'), quotaBytes: deliveryConfig.quotaBytes, visitQuotaBytes: deliveryConfig.visitQuotaBytes },
    settings: deliveryConfig.settings,
    // What the homeowner is told goes to the log until the cloud link carries notifications.
    notify: (notice) => deliveryLog.info({ notice }, 'homeowner notice'),
    onAuditFailure,
  });
  const currentVisit = (): string | undefined => delivery.service.currentVisit();
  const lockAudit = lockAuditModule({ lock: lock.service, audit: audit.service, log: log.child({ module: 'lock' }), onAuditFailure, currentVisit });
  const cameraAudit = cameraAuditModule({ camera: camera.service, audit: audit.service, onAuditFailure, currentVisit });
  // The cloud (`cloud.broker`): link (never blocks start: the hub works offline), outbox, signed
  // downlink. Its code (mqtt.js; aedes and the PKI library for the embedded broker) is imported
  // only when a broker is configured: a hub not registered with a cloud never uses it, and it is
  // about a third of an idle daemon's memory.
  const cloud: CloudRoom = config.cloud.broker === 'none' ? { modules: [], parts: undefined } : await (await import('./cloud/module.js')).cloudRoom(config.cloud, {
    stateDir,
    store,
    audit: audit.service,
    access: access.service,
    lock: lock.service,
    clockSkewMs: policy.clockSkewMs,
    onAuditFailure,
    clock,
    log: log.child({ module: 'cloud' }),
    version,
  });
  // The CLI's way in (status, trust-root, audit export): last up, first down.
  const control = controlRoom({
    stateDir,
    store,
    audit: audit.service,
    access: access.service,
    clockSkewMs: policy.clockSkewMs,
    onAuditFailure,
    clock,
    log: log.child({ module: 'control' }),
  });
  // Guest and service codes on the keypad: after the lock, so its boot reconcile finds it running.
  const schedule = scheduleFor(config.schedule, { store, lock: lock.service, audit: audit.service, clockTrusted: () => access.service.status().clockTrusted, clock, log, onAuditFailure });
  // The audit bridges listen before the lock and the camera start and until they have stopped:
  // a manual unlock or a jam while the Z-Wave driver is still interviewing is on record too.
  const modules: Module[] = [run.module, audit.module, access.module, lockAudit, cameraAudit, lock.module, schedule, camera.module, delivery.module, ...cloud.modules, control.module];
  return { modules, store: run, audit, access, lock, camera, delivery, cloud, control, schedule };
}

function scheduleFor(
  schedule: HubConfig['schedule'],
  deps: { store: Store; lock: Lock; audit: AuditLog; clockTrusted: () => boolean; clock: Clock; log: Logger; onAuditFailure: (err: unknown) => void },
): ScheduleModule {
  const log = deps.log.child({ module: 'schedule' });
  return scheduleModule({
    store: () => deps.store,
    lock: () => deps.lock,
    audit: () => deps.audit,
    clock: deps.clock,
    log,
    settings: {
      slots: schedule.slots,
      zone: schedule.zone,
      pinDigits: schedule.pinDigits,
      reconcileEveryMs: schedule.reconcileEveryS * 1000,
      wrongCodes: { limit: schedule.wrongCodes.limit, windowMs: schedule.wrongCodes.windowS * 1000 },
    },
    notifier: logNotifier(log),
    onAuditFailure: deps.onAuditFailure,
    clockTrusted: deps.clockTrusted,
  });
}

/** Runs the daemon until a shutdown signal; resolves with the process exit code. */
export async function runHub(options: HubOptions): Promise<number> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({
      mode: options.mode,
      path: options.configPath,
      env: options.env,
      cwd: options.cwd,
      overrides: options.overrides,
      overrideFlags: options.overrideFlags,
    });
  } catch (err) {
    writeFailure(options.stderr, err);
    return exitCodeFor(err);
  }

  const { config } = loaded;
  const version = keyhubVersion();
  const log = createLogger({ level: config.log.level, format: config.log.format });
  log.info({ version, mode: options.mode, config: loaded.path, fileFound: loaded.fileFound, stateDir: config.stateDir }, 'keyhub starting');
  const notifier = await createServiceNotifier({ env: options.env, clock: options.clock, log: log.child({ module: 'sd-notify' }), enabled: config.systemd.notify });

  const shutdown = new AbortController();
  let stopRequested: (signal: string) => void = () => {};
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  let signals = 0;
  const unsubscribe = options.onShutdownSignal((signal) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second shutdown signal: exiting now');
      process.exit(ExitCode.FAILURE);
    }
    shutdown.abort(new Error(`shutdown requested by ${signal}`));
    stopRequested(signal);
  });
  // A failed audit write is never swallowed: the daemon stops with a non-zero exit and systemd
  // restarts it (Restart=on-failure); the lock stays as it is meanwhile (fail secure).
  let auditFailed = false;
  let setOutcome: (outcome: string) => void = () => {};
  const onAuditFailure = (err: unknown): void => {
    auditFailed = true;
    log.fatal({ err }, `audit write failed: stopping the daemon (${(err as Error)?.message ?? String(err)})`);
    setOutcome('failed: audit write');
    shutdown.abort(err);
    stopRequested('audit-failure');
  };
  let hub: Hub;
  try {
    hub = await composeHub(loaded, { clock: options.clock, log, version, onAuditFailure });
  } catch (err) {
    unsubscribe();
    notifier.close();
    logStartFailure(log, err);
    return exitCodeFor(err);
  }
  setOutcome = (outcome) => hub.store.module.setOutcome(outcome);
  // Keeps the event loop alive while idle; the modules' own handles may come and go.
  const keepAlive = setInterval(() => {}, 1 << 30);

  try {
    let started: Module[];
    try {
      started = await startAll(hub.modules, shutdown.signal, log);
    } catch (err) {
      if (shutdown.signal.aborted) {
        // A failed audit write aborts the start too: that is a failure, never a requested stop.
        if (auditFailed) return ExitCode.FAILURE;
        log.info('shutdown requested during start: stopped what had started');
        return ExitCode.OK;
      }
      logStartFailure(log, err);
      return exitCodeFor(err);
    }

    hub.store.module.markReady();
    const id = hubId(hub.store.service);
    notifier.ready(`hub ${id} ready`);
    notifier.startWatchdog();
    log.info({ hubId: id, modules: started.map((m) => m.name), access: hub.access.service.status() }, 'keyhub ready');

    const signal = await stopSignal;
    log.info({ signal }, 'keyhub stopping');
    notifier.stopping();
    const deadlineMs = config.shutdown.deadlineS * 1000;
    const { failed, abandoned, timedOut } = await stopWithin(started, deadlineMs, options.clock, log);
    if (timedOut) {
      const err = new HubError(ErrorCode.SHUTDOWN_DEADLINE_EXCEEDED, `modules did not stop within ${config.shutdown.deadlineS} s: ${abandoned.join(', ')} (the others did)`);
      log.error({ code: err.code }, err.toLine());
      return ExitCode.FAILURE;
    }
    if (failed.length > 0 || auditFailed) return ExitCode.FAILURE;
    log.info('keyhub stopped');
    return ExitCode.OK;
  } finally {
    clearInterval(keepAlive);
    unsubscribe();
    notifier.close();
    // Closed by the store module's stop; also when it never started (a start aborted before it).
    hub.store.service.close();
  }
}

function logStartFailure(log: Logger, err: unknown): void {
  log.fatal({ code: (err as HubError).code, detail: (err as Error).stack }, err instanceof HubError ? err.toLine() : String(err));
}

function writeFailure(stderr: HubOptions['stderr'], err: unknown): void {
  if (err instanceof HubError) {
    stderr.write(`keyhub: ${err.toLine()}\n`);
    for (const line of err.details) stderr.write(`  ${line}\n`);
  } else {
    stderr.write(`keyhub: ${(err as Error)?.stack ?? String(err)}\n`);
  }
}

export { writeFailure };
