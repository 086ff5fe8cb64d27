/**
 * The BLE lock driver: a Lock (hub/lock/lock.ts) over noble and the keyhub BLE lock protocol
 * (protocols/ble). It keeps one link to the paired lock (found by a scan filtered on the lock's
 * service UUID and its address), reconnects with exponential backoff when the link drops, and
 * runs every command through the CommandQueue (one at a time, joined, timed out on the Clock).
 *
 * A state-changing command is two exchanges: request a challenge, then send the action with that
 * challenge (the lock refuses a stale or reused one). `lock()`/`unlock()` resolve only on the
 * lock's STATUS reply for that request showing the bolt where it was asked to go.
 *
 * Without an adapter (or with it powered off) the driver starts anyway, logs that BLE is
 * unavailable, and fails commands with BLE_UNAVAILABLE: the rest of the hub keeps running.
 */
import { createHash } from 'node:crypto';
import type { RandomBytes } from '../../../protocols/ble/channel.js';
import { HubChannel } from '../../../protocols/ble/hub-channel.js';
import type { Envelope, HubCommand, LockReply } from '../../../protocols/ble/messages.js';
import type { Clock, Timer } from '../../system/clock.js';
import { ErrorCode, HubError, isHubError } from '../../system/errors.js';
import type { Logger } from '../../system/logger.js';
import { CommandQueue } from '../command-queue.js';
import { LockEventFanout } from '../lock-events.js';
import { LockStateTracker } from '../lock-state.js';
import { CODE_PATTERN, type CodeSlot, type LockDriver, type LockEventListener, type LockState } from '../lock.js';
import { adapterState, type AdapterState, type Central, type Noble } from './central.js';
import { BleLink } from './link.js';
import { pairBleLock, type BlePairing, type BlePairingStore } from './pairing.js';
import { sharedKey } from '../../../protocols/ble/channel.js';
import { NonceFloor } from './nonce-floor.js';
import { PendingReply } from './pending-reply.js';
import { findPeripheral } from './scan.js';
import { lockEvent, refusal, statusPatch } from './wire-mapping.js';

export interface BleLockOptions {
  central: Central;
  pairing: BlePairingStore;
  clock: Clock;
  log: Logger;
  commandTimeoutMs?: number;
  stateMaxAgeMs?: number;
  /** How often the driver asks for the lock's status while connected. */
  statusPollMs?: number;
  /** Commands are refused below this signal strength (the courier at the door, not in the truck). */
  rssiFloorDbm?: number;
  /** How long start() waits for the adapter to power on before calling BLE unavailable. */
  adapterWaitMs?: number;
  /** Scan + connect budget for one connection attempt. */
  connectTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Nonce counters reserved per write of the pairing record. */
  counterBlock?: number;
  random?: RandomBytes;
}

export class BleLockDriver implements LockDriver {
  readonly name = 'lock-ble';
  readonly #o: Required<Omit<BleLockOptions, 'random'>> & { random?: RandomBytes };
  readonly #log: Logger;
  readonly #queue: CommandQueue;
  readonly #tracker: LockStateTracker;
  readonly #events: LockEventFanout;
  #unavailable: string | undefined = 'not started';
  #pairing: BlePairing | undefined;
  #pairingProblem: HubError | undefined;
  #channel: HubChannel | undefined;
  #floor: NonceFloor | undefined;
  #link: BleLink | undefined;
  #connecting: Promise<BleLink> | undefined;
  readonly #pending = new PendingReply();
  #reconnectTimer: Timer | undefined;
  #reconnectAttempts = 0;
  #pollTimer: Timer | undefined;
  #everConnected = false;
  #stopped = false;
  /** The bolt command in flight, if any: a jam the lock reports meanwhile happened under it. */
  #acting: 'lock' | 'unlock' | undefined;
  readonly #onAdapter = (state: AdapterState): void => this.#adapterChanged(state);

