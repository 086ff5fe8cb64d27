/**
 * The Z-Wave lock driver: zwave-js on the stick's serial port (a device path, or `tcp://host:port`
 * for a ser2net bridge — the simulated stick in sim/lock/zwave is one). Speaks Door Lock CC
 * (Operation Set/Get/Report), User Code CC (Set/Get), Notification CC (Access Control, Home
 * Security) and Battery CC to one lock node (Z-Wave CC spec, SDS13781).
 *
 * A lock()/unlock() resolves only on the lock's own word: an Operation Report (answering our Get or
 * unsolicited when the motor stops) or an Access Control notification with the bolt in the asked
 * position. Driving a Set through `commandClasses['Door Lock'].set()` (not node.setValue) keeps
 * zwave-js from writing an optimistic currentMode, so every value we see came from the lock.
 *
 * The stick going away: zwave-js reopens a port that closed by itself; when it cannot, it destroys
 * the driver and emits "error". Then the lock reads unknown, a connection-lost event goes out, and a
 * new driver is started with backoff until the stick answers again.
 */
import { mkdirSync } from 'node:fs';
import type { Driver, ZWaveNode } from 'zwave-js';
import type { Clock, Timer } from '../../system/clock.js';
import { ErrorCode, HubError, isHubError } from '../../system/errors.js';
import type { Logger } from '../../system/logger.js';
import { CommandQueue } from '../command-queue.js';
import type { CodeSlot, LockDriver, LockEventListener, LockState } from '../lock.js';
import { checkCode, clearCode, readCodes, setCode, slotCount } from './keypad.js';
import { LockReports, type Bolt } from './lock-reports.js';
import type { NetworkKeysHex } from '../../config/network-keys.js';
import { parseNetworkKeys } from './security-keys.js';
import { CC, DOOR_LOCK_MODE, SUPERVISION_STATUS, loadZwave, radio, zwaveRejectionGuard, type ZwaveModules } from './zwave-runtime.js';

export interface ZwaveLockOptions {
  /** `/dev/serial/by-id/…`, `/dev/ttyUSB0`, or `tcp://host:port`. */
  port: string;
  keys: NetworkKeysHex;
  /** zwave-js's network cache (under the hub's state directory). */
  cacheDir: string;
  /**
   * Where zwave-js keeps the lock files of its cache (default: the cache directory). A process
   * killed mid-write leaves its lock behind, and zwave-js will not open the cache again until the
   * lock is stale (10 s): put it where a restart after a crash finds it gone (systemd's
   * RuntimeDirectory is emptied when the daemon dies), so the door is relocked at once.
   */
  lockDir?: string;
  /** The lock's node id; by default the first node with Door Lock CC. */
  nodeId?: number | undefined;
  commandTimeoutMs: number;
  /** A bolt/door reading older than this reads unknown. */
  stateMaxAgeMs: number;
  clock: Clock;
  log: Logger;
  /** After a Set, how long to wait for the lock's own report before asking (Get), ms. */
  reportGraceMs?: number;
  /** While waiting for the bolt, ask the lock again this often (ms). */
  pollMs?: number;
  /** Below this battery % the hub does not unlock: the lock might not manage to relock. */
  minBatteryToUnlockPercent?: number;
  /** At or below this % a battery-low event goes out (once per crossing). */
  lowBatteryPercent?: number;
  /** How often zwave-js tries to reopen a vanished port before giving up (1 s apart). */
  serialOpenAttempts?: number;
  /** Waiting for the lock node's interview at start is capped at this (ms). */
  readyWaitMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** zwave-js's own log on the console (debugging only). */
  zwaveLog?: boolean;
}

export interface InclusionOptions {
  /** Shows the installer the DSK; resolves with the 5-digit PIN from the lock's label, or false to refuse. */
  validateDsk(dsk: string): Promise<string | false>;
  timeoutMs?: number;
}

export interface ZwaveLock extends LockDriver {
  /** The lock's node id, once one is known. */
  readonly nodeId: number | undefined;
  /** Adds a lock with S2 Access Control (the installer put it in inclusion mode). */
  include(options: InclusionOptions): Promise<{ nodeId: number; securityClass: string }>;
  /** Removes a lock from the network (the installer put it in exclusion mode). */
  exclude(options?: { timeoutMs?: number }): Promise<{ nodeId: number }>;
}

