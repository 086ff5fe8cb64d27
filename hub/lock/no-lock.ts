import { ErrorCode, HubError } from '../system/errors.js';
import type { CodeSlot, LockDriver, LockState } from './lock.js';

/**
 * The lock of a hub that drives none (`lock.driver: none`): a null object that fails secure.
 * Every command is refused with LOCK_NOT_PAIRED, the state is unknown and never connected, and it
 * tells nothing, so whatever holds a Lock (the cloud's `lock` command, the audit bridge, later the
 * visit) needs no "is there a lock?" branch and can never report a bolt it did not see move.
 */
export class NoLock implements LockDriver {
  readonly name = 'no-lock';

  id(): string | undefined {
    return undefined;
  }

  start(): void {}

  stop(): void {}

  lock(): Promise<void> {
    return Promise.reject(notPaired('lock'));
  }

  unlock(): Promise<void> {
    return Promise.reject(notPaired('unlock'));
  }

  state(): LockState {
    return { bolt: 'unknown', door: 'unknown', batteryPercent: undefined, updatedAtMs: undefined, connected: false };
  }

  setCode(): Promise<void> {
    return Promise.reject(notPaired('set a keypad code'));
  }

  clearCode(): Promise<void> {
    return Promise.reject(notPaired('clear a keypad code'));
  }

  codes(): Promise<readonly CodeSlot[]> {
    return Promise.reject(notPaired('read the keypad codes'));
  }

  onEvent(): () => void {
    return () => {};
  }
}

function notPaired(what: string): HubError {
  return new HubError(ErrorCode.LOCK_NOT_PAIRED, `cannot ${what}: this hub drives no lock (lock.driver is "none")`);
}