  constructor(options: BleLockOptions) {
    this.#o = {
      commandTimeoutMs: 10_000,
      stateMaxAgeMs: 120_000,
      statusPollMs: 30_000,
      rssiFloorDbm: -90,
      adapterWaitMs: 5_000,
      connectTimeoutMs: 15_000,
      reconnectInitialMs: 1_000,
      reconnectMaxMs: 60_000,
      counterBlock: 1024,
      ...options,
    };
    this.#log = options.log;
    this.#queue = new CommandQueue({ clock: options.clock, timeoutMs: this.#o.commandTimeoutMs });
    this.#tracker = new LockStateTracker({ clock: options.clock, maxAgeMs: this.#o.stateMaxAgeMs });
    this.#events = new LockEventFanout((err, event) => this.#log.error({ err, event: event.kind }, 'a lock event listener threw'));
  }

  async start(_signal: AbortSignal): Promise<void> {
    this.#stopped = false;
    const central = this.#o.central;
    if (!central.available) return this.#markUnavailable(central.reason);
    const noble = central.noble;
    const state = await adapterState(noble, (fn) => this.#o.clock.setTimeout(fn, this.#o.adapterWaitMs));
    noble.on('stateChange', this.#onAdapter);
    if (state !== 'poweredOn') return this.#markUnavailable(`Bluetooth adapter is ${state}`);
    this.#unavailable = undefined;
    try {
      this.#pairing = this.#o.pairing.load();
    } catch (err) {
      // A damaged record must not take the whole hub down (the Z-Wave side, the LAN page): the
      // BLE lock stays unusable, every command says why, and pairing again repairs it.
      if (!isHubError(err)) throw err;
      this.#pairingProblem = err;
      this.#log.error({ code: err.code }, err.toLine());
      return;
    }
    if (this.#pairing === undefined) {
      this.#log.warn('no BLE lock is paired yet: every command is refused until one is paired');
      return;
    }
    this.#openChannel(this.#pairing);
    this.#pollTimer = this.#o.clock.setInterval(() => this.#poll(), this.#o.statusPollMs);
    this.#kickConnect();
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.cancelAll(new HubError(ErrorCode.LOCK_DRIVER_STOPPED, 'the BLE lock driver stopped'));
    this.#reconnectTimer?.cancel();
    this.#pollTimer?.cancel();
    if (this.#o.central.available) this.#o.central.noble.removeListener('stateChange', this.#onAdapter);
    this.#link?.close();
  }

  /** Pairs with a lock in pairing mode, stores the record, and connects to it. */
  async pair(options: { name: string; address?: string; timeoutMs?: number }): Promise<BlePairing> {
    const noble = this.#noble();
    const pairing = await pairBleLock({ noble, clock: this.#o.clock, log: this.#log, ...options, ...(this.#o.random ? { random: this.#o.random } : {}) });
    this.#link?.close();
    this.#o.pairing.save(pairing);
    this.#pairing = pairing;
    this.#pairingProblem = undefined;
    this.#openChannel(pairing);
    this.#pollTimer ??= this.#o.clock.setInterval(() => this.#poll(), this.#o.statusPollMs);
    this.#kickConnect();
    return pairing;
  }

  lock(): Promise<void> {
    return this.#act('lock');
  }

  unlock(): Promise<void> {
    return this.#act('unlock');
  }

  state(): LockState {
    return this.#tracker.snapshot();
  }

  id(): string | undefined {
    return this.#pairing === undefined ? undefined : bleLockId(this.#pairing.lockPublicKey);
  }

  onEvent(listener: LockEventListener): () => void {
    return this.#events.subscribe(listener);
  }

  setCode(slot: number, code: string): Promise<void> {
    if (!CODE_PATTERN.test(code) || !Number.isInteger(slot) || slot < 1 || slot > 250) {
      return Promise.reject(new HubError(ErrorCode.LOCK_CODE_INVALID, `slot ${slot} / code of ${code.length} characters is not accepted (4–10 digits, slot 1–250)`));
    }
    return this.#queue.run(`set-code:${slot}:${code}`, async (signal) => {
      const challenge = await this.#challenge(signal);
      await this.#exchange({ type: 'set-code', slot, code, challenge }, signal, 'code-ack');
      const back = (await this.#readCodes(signal)).find((s) => s.slot === slot);
      if (back?.code !== code) throw new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, `slot ${slot} did not read back the code just set`);
    }, { label: `set-code:${slot}` });
  }

  clearCode(slot: number): Promise<void> {
    if (!Number.isInteger(slot) || slot < 1 || slot > 250) return Promise.reject(new HubError(ErrorCode.LOCK_CODE_INVALID, `slot ${slot} is outside 1–250`));
    return this.#queue.run(`clear-code:${slot}`, async (signal) => {
      const challenge = await this.#challenge(signal);
      await this.#exchange({ type: 'clear-code', slot, challenge }, signal, 'code-ack');
      if ((await this.#readCodes(signal)).find((s) => s.slot === slot)?.inUse !== false) {
        throw new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, `slot ${slot} still reads back in use`);
      }
    });
  }

  codes(): Promise<readonly CodeSlot[]> {
    return this.#queue.run('codes', (signal) => this.#readCodes(signal));
  }

  // ---- commands ------------------------------------------------------------------------------

  #act(action: 'lock' | 'unlock'): Promise<void> {
    return this.#queue.run(action, async (signal) => {
      this.#acting = action;
      try {
        const link = await this.#ensureLink(signal);
        const rssi = await link.rssi();
        if (rssi < this.#o.rssiFloorDbm) {
          link.close();
          throw new HubError(ErrorCode.BLE_OUT_OF_RANGE, `the lock's signal is ${rssi} dBm, below the floor of ${this.#o.rssiFloorDbm} dBm`);
        }
        const challenge = await this.#challenge(signal);
        const done = await this.#exchange({ type: 'lock-action', action, challenge }, signal, 'status');
        if (done.type !== 'status') throw new HubError(ErrorCode.BLE_REFUSED, `unexpected ${done.type} reply`);
        this.#tracker.update(statusPatch(done.status));
        const want = action === 'lock' ? 'locked' : 'unlocked';
        if (done.status.bolt !== want) throw new HubError(ErrorCode.LOCK_NOT_CONFIRMED, `asked to ${action}, the lock reports the bolt ${done.status.bolt}`);
        // Its caller is waiting for exactly this: the command's confirmation, recorded by the caller.
        this.#events.emit({ kind: want, by: 'hub', awaited: true, atMs: this.#o.clock.now() });
      } catch (err) {
        if (isHubError(err, ErrorCode.LOCK_JAMMED)) this.#tracker.update({ bolt: 'jammed' });
        else if (!isHubError(err, ErrorCode.LOCK_NOT_CONFIRMED)) this.#tracker.forgetBolt();
        throw err;
      } finally {
        this.#acting = undefined;
      }
    }).catch((err: unknown) => {
      // A timeout is decided by the queue, outside the command: the bolt may be anywhere.
      if (isHubError(err, ErrorCode.LOCK_TIMEOUT)) this.#tracker.forgetBolt();
      throw err;
    });
  }

  async #challenge(signal: AbortSignal): Promise<Uint8Array> {
    const reply = await this.#exchange({ type: 'request-challenge' }, signal, 'challenge');
    if (reply.type !== 'challenge') throw new HubError(ErrorCode.BLE_REFUSED, `expected a challenge, got ${reply.type}`);
    return reply.challenge;
  }

  async #readCodes(signal: AbortSignal): Promise<CodeSlot[]> {
    const reply = await this.#exchange({ type: 'get-codes' }, signal, 'codes');
    if (reply.type !== 'codes') throw new HubError(ErrorCode.BLE_REFUSED, `expected codes, got ${reply.type}`);
    const byslot = new Map(reply.codes.map((c) => [c.slot, c.code]));
    return Array.from({ length: reply.slotCount }, (_, i) => {
      const code = byslot.get(i + 1);
      return { slot: i + 1, inUse: code !== undefined, code };
    });
  }

  async #refreshStatus(signal: AbortSignal): Promise<void> {
    const reply = await this.#exchange({ type: 'get-status' }, signal, 'status');
    if (reply.type === 'status') this.#tracker.update(statusPatch(reply.status));
  }

  /** Sends one command and waits for its reply of type `want` (or an error for it). */
  async #exchange(command: HubCommand, signal: AbortSignal, want: LockReply['type']): Promise<Envelope<LockReply>> {
    const link = await this.#ensureLink(signal);
    const channel = this.#channel!;
    this.#floor!.ensure(channel.nextCounter);
    const { frame, requestId } = channel.seal(command);
    const reply = this.#pending.expect(requestId, want, signal);
    try {
      await link.send(frame);
    } catch (err) {
      this.#pending.fail(new HubError(ErrorCode.BLE_LINK_LOST, `the link to the lock failed while sending ${command.type}`, { cause: err }));
    }
    return reply;
  }

  // ---- link ----------------------------------------------------------------------------------

  #noble(): Noble {
    if (this.#unavailable !== undefined || !this.#o.central.available) {
      throw new HubError(ErrorCode.BLE_UNAVAILABLE, `BLE is unavailable: ${this.#unavailable ?? 'no adapter'}`);
    }
    return this.#o.central.noble;
  }

  async #ensureLink(signal: AbortSignal): Promise<BleLink> {
    this.#noble();
    if (this.#pairingProblem !== undefined) throw this.#pairingProblem;
    if (this.#pairing === undefined) throw new HubError(ErrorCode.LOCK_NOT_PAIRED, 'no BLE lock is paired');
    if (this.#link?.isOpen) return this.#link;
    signal.throwIfAborted();
    return this.#connect();
  }

  #connect(): Promise<BleLink> {
    this.#connecting ??= this.#connectOnce().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connectOnce(): Promise<BleLink> {
    const noble = this.#noble();
    const pairing = this.#pairing!;
    const abort = new AbortController();
    const timer = this.#o.clock.setTimeout(
      () => abort.abort(new HubError(ErrorCode.LOCK_UNREACHABLE, `the BLE lock ${pairing.address} was not reachable within ${this.#o.connectTimeoutMs} ms`)),
      this.#o.connectTimeoutMs,
    );
    try {
      const peripheral = await findPeripheral(noble, (p) => p.id === pairing.peripheralId || p.address === pairing.address, abort.signal);
      const link = await new Promise<BleLink>((resolve, reject) => {
        abort.signal.addEventListener('abort', () => {
          peripheral.cancelConnect();
          reject(abort.signal.reason);
        }, { once: true });
        BleLink.open(peripheral, this.#log).then((l) => (abort.signal.aborted ? l.close() : resolve(l)), reject);
      });
      if (this.#stopped) {
        link.close();
        throw new HubError(ErrorCode.LOCK_DRIVER_STOPPED, 'the BLE lock driver stopped while connecting');
      }
      this.#attach(link);
      return link;
    } catch (err) {
      if (err instanceof HubError) throw err;
      throw new HubError(ErrorCode.LOCK_UNREACHABLE, `cannot connect to the BLE lock: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      timer.cancel();
    }
  }

  #attach(link: BleLink): void {
    this.#link = link;
    this.#reconnectAttempts = 0;
    this.#tracker.setConnected(true);
    link.onFrame((frame) => this.#onFrame(frame));
    link.onClose((reason) => this.#onLinkClosed(link, reason));
    this.#log.info({ address: link.peripheral.address, mtu: link.mtu }, 'BLE lock connected');
    if (this.#everConnected) this.#events.emit({ kind: 'connection-restored', atMs: this.#o.clock.now() });
    this.#everConnected = true;
    // What happened while we were away: read the state before anything relies on it.
    this.#queue.run('status', (signal) => this.#refreshStatus(signal)).catch((err: unknown) => this.#log.warn({ err }, 'status read after connect failed'));
  }

  #onLinkClosed(link: BleLink, reason: unknown): void {
    if (this.#link !== link) return;
    this.#link = undefined;
    this.#tracker.setConnected(false);
    this.#pending.fail(new HubError(ErrorCode.BLE_LINK_LOST, `the BLE link dropped mid-command (${String(reason)}): outcome unknown`));
    this.#events.emit({ kind: 'connection-lost', atMs: this.#o.clock.now() });
    this.#log.warn({ reason: String(reason) }, 'BLE lock disconnected');
    if (!this.#stopped) this.#scheduleConnect(this.#backoffMs());
  }

  #backoffMs(): number {
    const ms = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectInitialMs * 2 ** this.#reconnectAttempts);
    this.#reconnectAttempts += 1;
    return ms;
  }

  #scheduleConnect(delayMs: number): void {
    this.#reconnectTimer?.cancel();
    this.#reconnectTimer = this.#o.clock.setTimeout(() => this.#kickConnect(), delayMs);
  }

  /** One connection attempt now; on failure the next one after the backoff. */
  #kickConnect(): void {
    if (this.#stopped || this.#link?.isOpen || this.#unavailable !== undefined || this.#pairing === undefined) return;
    this.#connect().catch((err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'BLE connection attempt failed');
      if (!this.#stopped && !this.#link?.isOpen) this.#scheduleConnect(this.#backoffMs());
    });
  }

  #onFrame(frame: Uint8Array): void {
    const inbound = this.#channel?.open(frame);
    if (inbound === undefined) return;
    if (inbound.kind === 'invalid') {
      this.#log.warn({ reason: inbound.reason }, 'ignored a frame from the lock that did not verify');
      return;
    }
    if (inbound.kind === 'plain-error') {
      // Unauthenticated: it can only fail a command, never confirm one. With nothing in flight it
      // means the lock refused a frame this hub did not send: someone else is talking to it.
      if (!this.#pending.fail(refusal(inbound.error, 'command'))) this.#log.warn({ error: inbound.error }, 'the lock refused a frame this hub did not send');
      return;
    }
    const m = inbound.message;
    if (m.type === 'event' && m.requestId === 0) {
      this.#tracker.update(statusPatch(m.status));
      const event = lockEvent(m.event, m.slot, m.status, this.#o.clock.now());
      this.#events.emit(event.kind === 'jammed' && this.#acting !== undefined ? { ...event, during: this.#acting } : event);
      return;
    }
    if (this.#pending.deliver(m, (error) => refusal(error, 'command')) === 'unexpected') {
      this.#log.warn({ requestId: m.requestId, type: m.type }, 'ignored a reply to no pending request');
    }
  }

  // ---- adapter, counters, polling ------------------------------------------------------------

  #openChannel(pairing: BlePairing): void {
    const key = sharedKey(pairing.lockPublicKey, pairing.hubSecretKey);
    this.#floor = new NonceFloor(this.#o.pairing, pairing, this.#o.counterBlock);
    this.#channel = new HubChannel({ key, authId: pairing.authId, firstCounter: this.#floor.first, ...(this.#o.random ? { random: this.#o.random } : {}) });
  }

  #markUnavailable(reason: string): void {
    this.#unavailable = reason;
    this.#tracker.setConnected(false);
    this.#log.warn({ reason }, 'BLE unavailable: the BLE lock cannot be reached; the rest of the hub keeps running');
  }

  #adapterChanged(state: AdapterState): void {
    if (state === 'poweredOn' && this.#unavailable !== undefined) {
      this.#unavailable = undefined;
      this.#log.info('Bluetooth adapter powered on');
      this.#pairing ??= this.#o.pairing.load();
      if (this.#pairing !== undefined) {
        if (this.#channel === undefined) this.#openChannel(this.#pairing);
        this.#kickConnect();
      }
    } else if (state !== 'poweredOn' && this.#unavailable === undefined) {
      this.#link?.close();
      this.#markUnavailable(`Bluetooth adapter is ${state}`);
    }
  }

  #poll(): void {
    if (!this.#link?.isOpen || this.#queue.size > 0) return;
    this.#queue.run('status', (signal) => this.#refreshStatus(signal)).catch((err: unknown) => this.#log.warn({ err }, 'BLE status poll failed'));
  }
}

/** A BLE lock's id: a fingerprint of the public key it paired with (SHA-256, first 16 bytes, hex). */
export function bleLockId(lockPublicKey: Uint8Array): string {
  return `ble-${createHash('sha256').update(lockPublicKey).digest('hex').slice(0, 32)}`;
}
