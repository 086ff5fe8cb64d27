/**
 * What the Z-Wave lock tells the hub on its own, turned into state, events and wake-ups: Door Lock
 * Operation Reports (bolt, door), Notification CC (Access Control, Home Security), Battery CC, and
 * zwave-js's node dead/alive. A command in flight marks where it started (`mark()`) and asks
 * `outcome()` whether the lock has since reported the bolt where it was sent, or jammed.
 */
import type { ZWaveNode } from 'zwave-js';
import type { Clock } from '../../system/clock.js';
import { ErrorCode, HubError } from '../../system/errors.js';
import type { Logger } from '../../system/logger.js';
import { LockEventFanout } from '../lock-events.js';
import { LockStateTracker } from '../lock-state.js';
import type { LockEvent } from '../lock.js';
import { EVENT_VALUED_VARIABLES, NOTIFICATION_TYPE_BY_NAME, interpretNotification } from './notifications.js';
import { CC, DOOR_LOCK_MODE } from './zwave-runtime.js';

export type Bolt = 'locked' | 'unlocked';

export interface LockReportsOptions {
  clock: Clock;
  log: Logger;
  stateMaxAgeMs: number;
  /** At or below this % a battery-low event goes out (once per crossing). */
  lowBatteryPercent: number;
  /** How long a command waits for the next report before asking the lock again. */
  pollMs: number;
}

/** Where a command started: reports counted after it are its outcome. */
export interface Mark {
  seq: number;
  jams: number;
}

export class LockReports {
  readonly tracker: LockStateTracker;
  readonly events: LockEventFanout;
  readonly #o: LockReportsOptions;
  #boltSeq = 0;
  #lastReportedBolt: Bolt | 'jammed' | undefined;
  #jams = 0;
  #batteryLow = false;
  #lastDoor: 'open' | 'closed' | undefined;
  /**
   * Whether the lock has a door sensor (Door Lock CC v4 Capabilities Report, as zwave-js keeps it).
   * Without one, the door bit of an Operation Report is meaningless (it reads as "open"): ignored.
   */
  #doorSensor: () => boolean = () => true;
  /** The bolt position a command of ours is waiting for, while one is. */
  #awaiting: { target: Bolt } | undefined;
  #everConnected = false;
  readonly #wakers = new Set<() => void>();
  #unbind: (() => void) | undefined;

  constructor(options: LockReportsOptions) {
    this.#o = options;
    this.tracker = new LockStateTracker({ clock: options.clock, maxAgeMs: options.stateMaxAgeMs });
    this.events = new LockEventFanout((err, event) => options.log.error({ err, event: event.kind }, 'lock event listener failed'));
  }

  mark(): Mark {
    return { seq: this.#boltSeq, jams: this.#jams };
  }

  /** A command now waits for the bolt at `target`; the returned function says it stopped waiting. */
  expect(target: Bolt): () => void {
    const token = { target };
    this.#awaiting = token;
    return () => {
      // Only its own: a command timed out may finish after the next one began waiting.
      if (this.#awaiting === token) this.#awaiting = undefined;
    };
  }

  /** True once the lock reported `target` after `mark`; throws LOCK_JAMMED on a jam since, or the abort reason. */
  outcome(target: Bolt, mark: Mark, signal: AbortSignal): boolean {
    signal.throwIfAborted();
    if (this.#jams !== mark.jams) {
      throw new HubError(ErrorCode.LOCK_JAMMED, `the lock reported its bolt jammed while trying to ${target === 'locked' ? 'lock' : 'unlock'}`);
    }
    return this.#boltSeq !== mark.seq && this.#lastReportedBolt === target;
  }

  /** Settles on the next report from the lock, or after `waitMs` (default pollMs); rejects when aborted. */
  next(signal: AbortSignal, waitMs = this.#o.pollMs): { done: Promise<void>; cancel(): void } {
    let cancel = (): void => {};
    const done = new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown): void => {
        timer.cancel();
        this.#wakers.delete(wake);
        signal.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const wake = (): void => finish();
      const onAbort = (): void => finish(signal.reason);
      const timer = this.#o.clock.setTimeout(wake, waitMs);
      this.#wakers.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
      cancel = wake;
    });
    return { done, cancel };
  }

  wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  onOperationReport(currentMode: unknown, doorStatus: unknown): void {
    const bolt = boltFromMode(currentMode);
    if (bolt !== undefined) this.#reportBolt(bolt);
    if ((doorStatus === 'open' || doorStatus === 'closed') && this.#doorSensor()) {
      // The Operation Report's door status is a reading, not an event: it updates state, but a
      // change it reveals is a door event all the same.
      if (this.#lastDoor !== undefined && doorStatus !== this.#lastDoor) this.#emit({ kind: 'door', door: doorStatus, atMs: this.#o.clock.now() });
      this.#lastDoor = doorStatus;
      this.tracker.update({ door: doorStatus });
    }
  }

  onNotification(type: number, event: number, parameters: unknown): void {
    const meaning = interpretNotification(type, event, parameters, this.#o.clock.now());
    if (meaning.patch.bolt === 'jammed') this.#jams++;
    if (meaning.patch.bolt !== undefined) this.#reportBolt(meaning.patch.bolt);
    if (meaning.patch.door !== undefined) this.tracker.update({ door: meaning.patch.door });
    // A door state re-read (pull-mode polls, repeated reports) is not a new door event.
    const repeatDoor = meaning.event?.kind === 'door' && meaning.event.door === this.#lastDoor;
    if (meaning.patch.door !== undefined) this.#lastDoor = meaning.patch.door;
    if (meaning.event !== undefined && !repeatDoor) this.#emit(this.#withCommand(meaning.event));
    this.wakeAll();
  }

  onBattery(level: number, isLow: boolean): void {
    const percent = isLow && level === 0 ? 0 : level;
    this.tracker.update({ batteryPercent: percent });
    const low = isLow || percent <= this.#o.lowBatteryPercent;
    if (low && !this.#batteryLow) this.#emit({ kind: 'battery-low', percent, atMs: this.#o.clock.now() });
    this.#batteryLow = low;
  }

  setConnected(connected: boolean): void {
    const was = this.tracker.connected;
    this.tracker.setConnected(connected);
    if (connected === was) return;
    if (connected) {
      if (this.#everConnected) this.#emit({ kind: 'connection-restored', atMs: this.#o.clock.now() });
      this.#everConnected = true;
    } else if (this.#everConnected) {
      this.#emit({ kind: 'connection-lost', atMs: this.#o.clock.now() });
    }
  }

  /** Listens to one lock node (replacing any earlier one); `dead` is its status right now. */
  bind(node: ZWaveNode, dead: boolean): void {
    this.unbind();
    this.#doorSensor = () => node.getValue({ commandClass: CC.DoorLock, property: 'doorSupported' }) !== false;
    const onNotification = (_n: unknown, ccId: number, args: { type?: number; event?: number; parameters?: unknown }): void => {
      if (ccId === CC.Notification && typeof args.type === 'number' && typeof args.event === 'number') {
        this.onNotification(args.type, args.event, args.parameters);
      }
    };
    const onValue = (_n: unknown, args: { commandClass: number; property: string | number; propertyKey?: string | number; newValue?: unknown }): void => {
      if (args.commandClass === CC.UserCode && args.property === 'userCode') {
        // zwave-js keeps every code it reads or sets in its value cache, which it writes to disk
        // under the state directory: a PIN must live only in the hub's store. The driver confirms
        // codes from the reports themselves, never from this cache.
        node.valueDB.removeValue({ commandClass: CC.UserCode, property: 'userCode', propertyKey: args.propertyKey }, { noEvent: true });
        return;
      }
      if (args.commandClass === CC.DoorLock && args.property === 'currentMode') this.onOperationReport(args.newValue, undefined);
      else if (args.commandClass === CC.DoorLock && args.property === 'doorStatus') this.onOperationReport(undefined, args.newValue);
      else if (args.commandClass === CC.Notification && typeof args.newValue === 'number' && args.newValue !== 0) {
        // zwave-js keeps stateful notifications (door state, lock jammed, cover status) as values
        // named after the notification type instead of emitting a "notification" event for them.
        const type = NOTIFICATION_TYPE_BY_NAME.get(String(args.property));
        if (type !== undefined && EVENT_VALUED_VARIABLES.has(String(args.propertyKey))) this.onNotification(type, args.newValue, undefined);
      } else if (args.commandClass === CC.Battery && args.property === 'level' && typeof args.newValue === 'number') {
        this.onBattery(args.newValue, node.getValue<boolean>({ commandClass: CC.Battery, property: 'isLow' }) === true);
      }
    };
    const onDead = (): void => this.setConnected(false);
    const onAlive = (): void => this.setConnected(true);
    node.on('notification', onNotification as never);
    node.on('value updated', onValue as never);
    node.on('value added', onValue as never);
    node.on('dead', onDead);
    node.on('alive', onAlive);
    this.#unbind = () => {
      node.off('notification', onNotification as never);
      node.off('value updated', onValue as never);
      node.off('value added', onValue as never);
      node.off('dead', onDead);
      node.off('alive', onAlive);
    };
    this.setConnected(!dead);
  }

  unbind(): void {
    this.#unbind?.();
    this.#unbind = undefined;
  }

  #reportBolt(bolt: Bolt | 'jammed'): void {
    this.#boltSeq++;
    this.#lastReportedBolt = bolt;
    this.tracker.update({ bolt });
    this.wakeAll();
  }

  /** Says whether the hub's command in flight is behind a bolt report or a jam. */
  #withCommand(event: LockEvent): LockEvent {
    const awaiting = this.#awaiting?.target;
    if (event.kind === 'jammed') return awaiting === undefined ? event : { ...event, during: awaiting === 'locked' ? 'lock' : 'unlock' };
    if ((event.kind === 'locked' || event.kind === 'unlocked') && event.by === 'hub') return { ...event, awaited: awaiting === event.kind };
    return event;
  }

  #emit(event: LockEvent): void {
    this.#o.log.info({ event }, 'lock event');
    this.events.emit(event);
  }
}

function boltFromMode(mode: unknown): Bolt | undefined {
  if (typeof mode !== 'number') return undefined;
  if (mode === DOOR_LOCK_MODE.Secured) return 'locked';
  // 0xFE is "unknown" (bolt not in a defined position); any other mode has the bolt retracted.
  if (mode === DOOR_LOCK_MODE.Unknown) return undefined;
  return 'unlocked';
}
