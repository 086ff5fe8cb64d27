import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interpretNotification } from '../../hub/lock/zwave/notifications.js';

const AT = 1_700_000_000_000;

describe('Z-Wave lock notifications (Notification CC, Access Control 0x06 / Home Security 0x07)', () => {
  it.each([
    [0x01, { kind: 'locked', by: 'manual' }, 'locked'],
    [0x02, { kind: 'unlocked', by: 'manual' }, 'unlocked'],
    [0x03, { kind: 'locked', by: 'hub' }, 'locked'],
    [0x04, { kind: 'unlocked', by: 'hub' }, 'unlocked'],
    [0x09, { kind: 'locked', by: 'auto' }, 'locked'],
  ] as const)('event %i moves the bolt and says who moved it', (event, expected, bolt) => {
    expect(interpretNotification(0x06, event, undefined, AT)).toEqual({ event: { ...expected, atMs: AT }, patch: { bolt } });
  });

  it('a keypad unlock carries the slot of the code used', () => {
    expect(interpretNotification(0x06, 0x06, { userId: 4 }, AT)).toEqual({
      event: { kind: 'unlocked', by: 'keypad', slot: 4, atMs: AT },
      patch: { bolt: 'unlocked' },
    });
    expect(interpretNotification(0x06, 0x05, { userId: 12 }, AT).event).toEqual({ kind: 'locked', by: 'keypad', slot: 12, atMs: AT });
  });

  it('a keypad event without a usable user id has no slot rather than a wrong one', () => {
    for (const params of [undefined, null, {}, { userId: 0 }, { userId: 256 }, { userId: 1.5 }, { userId: '3' }, new Uint8Array([3])]) {
      const { event } = interpretNotification(0x06, 0x06, params, AT);
      expect(event).toEqual({ kind: 'unlocked', by: 'keypad', atMs: AT });
    }
  });

  it('jam reads jammed; door open/closed follow the sensor; tampering is reported', () => {
    expect(interpretNotification(0x06, 0x0b, undefined, AT)).toEqual({ event: { kind: 'jammed', atMs: AT }, patch: { bolt: 'jammed' } });
    expect(interpretNotification(0x06, 0x16, undefined, AT)).toEqual({ event: { kind: 'door', door: 'open', atMs: AT }, patch: { door: 'open' } });
    expect(interpretNotification(0x06, 0x17, undefined, AT)).toEqual({ event: { kind: 'door', door: 'closed', atMs: AT }, patch: { door: 'closed' } });
    expect(interpretNotification(0x07, 0x03, undefined, AT)).toEqual({ event: { kind: 'tamper', atMs: AT }, patch: {} });
  });

  it('a wrong code at the keypad is its own event, not tampering; the lock’s keypad lockout says so', () => {
    expect(interpretNotification(0x07, 0x04, undefined, AT)).toEqual({ event: { kind: 'wrong-code', lockedOut: false, atMs: AT }, patch: {} });
    expect(interpretNotification(0x06, 0x10, undefined, AT)).toEqual({ event: { kind: 'wrong-code', lockedOut: true, atMs: AT }, patch: {} });
  });

  it('user codes changed at the lock (added, deleted, all deleted) are reported, with the slot when the lock names it', () => {
    expect(interpretNotification(0x06, 0x0e, { userId: 12 }, AT)).toEqual({ event: { kind: 'codes-changed', slot: 12, atMs: AT }, patch: {} });
    expect(interpretNotification(0x06, 0x0d, undefined, AT)).toEqual({ event: { kind: 'codes-changed', atMs: AT }, patch: {} });
    expect(interpretNotification(0x06, 0x0c, { userId: 3 }, AT)).toEqual({ event: { kind: 'codes-changed', atMs: AT }, patch: {} });
  });

  it('property: anything else moves nothing and says nothing', () => {
    const known = new Set(['6:1', '6:2', '6:3', '6:4', '6:5', '6:6', '6:9', '6:11', '6:12', '6:13', '6:14', '6:16', '6:22', '6:23', '7:3', '7:4']);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.anything(), (type, event, params) => {
        fc.pre(!known.has(`${type}:${event}`));
        expect(interpretNotification(type, event, params, AT)).toEqual({ event: undefined, patch: {} });
      }),
    );
  });
});
