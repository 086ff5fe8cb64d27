/**
 * A Lock held in memory, for the schedule's logic where the radio adds nothing but time (the
 * scenarios that need the real protocol run against the Kwikset on the mock Z-Wave stick). Keypad
 * slots are a Map; `fail` makes the next commands reject the way a driver does; `emit` plays an
 * event from the lock.
 */
import { LockEventFanout } from '../../hub/lock/lock-events.js';
import type { CodeSlot, Lock, LockEvent, LockEventListener, LockState } from '../../hub/lock/lock.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';

export class MemoryLock implements Lock {
  readonly slots = new Map<number, string>();
  readonly calls: string[] = [];
  /** Errors the next commands reject with, in order (setCode, clearCode and codes alike). */
  readonly fail: HubError[] = [];
  /** Called at every read of all slots (a lock that reports something each time it is read). */
  onCodes: (() => void) | undefined;
  /** Real milliseconds a read of all slots takes (0: answered at once). */
  readDelayMs = 0;
  readonly #events = new LockEventFanout(() => {});

  constructor(readonly slotCount = 30) {}

  id(): string | undefined {
    return 'memory-lock';
  }

  async lock(): Promise<void> {}
  async unlock(): Promise<void> {}

  state(): LockState {
    return { bolt: 'locked', door: 'closed', batteryPercent: 90, updatedAtMs: 0, connected: true };
  }

  async setCode(slot: number, code: string): Promise<void> {
    this.calls.push(`set:${slot}`);
    this.#maybeFail();
    if (slot < 1 || slot > this.slotCount) throw new HubError(ErrorCode.LOCK_CODE_INVALID, `slot ${slot} is outside 1–${this.slotCount}`);
    this.slots.set(slot, code);
  }

  async clearCode(slot: number): Promise<void> {
    this.calls.push(`clear:${slot}`);
    this.#maybeFail();
    this.slots.delete(slot);
  }

  async codes(): Promise<readonly CodeSlot[]> {
    this.calls.push('codes');
    if (this.readDelayMs > 0) await new Promise((r) => setTimeout(r, this.readDelayMs));
    this.#maybeFail();
    this.onCodes?.();
    return Array.from({ length: this.slotCount }, (_, i) => {
      const code = this.slots.get(i + 1);
      return { slot: i + 1, inUse: code !== undefined, code };
    });
  }

  onEvent(listener: LockEventListener): () => void {
    return this.#events.subscribe(listener);
  }

  emit(event: LockEvent): void {
    this.#events.emit(event);
  }

  #maybeFail(): void {
    const err = this.fail.shift();
    if (err !== undefined) throw err;
  }
}
