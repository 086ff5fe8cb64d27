/**
 * Translation between the BLE protocol's wire vocabulary (protocols/ble/messages.ts) and the hub's
 * Lock types (hub/lock/lock.ts) and error codes.
 */
import { WireError, type LockStatus, type WireEventKind } from '../../../protocols/ble/messages.js';
import { ErrorCode, HubError } from '../../system/errors.js';
import type { LockEvent } from '../lock.js';
import type { LockStatePatch } from '../lock-state.js';

/** What a status report tells for sure; `moving`/`unknown` confirm no bolt position. */
export function statusPatch(s: LockStatus): LockStatePatch {
  const patch: LockStatePatch = { batteryPercent: s.battery };
  if (s.bolt === 'locked' || s.bolt === 'unlocked' || s.bolt === 'jammed') patch.bolt = s.bolt;
  if (s.door === 'open' || s.door === 'closed') patch.door = s.door;
  return patch;
}

export function lockEvent(kind: WireEventKind, slot: number, status: LockStatus, atMs: number): LockEvent {
  switch (kind) {
    case 'manual-lock':
      return { kind: 'locked', by: 'manual', atMs };
    case 'manual-unlock':
      return { kind: 'unlocked', by: 'manual', atMs };
    case 'keypad-lock':
      return { kind: 'locked', by: 'keypad', slot, atMs };
    case 'keypad-unlock':
      return { kind: 'unlocked', by: 'keypad', slot, atMs };
    case 'auto-lock':
      return { kind: 'locked', by: 'auto', atMs };
    case 'jam':
      return { kind: 'jammed', atMs };
    case 'tamper':
      return { kind: 'tamper', atMs };
    case 'door-open':
      return { kind: 'door', door: 'open', atMs };
    case 'door-closed':
      return { kind: 'door', door: 'closed', atMs };
    case 'battery-low':
      return { kind: 'battery-low', percent: status.battery, atMs };
  }
}

/** The HubError for a refusal the lock reported. */
export function refusal(error: number, during: string): HubError {
  const name = WireError[error] ?? `0x${error.toString(16)}`;
  switch (error) {
    case WireError.JAMMED:
      return new HubError(ErrorCode.LOCK_JAMMED, `${during}: the lock reports its bolt jammed`);
    case WireError.BATTERY_TOO_LOW:
      return new HubError(ErrorCode.LOCK_BATTERY_TOO_LOW, `${during}: the lock's battery is too low to drive the bolt`);
    case WireError.UNKNOWN_AUTHORIZATION:
      return new HubError(ErrorCode.LOCK_NOT_PAIRED, `${during}: the lock does not know this hub any more (pair again)`);
    case WireError.BAD_CODE:
      return new HubError(ErrorCode.LOCK_CODE_INVALID, `${during}: the lock refused the slot or code`);
    default:
      return new HubError(ErrorCode.BLE_REFUSED, `${during}: the lock refused the command (${name})`);
  }
}
