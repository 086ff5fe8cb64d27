import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NonceFloor } from '../../hub/lock/ble/nonce-floor.js';
import { memoryPairingStore } from '../../hub/lock/ble/pairing-file.js';
import type { BlePairing } from '../../hub/lock/ble/pairing.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';

const pairing: BlePairing = {
  peripheralId: 'c0ffee000001',
  address: 'c0:ff:ee:00:00:01',
  authId: 1,
  hubSecretKey: new Uint8Array(32),
  lockPublicKey: new Uint8Array(32),
  counterFloor: 2n,
};

describe('the hub nonce counter floor', () => {
  it('never hands out a counter twice, whatever the mix of commands and restarts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constant('restart' as const)), { maxLength: 30 }), (block, steps) => {
        const store = memoryPairingStore(pairing);
        let floor = new NonceFloor(store, store.load()!, block);
        let next = floor.first;
        const used: bigint[] = [];
        for (const step of steps) {
          if (step === 'restart') {
            // A crash or restart: everything in memory is gone, only the record survives.
            floor = new NonceFloor(store, store.load()!, block);
            next = floor.first;
            continue;
          }
          for (let i = 0; i < step; i++) {
            floor.ensure(next);
            used.push(next);
            next += 1n;
          }
        }
        for (let i = 1; i < used.length; i++) expect(used[i]!).toBeGreaterThan(used[i - 1]!);
        expect(used.every((c) => c >= pairing.counterFloor)).toBe(true);
      }),
    );
  });

  it('writes the record once per block, not once per command', () => {
    const store = memoryPairingStore(pairing);
    const floor = new NonceFloor(store, pairing, 100);
    for (let c = 2n; c < 302n; c++) floor.ensure(c);
    expect(store.saves).toBe(3);
  });

  it('surfaces a failed write as BLE_PAIRING_STORE_FAILED instead of sending anyway', () => {
    const floor = new NonceFloor({ load: () => pairing, save: () => { throw new Error('disk full'); } }, pairing, 10);
    let caught: unknown;
    try {
      floor.ensure(2n);
    } catch (err) {
      caught = err;
    }
    expect(isHubError(caught, ErrorCode.BLE_PAIRING_STORE_FAILED)).toBe(true);
  });

  it('refuses a block size that is not a positive integer', () => {
    expect(() => new NonceFloor(memoryPairingStore(pairing), pairing, 0)).toThrow(RangeError);
  });
});
