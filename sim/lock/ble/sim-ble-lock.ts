/**
 * A simulated Nuki-style BLE smart lock: a GATT peripheral on the simulated radio (radio.ts) that
 * runs the lock side of the protocol (protocols/ble/lock-protocol.ts) over real frames, fragments
 * and crypto, in front of a motorised bolt, a door sensor, a keypad and a battery.
 *
 * Physical behaviour: the bolt takes `motorMs` to travel and jams if `blocked`; a battery under
 * `minBatteryToActPercent` refuses to drive the motor; the keypad has `slotCount` slots; manual
 * turns, keypad entries, auto-lock, door contact, tamper and a low battery raise events that
 * reach the connected hub. `silent` makes it stop answering (firmware hang) while the radio link
 * stays up.
 */
import type { Clock } from '../../../hub/system/clock.js';
import type { KeyPair, RandomBytes } from '../../../protocols/ble/channel.js';
import { fragment, Reassembler } from '../../../protocols/ble/fragment.js';
import { LOCK_COMMAND_CHAR_UUID, LOCK_LOCAL_NAME, LOCK_REPLY_CHAR_UUID, LOCK_SERVICE_UUID } from '../../../protocols/ble/gatt.js';
import { LockProtocol, type LockDevice } from '../../../protocols/ble/lock-protocol.js';
import { CODE_RE, WireError, type CodeEntry, type LockStatus, type WireBolt, type WireDoor, type WireEventKind } from '../../../protocols/ble/messages.js';
import type { GattCharacteristic, PeripheralLink, SimPeripheral } from './radio.js';
import { after } from './schedule.js';

export interface SimBleLockOptions {
  clock: Clock;
  motorMs?: number;
  batteryPercent?: number;
  minBatteryToActPercent?: number;
  lowBatteryPercent?: number;
  slotCount?: number;
  /** Re-locks this long after an unlock; 0 = off. */
  autoLockMs?: number;
  identity?: KeyPair;
  random?: RandomBytes;
  challengeTtlMs?: number;
}

export class SimBleLock implements SimPeripheral {
  readonly localName = LOCK_LOCAL_NAME;
  readonly serviceUuid = LOCK_SERVICE_UUID;
  readonly characteristics: readonly GattCharacteristic[] = [
    { uuid: LOCK_COMMAND_CHAR_UUID, properties: ['write'] },
    { uuid: LOCK_REPLY_CHAR_UUID, properties: ['notify'] },
  ];
  readonly protocol: LockProtocol;
  bolt: Exclude<WireBolt, 'unknown'> = 'locked';
  door: WireDoor = 'closed';
  battery: number;
  /** Something blocks the bolt: the next movement jams. */
  blocked = false;
  /** Firmware hang: frames are received and dropped, nothing answers. */
  silent = false;
  /** Frames received from the hub, reassembled (what the lock saw, for tests). */
  readonly framesIn: Uint8Array[] = [];
  readonly #clock: Clock;
  readonly #o: Required<Omit<SimBleLockOptions, 'identity' | 'random' | 'clock' | 'challengeTtlMs'>>;
  readonly #codes = new Map<number, string>();
  #link: PeripheralLink | undefined;
  #reassembler = new Reassembler();
  #autoLock: { cancel(): void } | undefined;

