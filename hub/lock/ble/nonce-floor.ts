/**
 * Keeps the hub's nonce counter above every counter it ever used, across restarts, without a
 * disk write per command: before the channel seals with a counter at or past the reserved limit,
 * a new limit `block` counters ahead is written to the pairing record (durably), and a restarted
 * hub starts at the recorded limit. A crash wastes at most one block of counters; it never
 * reuses one (XSalsa20 with a repeated nonce would leak plaintext, and the lock would refuse it).
 */
import { ErrorCode, HubError } from '../../system/errors.js';
import type { BlePairing, BlePairingStore } from './pairing.js';

export class NonceFloor {
  readonly #store: BlePairingStore;
  readonly #block: bigint;
  #pairing: BlePairing;
  #limit: bigint;

  constructor(store: BlePairingStore, pairing: BlePairing, block: number) {
    if (!(Number.isInteger(block) && block > 0)) throw new RangeError(`counter block must be a positive integer, got ${block}`);
    this.#store = store;
    this.#pairing = pairing;
    this.#block = BigInt(block);
    // Nothing is reserved yet in this process: the first seal writes a floor.
    this.#limit = pairing.counterFloor;
  }

  /** Where a channel opened now must start. */
  get first(): bigint {
    return this.#pairing.counterFloor;
  }

  /** Call before sealing with counter `next`. Throws BLE_PAIRING_STORE_FAILED if the write fails. */
  ensure(next: bigint): void {
    if (next < this.#limit) return;
    const limit = next + this.#block;
    const pairing = { ...this.#pairing, counterFloor: limit };
    try {
      this.#store.save(pairing);
    } catch (err) {
      if (err instanceof HubError) throw err;
      throw new HubError(ErrorCode.BLE_PAIRING_STORE_FAILED, `cannot persist the nonce counter floor: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    this.#pairing = pairing;
    this.#limit = limit;
  }
}
