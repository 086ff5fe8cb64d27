/**
 * The composition root: reads config, builds the modules, starts them in order, and stops them in
 * reverse order on SIGTERM/SIGINT within the configured deadline. Nothing else in hub/ imports this
 * file; modules receive the small interfaces they need (Clock, Logger, Store…) from here.
 */
import { accessModule } from './access/module.js';
import { accessPolicy } from './access/policy.js';
import { cloudModules, type CloudSettings } from './cloud/module.js';
import { Camera } from './camera/camera.js';
import { cameraAuditModule } from './camera/camera-audit.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { lockAuditModule } from './lock/lock-audit.js';
import { lockDriverFor } from './lock/module.js';
import { auditModule } from './store/audit-module.js';
import { storeModule } from './store/module.js';
import { hubId } from './store/daemon-runs.js';
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

/** Builds the modules in start order. Later rooms add theirs here. */
export function composeModules(
  loaded: LoadedConfig,
  deps: { clock: Clock; log: Logger; version: string; /** An audit write failed: stop the daemon (non-zero exit). Required: there is no safe default. */ onAuditFailure: (err: unknown) => void },
) {
  const { config } = loaded;
  const store = storeModule({
    stateDir: config.stateDir,
    busyTimeoutMs: config.store.busyTimeoutMs,
    clock: deps.clock,
    log: deps.log.child({ module: 'store' }),
    version: deps.version,
  });
  // Offline grants: trust, replay set, challenges; persists the clock floor at a clean stop. A
  // root-signed time that re-anchors the floor is put on the audit log (started before access).
  const access = accessModule({
    store: () => store.store(),
    clock: deps.clock,
    log: deps.log.child({ module: 'access' }),
    policy: accessPolicy(config.access),
    audit: () => audit.log(),
  });
  // The smart lock (config `lock.driver`: zwave | ble | none); after the store, before anything that unlocks.
  const lock = lockDriverFor(config.lock, { stateDir: config.stateDir, clock: deps.clock, log: deps.log.child({ module: 'lock' }) });
  // The tamper-evident log: boot/shutdown entries, checkpoints, retention of what the cloud acked.
  const audit = auditModule({
    store: () => store.store(),
    clock: deps.clock,
    log: deps.log.child({ module: 'audit' }),
    version: deps.version,
    checkpointEvery: config.audit.checkpointEvery,
    retention: { keepMs: config.audit.retentionDays * 86_400_000, everyMs: 3_600_000 },
    onAuditFailure: deps.onAuditFailure,
  });
  // The cloud: link (never blocks start: the hub works offline), outbox, signed downlink.
  const settings = cloudSettings(config.cloud);
  const cloud =
    settings === undefined
      ? undefined
      : cloudModules({
          settings,
          stateDir: config.stateDir,
          store: () => store.store(),
          audit: () => audit.log(),
          access: () => access.service(),
          // Signed `commands` (issue 8, Cloud link 4): lock now, checkpoint now, publish state now.
          commands: {
            ...(lock === undefined ? {} : { lock: () => lock }),
            clockSkewMs: accessPolicy(config.access).clockSkewMs,
            onAuditFailure: deps.onAuditFailure,
          },
          clock: deps.clock,
          log: deps.log.child({ module: 'cloud' }),
          version: deps.version,
        });
  // The door camera: streaming from start so a visit's clip has its pre-roll; stalls are audited.
  const camera = cameraFor(config.camera, deps);
  const { onAuditFailure } = deps;
  const bridges: Module[] = [
    ...(lock === undefined ? [] : [lockAuditModule({ lock: () => lock, audit: () => audit.log(), log: deps.log.child({ module: 'lock' }), onAuditFailure })]),
    ...(camera === undefined ? [] : [cameraAuditModule({ camera: () => camera, audit: () => audit.log(), onAuditFailure })]),
  ];
  // The audit bridges listen before the lock and the camera start and until they have stopped:
  // a manual unlock or a jam while the Z-Wave driver is still interviewing is on record too.
  const modules: Module[] = [
    store,
    audit,
    access,
    ...bridges,
    ...(lock === undefined ? [] : [lock]),
    ...(camera === undefined ? [] : [camera]),
    ...(cloud?.modules ?? []),
  ];
  return { modules, store, access, lock, audit, cloud, camera };
}

function cameraFor(camera: LoadedConfig['config']['camera'], deps: { clock: Clock; log: Logger }): Camera | undefined {
  if (camera.url === undefined) return undefined;
  const credentials = camera.username !== undefined && camera.password !== undefined ? { username: camera.username, password: camera.password } : undefined;
  return new Camera({
    url: camera.url,
    credentials,
    transport: camera.transport,
    preRollS: camera.preRollS,
    stallS: camera.stallS,
    clock: deps.clock,
    log: deps.log.child({ module: 'camera' }),
  });
}

function cloudSettings(cloud: LoadedConfig['config']['cloud']): CloudSettings | undefined {
  switch (cloud.broker) {
    case 'none':
      return undefined;
    case 'embedded':
      return { broker: 'embedded', port: cloud.port };
    case 'external':
      // The schema requires these four when broker is external.
      return { broker: 'external', url: cloud.url ?? '', certFile: cloud.certFile ?? '', keyFile: cloud.keyFile ?? '', caFile: cloud.caFile ?? '' };
  }
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
  // A failed audit write is never swallowed: the daemon stops with a non-zero exit and systemd
  // restarts it (Restart=on-failure); the lock stays as it is meanwhile (fail secure).
  let auditFailed = false;
  const onAuditFailure = (err: unknown): void => {
    auditFailed = true;
    log.fatal({ err }, `audit write failed: stopping the daemon (${(err as Error)?.message ?? String(err)})`);
    store.setOutcome('failed: audit write');
    shutdown.abort(err);
    stopRequested('audit-failure');
  };
  const { modules, store, access } = composeModules(loaded, { clock: options.clock, log, version, onAuditFailure });
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
  // Keeps the event loop alive while idle; the modules' own handles may come and go.
  const keepAlive = setInterval(() => {}, 1 << 30);

  try {
    let started: Module[];
    try {
      started = await startAll(modules, shutdown.signal, log);
    } catch (err) {
      if (shutdown.signal.aborted) {
        // A failed audit write aborts the start too: that is a failure, never a requested stop.
        if (auditFailed) return ExitCode.FAILURE;
        log.info('shutdown requested during start: stopped what had started');
        return ExitCode.OK;
      }
      log.fatal({ code: (err as HubError).code, detail: (err as Error).stack }, err instanceof HubError ? err.toLine() : String(err));
      return exitCodeFor(err);
    }

    store.markReady();
    const id = hubId(store.store());
    notifier.ready(`hub ${id} ready`);
    notifier.startWatchdog();
    log.info({ hubId: id, modules: started.map((m) => m.name), access: access.service().status() }, 'keyhub ready');

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
  }
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
