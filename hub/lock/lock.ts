/**
 * The one Lock interface every driver (Z-Wave in hub/lock/zwave, BLE in hub/lock/ble) implements,
 * and the types it speaks (DESIGN.md, "Lock drivers"). The rest of the hub (access, delivery,
 * schedule, lan) only ever sees this.
 *
 * Contract, for every driver:
 * - `lock()` / `unlock()` resolve only once the lock itself reported the bolt in the asked position
 *   (a report or a read-back, never the driver's own optimistic guess). Otherwise they reject with a
 *   HubError in the 3xx range: LOCK_TIMEOUT, LOCK_JAMMED, LOCK_UNREACHABLE, LOCK_NOT_PAIRED,
 *   LOCK_BATTERY_TOO_LOW, LOCK_NOT_CONFIRMED, LOCK_DRIVER_STOPPED. Never "sent, hopefully".
 * - Commands to one lock run one at a time (CommandQueue); a second identical command while one
 *   is in flight joins it instead of being sent twice.
 * - `state()` never reports a stale bolt position: a value not refreshed within the driver's max
 *   age reads `unknown` (LockStateTracker), and so does everything after a connection loss.
 */
import type { Module } from '../system/lifecycle.js';

export type BoltState = 'locked' | 'unlocked' | 'jammed' | 'unknown';
export type DoorState = 'open' | 'closed' | 'unknown';

export interface LockState {
  bolt: BoltState;
  /** From the lock's door sensor; `unknown` for a lock without one. */
  door: DoorState;
  /** 0–100, or undefined when never reported or stale. */
  batteryPercent: number | undefined;
  /** Wall time (ms since epoch) of the last report from the lock of any kind; undefined if none. */
  updatedAtMs: number | undefined;
  /** Whether the driver currently reaches the lock (node alive / BLE link up). */
  connected: boolean;
}

/** Who moved the bolt, as far as the lock tells. `hub` is a command from this hub. */
export type LockActor = 'hub' | 'manual' | 'keypad' | 'auto' | 'unknown';

/**
 * Everything a lock can tell on its own. `atMs` is hub wall time at receipt. A bolt moved `by: hub`
 * says whether a command of this hub was waiting for that report (`awaited`): its caller records
 * it; one nobody waits for any more (it came after the command timed out) is on record nowhere else.
 */
export type LockEvent =
  | { kind: 'locked'; by: LockActor; /** keypad slot, when `by` is keypad */ slot?: number; awaited?: boolean; atMs: number }
  | { kind: 'unlocked'; by: LockActor; slot?: number; awaited?: boolean; atMs: number }
  | { kind: 'jammed'; /** the command the bolt jammed under; absent when none was in flight */ during?: 'lock' | 'unlock'; atMs: number }
  | { kind: 'tamper'; atMs: number }
  /** A code entered at the keypad that the lock refused; `lockedOut` when the lock now ignores its keypad for a while. */
  | { kind: 'wrong-code'; lockedOut: boolean; atMs: number }
  /** The lock's user codes changed without a command from the hub (programmed at the keypad, deleted, reset); `slot` when it said which. */
  | { kind: 'codes-changed'; slot?: number; atMs: number }
  | { kind: 'door'; door: 'open' | 'closed'; atMs: number }
  | { kind: 'battery-low'; percent: number; atMs: number }
  | { kind: 'connection-lost'; atMs: number }
  | { kind: 'connection-restored'; atMs: number };

export type LockEventKind = LockEvent['kind'];
export type LockEventListener = (event: LockEvent) => void;

/** One keypad slot as read back from the lock. */
export interface CodeSlot {
  slot: number;
  inUse: boolean;
  /** The code as the lock reports it; undefined when free or when the lock masks codes. */
  code: string | undefined;
}

export interface Lock {
  /**
   * The lock's stable id from its pairing, as grants name it (Z-Wave: `zwave-<home id>-<node id>`;
   * BLE: `ble-` and a fingerprint of the lock's key), or undefined while no lock is paired or known.
   */
  id(): string | undefined;
  /** Throws the bolt; resolves once the lock confirmed `locked`. */
  lock(): Promise<void>;
  /** Retracts the bolt; resolves once the lock confirmed `unlocked`. */
  unlock(): Promise<void>;
  /** The current state with freshness applied (stale → unknown). Synchronous: no radio traffic. */
  state(): LockState;
  /** Stores `code` (digits) in keypad `slot` (1-based) and confirms it by reading the slot back. */
  setCode(slot: number, code: string): Promise<void>;
  /** Frees keypad `slot` and confirms it by reading the slot back. */
  clearCode(slot: number): Promise<void>;
  /** Every keypad slot as read from the lock now (not from a cache). */
  codes(): Promise<readonly CodeSlot[]>;
  /** Subscribes to the lock's events; returns the unsubscribe function. */
  onEvent(listener: LockEventListener): () => void;
}

/** A driver is a Lock that main.ts starts and stops. */
export interface LockDriver extends Lock, Module {}

/** Keypad codes: Z-Wave User Code CC allows 4–10 ASCII digits; most keypads take 4–8. */
export const CODE_PATTERN = /^[0-9]{4,10}$/;