/** A Z-Wave lock's id: the network's home id (32 bits, hex) and the lock's node id. */
export function zwaveLockId(homeId: number, nodeId: number): string {
  return `zwave-${homeId.toString(16).padStart(8, '0')}-${nodeId}`;
}

export function zwaveLock(options: ZwaveLockOptions): ZwaveLock {
  return new ZwaveLockDriver(options);
}

class ZwaveLockDriver implements ZwaveLock {
  readonly name = 'lock-zwave';
  readonly #o: Required<Omit<ZwaveLockOptions, 'nodeId' | 'lockDir'>> & { nodeId: number | undefined; lockDir: string };
  readonly #log: Logger;
  readonly #queue: CommandQueue;
  readonly #reports: LockReports;
  #zw: ZwaveModules | undefined;
  #driver: Driver | undefined;
  #node: ZWaveNode | undefined;
  #running = false;
  #restartTimer: Timer | undefined;
  #refreshTimer: Timer | undefined;
  #backoffMs: number;

  constructor(options: ZwaveLockOptions) {
    this.#o = {
      reportGraceMs: 250,
      pollMs: 1000,
      minBatteryToUnlockPercent: 10,
      lowBatteryPercent: 20,
      serialOpenAttempts: 3,
      readyWaitMs: 30_000,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30_000,
      zwaveLog: false,
      ...options,
      nodeId: options.nodeId,
      lockDir: options.lockDir ?? options.cacheDir,
    };
    this.#log = options.log;
    this.#backoffMs = this.#o.reconnectMinMs;
    this.#queue = new CommandQueue({ clock: options.clock, timeoutMs: options.commandTimeoutMs });
    this.#reports = new LockReports({
      clock: options.clock,
      log: options.log,
      stateMaxAgeMs: options.stateMaxAgeMs,
      lowBatteryPercent: this.#o.lowBatteryPercent,
      pollMs: this.#o.pollMs,
    });
  }

  get nodeId(): number | undefined {
    return this.#node?.id ?? this.#o.nodeId;
  }

  // --- Module -------------------------------------------------------------------------------

  async start(signal: AbortSignal): Promise<void> {
    const keys = parseNetworkKeys(this.#o.keys);
    mkdirSync(this.#o.cacheDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.#o.lockDir, { recursive: true, mode: 0o700 });
    this.#zw ??= loadZwave();
    this.#running = true;
    process.on('unhandledRejection', this.#onUnhandledRejection);
    // A quiet lock sends nothing for hours; ask it before its state ages into `unknown`.
    this.#refreshTimer = this.#o.clock.setInterval(() => this.#refreshIdle(), Math.max(1000, this.#o.stateMaxAgeMs / 2));
    try {
      await this.#open(keys, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      // The daemon still starts without its stick (the LAN page must say "lock unreachable");
      // the driver keeps trying in the background.
      this.#log.error({ err: String(err), port: this.#o.port }, 'Z-Wave stick not usable; retrying in the background');
      this.#scheduleRestart();
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#restartTimer?.cancel();
    this.#refreshTimer?.cancel();
    this.#queue.cancelAll(new HubError(ErrorCode.LOCK_DRIVER_STOPPED, 'the lock driver is stopping'));
    this.#reports.wakeAll();
    await this.#closeDriver();
    this.#reports.setConnected(false);
    // Only now: zwave-js's handlers still in flight settle while the driver is destroyed.
    process.off('unhandledRejection', this.#onUnhandledRejection);
  }

  /** See zwaveRejectionGuard: set while the driver runs. */
  readonly #onUnhandledRejection = (reason: unknown): void => zwaveRejectionGuard(this.#zw, this.#log, this.#closing > 0)(reason);
  #closing = 0;

  // --- Lock ---------------------------------------------------------------------------------

  lock(): Promise<void> {
    return this.#bolt('locked');
  }

  unlock(): Promise<void> {
    return this.#bolt('unlocked');
  }

  state(): LockState {
    return this.#reports.tracker.snapshot();
  }

  id(): string | undefined {
    const homeId = this.#driver?.controller.homeId;
    const nodeId = this.#node?.id;
    if (homeId === undefined || nodeId === undefined) return undefined;
    return zwaveLockId(homeId, nodeId);
  }

  onEvent(listener: LockEventListener): () => void {
    return this.#reports.events.subscribe(listener);
  }

  setCode(slot: number, code: string): Promise<void> {
    try {
      checkCode(code);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.run(`setCode:${slot}:${code}`, () => setCode(this.#readyNode(), slot, code), { label: `setCode:${slot}` });
  }

  clearCode(slot: number): Promise<void> {
    return this.#queue.run(`clearCode:${slot}`, () => clearCode(this.#readyNode(), slot));
  }

  codes(): Promise<readonly CodeSlot[]> {
    // One Get per slot: allow a command's worth of time for every five slots.
    const timeoutMs = this.#o.commandTimeoutMs * Math.max(1, Math.ceil(slotCount(this.#node) / 5));
    return this.#queue.run('codes', (signal) => readCodes(this.#readyNode(), signal), { timeoutMs });
  }

  // --- inclusion ----------------------------------------------------------------------------

  async include(options: InclusionOptions): Promise<{ nodeId: number; securityClass: string }> {
    const { include } = await import('./inclusion.js');
    const driver = this.#readyDriver();
    const node = await include(driver, this.#modules(), { ...options, clock: this.#o.clock, log: this.#log });
    this.#bindNode(node);
    await this.#refresh(node);
    const zw = this.#modules();
    const highest = node.getHighestSecurityClass();
    return { nodeId: node.id, securityClass: highest === undefined ? 'none' : String(zw.core.SecurityClass[highest]) };
  }

  async exclude(options: { timeoutMs?: number } = {}): Promise<{ nodeId: number }> {
    const { exclude } = await import('./inclusion.js');
    const nodeId = await exclude(this.#readyDriver(), { timeoutMs: options.timeoutMs ?? 60_000, clock: this.#o.clock });
    if (this.#node?.id === nodeId) {
      this.#reports.unbind();
      this.#node = undefined;
      this.#reports.setConnected(false);
    }
    return { nodeId };
  }

  // --- commands -----------------------------------------------------------------------------

  async #bolt(target: Bolt): Promise<void> {
    try {
      await this.#queue.run(target === 'locked' ? 'lock' : 'unlock', (signal) => this.#moveBolt(target, signal));
    } catch (err) {
      // No confirmed outcome: the bolt may be anywhere now, so the hub must not claim to know.
      if (isHubError(err, ErrorCode.LOCK_TIMEOUT) || isHubError(err, ErrorCode.LOCK_UNREACHABLE)) this.#reports.tracker.forgetBolt();
      throw err;
    }
  }

  async #moveBolt(target: Bolt, signal: AbortSignal): Promise<void> {
    const node = this.#readyNode();
    const battery = this.#reports.tracker.snapshot().batteryPercent;
    if (target === 'unlocked' && battery !== undefined && battery < this.#o.minBatteryToUnlockPercent) {
      throw new HubError(ErrorCode.LOCK_BATTERY_TOO_LOW, `battery at ${battery}%: not unlocking a lock that may not relock`);
    }
    const reports = this.#reports;
    const mark = reports.mark();
    // A timed-out command stops waiting at once: a report after that is nobody's confirmation.
    const stopWaiting = reports.expect(target);
    signal.addEventListener('abort', stopWaiting, { once: true });
    try {
      await this.#driveBolt(node, target, mark, signal);
    } finally {
      stopWaiting();
      signal.removeEventListener('abort', stopWaiting);
    }
  }

  async #driveBolt(node: ZWaveNode, target: Bolt, mark: ReturnType<LockReports['mark']>, signal: AbortSignal): Promise<void> {
    const api = node.commandClasses['Door Lock'];
    const reports = this.#reports;
    const verb = target === 'locked' ? 'lock' : 'unlock';
    const result = await radio(() => api.set(target === 'locked' ? DOOR_LOCK_MODE.Secured : DOOR_LOCK_MODE.Unsecured), verb);
    if (result?.status === SUPERVISION_STATUS.Fail) {
      // A supervised Set the lock could not carry out (Supervision CC "Fail"): read the bolt once,
      // which also gives its jam notification time to arrive, then say which it was.
      await radio(() => api.get(), 'read the bolt')
        .then((r) => r !== undefined && reports.onOperationReport(r.currentMode, r.doorStatus))
        .catch(() => {});
      reports.outcome(target, mark, signal);
      throw new HubError(ErrorCode.LOCK_NOT_CONFIRMED, `the lock refused to ${verb} (Supervision Report: fail)`);
    }
    // Locks report on their own when the bolt stops (Access Control notification, Operation
    // Report): listen for that first, and only ask (Get) when it does not come. A Get sent at once
    // would cross the lock's own report on the air and cost more than it saves.
    let wait = this.#o.reportGraceMs;
    for (;;) {
      if (reports.outcome(target, mark, signal)) return;
      await reports.next(signal, wait).done;
      wait = this.#o.pollMs;
      if (reports.outcome(target, mark, signal)) return;
      const early = reports.next(signal);
      const get = radio(() => api.get(), 'read the bolt').then((report) => {
        if (report !== undefined) reports.onOperationReport(report.currentMode, report.doorStatus);
      });
      try {
        // A report from the lock may settle the command before our Get is answered.
        await Promise.race([get, early.done]);
        if (reports.outcome(target, mark, signal)) return;
        await get;
      } finally {
        early.cancel();
      }
    }
  }

  #readyDriver(): Driver {
    if (!this.#running) throw new HubError(ErrorCode.LOCK_DRIVER_STOPPED, 'the lock driver is not running');
    if (this.#driver === undefined || !this.#driver.ready) throw new HubError(ErrorCode.LOCK_UNREACHABLE, `the Z-Wave stick (${this.#o.port}) is not available`);
    return this.#driver;
  }

  #readyNode(): ZWaveNode {
    this.#readyDriver();
    if (this.#node === undefined) throw new HubError(ErrorCode.LOCK_NOT_PAIRED, 'no Z-Wave lock is included in the network');
    return this.#node;
  }

  // --- driver lifecycle ---------------------------------------------------------------------

  #modules(): ZwaveModules {
    if (this.#zw === undefined) throw new HubError(ErrorCode.LOCK_DRIVER_STOPPED, 'the lock driver was never started');
    return this.#zw;
  }

  async #open(keys: ReturnType<typeof parseNetworkKeys>, signal: AbortSignal): Promise<void> {
    const zw = this.#modules();
    const driver = new zw.zw.Driver(this.#o.port, {
      securityKeys: keys,
      storage: { cacheDir: this.#o.cacheDir, lockDir: this.#o.lockDir },
      logConfig: this.#o.zwaveLog ? { enabled: true, level: 'debug', forceConsole: true } : { enabled: false },
      // `openSerialPort` is honoured by zwave-js (Driver defaults: 10) but missing from its option types.
      attempts: { openSerialPort: this.#o.serialOpenAttempts } as Record<string, number>,
      // With `false`, zwave-js 15 DELETES every user code at a node's first interview (User Code
      // CC, CL:0063.01.22.01.1 allows it right after inclusion), and a lost cache makes any
      // interview a first one: the owner's own codes would be gone. Reading them (one Get per slot,
      // only at a first interview) is the price of leaving them alone.
      interview: { queryAllUserCodes: true },
    });
    this.#driver = driver;
    const ready = new Promise<void>((resolve, reject) => {
      driver.once('driver ready', () => resolve());
      driver.on('error', (err) => {
        reject(err);
        this.#onDriverError(driver, err);
      });
    });
    ready.catch(() => {});
    const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    aborted.catch(() => {});
    try {
      await Promise.race([driver.start().then(() => ready), aborted]);
    } catch (err) {
      await this.#closeDriver();
      throw new HubError(ErrorCode.LOCK_DRIVER_FAILED, `cannot start the Z-Wave driver on ${this.#o.port}: ${String((err as Error)?.message ?? err)}`, { cause: err });
    }
    this.#backoffMs = this.#o.reconnectMinMs;
    let node = this.#findLockNode(driver);
    if (node === undefined && !driver.allNodesReady) {
      // A network without a cache: which node is a lock is only known once nodes are interviewed.
      await this.#waitFor((done) => driver.once('all nodes ready', done), (done) => driver.off('all nodes ready', done), signal);
      node = this.#findLockNode(driver);
    }
    if (node === undefined) {
      this.#log.warn({ port: this.#o.port }, 'no lock in the Z-Wave network yet: include one');
      return;
    }
    this.#bindNode(node);
    if (!node.ready) await this.#waitReady(node, signal);
    await this.#refresh(node);
    this.#log.info({ nodeId: node.id, status: node.status }, 'Z-Wave lock ready');
  }

  #findLockNode(driver: Driver): ZWaveNode | undefined {
    if (this.#o.nodeId !== undefined) return driver.controller.nodes.get(this.#o.nodeId);
    for (const node of driver.controller.nodes.values()) {
      if (node.id !== driver.controller.ownNodeId && node.supportsCC(CC.DoorLock)) return node;
    }
    return undefined;
  }

  #waitReady(node: ZWaveNode, signal: AbortSignal): Promise<void> {
    return this.#waitFor((done) => node.once('ready', done), (done) => node.off('ready', done), signal);
  }

  /** Waits for an event, at most readyWaitMs (then carries on: the lock reads unknown until it talks). */
  async #waitFor(on: (done: () => void) => void, off: (done: () => void) => void, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        timer.cancel();
        off(finish);
        signal.removeEventListener('abort', finish);
        resolve();
      };
      const timer = this.#o.clock.setTimeout(finish, this.#o.readyWaitMs);
      on(finish);
      signal.addEventListener('abort', finish, { once: true });
    });
    signal.throwIfAborted();
  }

  /** The periodic read of an idle lock: through the queue (never beside a command), failures only logged. */
  #refreshIdle(): void {
    const node = this.#node;
    if (!this.#running || node === undefined || this.#driver?.ready !== true || this.#queue.size > 0) return;
    this.#queue.run('refresh', () => this.#refresh(node)).catch(() => {});
  }

  /** Reads bolt, door and battery once, so state() is fresh right after start or inclusion. */
  async #refresh(node: ZWaveNode): Promise<void> {
    try {
      const op = await node.commandClasses['Door Lock'].get();
      if (op !== undefined) this.#reports.onOperationReport(op.currentMode, op.doorStatus);
      if (node.supportsCC(CC.Battery)) {
        const battery = await node.commandClasses.Battery.get();
        if (battery !== undefined) this.#reports.onBattery(battery.level, node.getValue<boolean>({ commandClass: CC.Battery, property: 'isLow' }) === true);
      }
    } catch (err) {
      // A refresh is not a command: the lock stays `unknown` and the next report fixes it.
      this.#log.warn({ err: String(err), nodeId: node.id }, 'could not read the lock after start');
    }
  }

  #bindNode(node: ZWaveNode): void {
    this.#node = node;
    this.#reports.bind(node, node.status === this.#modules().zw.NodeStatus.Dead);
  }

  #onDriverError(driver: Driver, err: Error): void {
    if (driver !== this.#driver) return;
    const fatal = (err as { code?: unknown }).code === this.#modules().core.ZWaveErrorCodes.Driver_Failed;
    this.#log.error({ err: err.message, fatal }, 'Z-Wave driver error');
    if (!fatal || !this.#running) return;
    this.#reports.setConnected(false);
    this.#queue.cancelAll(new HubError(ErrorCode.LOCK_UNREACHABLE, `the Z-Wave stick (${this.#o.port}) went away: ${err.message}`));
    this.#reports.wakeAll();
    void this.#closeDriver().then(() => this.#scheduleRestart());
  }

  #scheduleRestart(): void {
    if (!this.#running) return;
    this.#restartTimer?.cancel();
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#o.reconnectMaxMs, this.#backoffMs * 2);
    this.#log.info({ inMs: delay }, 'restarting the Z-Wave driver');
    this.#restartTimer = this.#o.clock.setTimeout(() => {
      if (!this.#running) return;
      const keys = parseNetworkKeys(this.#o.keys);
      this.#open(keys, new AbortController().signal).catch((err: unknown) => {
        this.#log.warn({ err: String(err) }, 'Z-Wave stick still not usable');
        this.#scheduleRestart();
      });
    }, delay);
  }

  async #closeDriver(): Promise<void> {
    this.#reports.unbind();
    const driver = this.#driver;
    this.#driver = undefined;
    this.#node = undefined;
    if (driver === undefined) return;
    this.#closing++;
    try {
      await driver.destroy().catch(() => {});
      // One more turn of the event loop (a yield, not a delay: no Clock): rejections left behind by
      // the destroyed driver's internals are reported on it, while they are still expected.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.#closing--;
    }
  }
}
