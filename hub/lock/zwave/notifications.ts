/**
 * What a Z-Wave lock's Notification CC reports mean for the Lock interface. Pure: one report in,
 * at most one LockEvent and a state patch out. Event numbers from the Z-Wave Notification CC
 * type/event tables (Access Control 0x06, Home Security 0x07). Anything unknown maps to nothing:
 * a lock's chatter must never move the hub's idea of the bolt.
 */
import type { LockStatePatch } from '../lock-state.js';
import type { LockEvent } from '../lock.js';

export const ACCESS_CONTROL = 0x06;
export const HOME_SECURITY = 0x07;

/** zwave-js names the value of a stateful notification after its type. */
export const NOTIFICATION_TYPE_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['Access Control', ACCESS_CONTROL],
  ['Home Security', HOME_SECURITY],
]);

/**
 * The stateful notification values (zwave-js: property = type, propertyKey = variable) whose value
 * IS a notification event number. Others hold values of their own: "Opening state" is 0 closed /
 * 1 open / 2 tilted, and its 1 read as an event is Access Control 0x01 "manual lock" — a door
 * opening put on record as a bolt thrown by hand.
 */
export const EVENT_VALUED_VARIABLES: ReadonlySet<string> = new Set(['Door state', 'Door state (simple)', 'Lock state', 'Keypad state', 'Cover status']);

export interface NotificationMeaning {
  event: LockEvent | undefined;
  patch: LockStatePatch;
}

/** `parameters` as zwave-js hands them: `{ userId }` for keypad events, otherwise anything. */
export function interpretNotification(type: number, event: number, parameters: unknown, atMs: number): NotificationMeaning {
  const slot = keypadSlot(parameters);
  if (type === ACCESS_CONTROL) {
    switch (event) {
      case 0x01:
        return bolt({ kind: 'locked', by: 'manual', atMs });
      case 0x02:
        return bolt({ kind: 'unlocked', by: 'manual', atMs });
      case 0x03:
        return bolt({ kind: 'locked', by: 'hub', atMs });
      case 0x04:
        return bolt({ kind: 'unlocked', by: 'hub', atMs });
      case 0x05:
        return bolt(slot === undefined ? { kind: 'locked', by: 'keypad', atMs } : { kind: 'locked', by: 'keypad', slot, atMs });
      case 0x06:
        return bolt(slot === undefined ? { kind: 'unlocked', by: 'keypad', atMs } : { kind: 'unlocked', by: 'keypad', slot, atMs });
      case 0x09:
        return bolt({ kind: 'locked', by: 'auto', atMs });
      case 0x0b:
        return { event: { kind: 'jammed', atMs }, patch: { bolt: 'jammed' } };
      // 0x0c all user codes deleted, 0x0d a single user code deleted, 0x0e a new user code added
      // (at the keypad: the hub's own Sets are confirmed by reading back, not by these).
      case 0x0c:
        return { event: { kind: 'codes-changed', atMs }, patch: {} };
      case 0x0d:
      case 0x0e:
        return { event: slot === undefined ? { kind: 'codes-changed', atMs } : { kind: 'codes-changed', slot, atMs }, patch: {} };
      // 0x10 keypad temporarily disabled: the lock's own lockout after wrong codes.
      case 0x10:
        return { event: { kind: 'wrong-code', lockedOut: true, atMs }, patch: {} };
      case 0x16:
        return { event: { kind: 'door', door: 'open', atMs }, patch: { door: 'open' } };
      case 0x17:
        return { event: { kind: 'door', door: 'closed', atMs }, patch: { door: 'closed' } };
      default:
        return { event: undefined, patch: {} };
    }
  }
  // Home Security: 0x03 "tampering, product cover removed"; 0x04 "tampering, invalid code" is a
  // wrong code at the keypad, which the schedule counts (a cover removed is not one).
  if (type === HOME_SECURITY && event === 0x03) return { event: { kind: 'tamper', atMs }, patch: {} };
  if (type === HOME_SECURITY && event === 0x04) return { event: { kind: 'wrong-code', lockedOut: false, atMs }, patch: {} };
  return { event: undefined, patch: {} };
}

function bolt(event: Extract<LockEvent, { kind: 'locked' | 'unlocked' }>): NotificationMeaning {
  return { event, patch: { bolt: event.kind } };
}

function keypadSlot(parameters: unknown): number | undefined {
  if (typeof parameters !== 'object' || parameters === null || !('userId' in parameters)) return undefined;
  const id = (parameters as { userId: unknown }).userId;
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= 255 ? id : undefined;
}