  constructor(options: SimBleLockOptions) {
    this.#clock = options.clock;
    this.#o = {
      motorMs: options.motorMs ?? 0,
      batteryPercent: options.batteryPercent ?? 90,
      minBatteryToActPercent: options.minBatteryToActPercent ?? 5,
      lowBatteryPercent: options.lowBatteryPercent ?? 20,
      slotCount: options.slotCount ?? 30,
      autoLockMs: options.autoLockMs ?? 0,
    };
    this.battery = this.#o.batteryPercent;
    this.protocol = new LockProtocol({
      device: this.#device(),
      send: (frame) => this.#send(frame),
      now: () => this.#clock.monotonic(),
      ...(options.identity === undefined ? {} : { identity: options.identity }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.challengeTtlMs === undefined ? {} : { challengeTtlMs: options.challengeTtlMs }),
    });
  }

  /** The button on the lock that opens pairing mode. */
  pressPairingButton(): void {
    this.protocol.openPairing();
  }

  get connected(): boolean {
    return this.#link !== undefined;
  }

  codes(): readonly CodeEntry[] {
    return [...this.#codes].sort(([a], [b]) => a - b).map(([slot, code]) => ({ slot, code }));
  }

  // ---- things people do at the door ----------------------------------------------------------

  turnThumb(action: 'lock' | 'unlock'): void {
    this.bolt = action === 'lock' ? 'locked' : 'unlocked';
    this.#event(action === 'lock' ? 'manual-lock' : 'manual-unlock');
    if (action === 'unlock') this.#armAutoLock();
  }

  /** A code typed on the keypad: unlocks when it matches a slot. Returns the slot, or undefined. */
  typeCode(code: string): number | undefined {
    const slot = [...this.#codes].find(([, c]) => c === code)?.[0];
    if (slot === undefined) return undefined;
    this.bolt = 'unlocked';
    this.#event('keypad-unlock', slot);
    this.#armAutoLock();
    return slot;
  }

  setDoor(door: 'open' | 'closed'): void {
    this.door = door;
    this.#event(door === 'open' ? 'door-open' : 'door-closed');
  }

  tamper(): void {
    this.#event('tamper');
  }

  setBattery(percent: number): void {
    const wasLow = this.battery <= this.#o.lowBatteryPercent;
    this.battery = percent;
    if (!wasLow && percent <= this.#o.lowBatteryPercent) this.#event('battery-low');
  }

  // ---- GATT ----------------------------------------------------------------------------------

  onConnect(link: PeripheralLink): void {
    this.#link = link;
    this.#reassembler = new Reassembler();
  }

  onDisconnect(): void {
    this.#link = undefined;
    this.protocol.endSession();
  }

  onWrite(characteristicUuid: string, data: Uint8Array): void {
    if (characteristicUuid !== LOCK_COMMAND_CHAR_UUID) return;
    const result = this.#reassembler.push(data);
    if (result.kind !== 'frame') return;
    this.framesIn.push(result.frame);
    if (this.silent) return;
    this.protocol.receive(result.frame);
  }

  // ---- internals -----------------------------------------------------------------------------

  #send(frame: Uint8Array): void {
    const link = this.#link;
    if (link === undefined || this.silent) return;
    for (const chunk of fragment(frame, link.mtu)) link.notify(LOCK_REPLY_CHAR_UUID, chunk);
  }

  #event(kind: WireEventKind, slot = 0): void {
    this.protocol.emitEvent(kind, slot);
  }

  #armAutoLock(): void {
    this.#autoLock?.cancel();
    if (this.#o.autoLockMs <= 0) return;
    this.#autoLock = this.#clock.setTimeout(() => {
      if (this.bolt !== 'unlocked') return;
      this.bolt = 'locked';
      this.#event('auto-lock');
    }, this.#o.autoLockMs);
  }

  #status(): LockStatus {
    return { bolt: this.bolt, door: this.door, battery: this.battery };
  }

  #device(): LockDevice {
    const o = this.#o;
    return {
      slotCount: o.slotCount,
      status: () => this.#status(),
      move: (action, done) => {
        if (this.battery < o.minBatteryToActPercent) return WireError.BATTERY_TOO_LOW;
        if (this.bolt === 'moving') return WireError.BUSY;
        this.bolt = 'moving';
        after(this.#clock, o.motorMs, () => {
          if (this.blocked) {
            this.bolt = 'jammed';
            this.#event('jam');
            done(WireError.JAMMED);
            return;
          }
          this.bolt = action === 'lock' ? 'locked' : 'unlocked';
          if (action === 'unlock') this.#armAutoLock();
          done(undefined);
        });
        return undefined;
      },
      setCode: (slot, code) => {
        if (slot < 1 || slot > o.slotCount || !CODE_RE.test(code)) return WireError.BAD_CODE;
        this.#codes.set(slot, code);
        return undefined;
      },
      clearCode: (slot) => {
        if (slot < 1 || slot > o.slotCount) return WireError.BAD_CODE;
        this.#codes.delete(slot);
        return undefined;
      },
      codes: () => this.codes(),
    };
  }
}
