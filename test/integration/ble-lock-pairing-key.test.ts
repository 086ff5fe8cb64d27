/**
 * Pairing with a BLE lock exchanges Curve25519 keys unauthenticated (trust on first use). A key of
 * small order offered in that window makes the hub's X25519 secret all zeros (RFC 7748 §6.1): the
 * channel key would be one anyone in radio range can compute. Through noble and the simulated
 * radio, as in ble-lock.test.ts.
 */
import nacl from 'tweetnacl';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { decodeFrame, FrameType } from '../../protocols/ble/frame.js';
import { SMALL_ORDER_X25519 } from '../../protocols/grant/point-check.js';
import { bleHome, LOCK_ADDRESS, type BleHome } from '../support/ble-home.js';
import { SMALL_ORDER_X25519_U } from '../support/degenerate-keys.js';
import { silentLog } from '../support/silent-log.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HubError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('BLE pairing: the lock’s key', () => {
  let home: BleHome | undefined;
  afterEach(() => {
    home?.stop();
    home = undefined;
  });

  it.each(Object.entries(SMALL_ORDER_X25519_U))('refuses a lock offering the key %s and seals nothing under it', async (_name, u) => {
    // What a man in the middle offers during the pairing window: the hub's "shared" key is then his too.
    const publicKey = hex(u);
    expect(nacl.scalarMult(nacl.randomBytes(32), publicKey).every((b) => b === 0)).toBe(true);
    home = bleHome({ clock: new FakeClock(), log: silentLog(), lock: { identity: { publicKey, secretKey: nacl.randomBytes(32) } } });
    await home.driver.start(new AbortController().signal);
    home.lock.pressPairingButton();
    const err = await rejection(home.driver.pair({ name: 'hub', address: LOCK_ADDRESS }));
    expect(err.code).toBe(ErrorCode.BLE_PAIRING_FAILED);
    expect(err.message).toBe(`the lock's key is refused: ${SMALL_ORDER_X25519}`);
    // Only the hello went out: no pair-complete sealed under a key anyone can compute.
    expect(home.lock.framesIn.map((f) => (decodeFrame(f) as { ok: true; frame: { type: FrameType } }).frame.type)).toEqual([FrameType.PAIR_HELLO]);
    expect(home.pairing.load()).toBeUndefined();
  });

  it('pairs with a lock whose key is a real one', async () => {
    home = bleHome({ clock: new FakeClock(), log: silentLog() });
    await home.startPaired();
    expect(home.pairing.load()).toMatchObject({ authId: 1 });
  });
});
