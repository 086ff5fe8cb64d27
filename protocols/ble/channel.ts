/**
 * The BLE lock channel's cryptography, after Nuki's design: pairing exchanges Curve25519 public
 * keys, both sides derive the same key with crypto_box_beforenm (X25519 + HSalsa20; tweetnacl
 * `box.before`), and every later message is crypto_box'ed (XSalsa20-Poly1305) with that key.
 *
 * Nonce (24 bytes), never reused under one key:
 *   0       1   direction (hub → lock 0x01, lock → hub 0x02): a frame reflected back at its
 *               sender fails the direction check instead of decrypting
 *   1..7    7   counter, little-endian, strictly increasing per direction
 *   8..23  16   random bytes
 * The receiver accepts a counter only above the last one it authenticated, so a replayed or
 * reused nonce is refused; the random part keeps nonces unique even if a sender's counter state
 * were ever rolled back (restored backup), since XSalsa20 with a repeated nonce leaks plaintext.
 */
import nacl from 'tweetnacl';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const MAC_BYTES = nacl.box.overheadLength;
/** 2^56 − 1: the counter field is 7 bytes. */
export const MAX_COUNTER = (1n << 56n) - 1n;

export enum Direction {
  HUB_TO_LOCK = 0x01,
  LOCK_TO_HUB = 0x02,
}

/** A source of cryptographically secure random bytes; injected so tests can be deterministic. */
export type RandomBytes = (length: number) => Uint8Array;
export const systemRandom: RandomBytes = (length) => nacl.randomBytes(length);

export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function generateKeyPair(random: RandomBytes = systemRandom): KeyPair {
  return nacl.box.keyPair.fromSecretKey(random(KEY_BYTES));
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  return nacl.box.keyPair.fromSecretKey(secretKey);
}

/** crypto_box_beforenm: the key both sides share after the public keys were exchanged. */
export function sharedKey(theirPublicKey: Uint8Array, mySecretKey: Uint8Array): Uint8Array {
  if (theirPublicKey.length !== KEY_BYTES || mySecretKey.length !== KEY_BYTES) throw new RangeError('Curve25519 keys are 32 bytes');
  return nacl.box.before(theirPublicKey, mySecretKey);
}

export function nonceCounter(nonce: Uint8Array): bigint {
  let counter = 0n;
  for (let i = 7; i >= 1; i--) counter = (counter << 8n) | BigInt(nonce[i] ?? 0);
  return counter;
}

/** Seals messages in one direction, drawing a fresh nonce for each. */
export class Sealer {
  readonly #key: Uint8Array;
  readonly #direction: Direction;
  readonly #random: RandomBytes;
  #next: bigint;

  /** `firstCounter`: the lowest counter this sealer may use (a persisted floor on the hub). */
  constructor(key: Uint8Array, direction: Direction, firstCounter: bigint, random: RandomBytes = systemRandom) {
    if (key.length !== KEY_BYTES) throw new RangeError('a crypto_box key is 32 bytes');
    if (firstCounter < 0n || firstCounter > MAX_COUNTER) throw new RangeError(`counter ${firstCounter} out of range`);
    this.#key = key;
    this.#direction = direction;
    this.#random = random;
    this.#next = firstCounter;
  }

  /** The counter the next seal will use. */
  get nextCounter(): bigint {
    return this.#next;
  }

  seal(plaintext: Uint8Array): { nonce: Uint8Array; ciphertext: Uint8Array; counter: bigint } {
    const counter = this.#next;
    if (counter > MAX_COUNTER) throw new RangeError('nonce counter exhausted: pair again');
    this.#next = counter + 1n;
    const nonce = new Uint8Array(NONCE_BYTES);
    nonce[0] = this.#direction;
    let c = counter;
    for (let i = 1; i <= 7; i++) {
      nonce[i] = Number(c & 0xffn);
      c >>= 8n;
    }
    const random = this.#random(NONCE_BYTES - 8);
    if (random.length !== NONCE_BYTES - 8) throw new RangeError('random source returned the wrong length');
    nonce.set(random, 8);
    return { nonce, ciphertext: nacl.box.after(plaintext, nonce, this.#key), counter };
  }
}

export type OpenResult = { ok: true; plaintext: Uint8Array; counter: bigint } | { ok: false; reason: 'direction' | 'nonce-reused' | 'tampered' };

/** Opens messages from one direction and refuses any nonce not above the last authenticated one. */
export class Opener {
  readonly #key: Uint8Array;
  readonly #direction: Direction;
  #last: bigint;

  /** `lastCounter`: the highest counter already accepted (−1 when none). */
  constructor(key: Uint8Array, direction: Direction, lastCounter = -1n) {
    if (key.length !== KEY_BYTES) throw new RangeError('a crypto_box key is 32 bytes');
    this.#key = key;
    this.#direction = direction;
    this.#last = lastCounter;
  }

  get lastCounter(): bigint {
    return this.#last;
  }

  open(nonce: Uint8Array, ciphertext: Uint8Array): OpenResult {
    if (nonce.length !== NONCE_BYTES || nonce[0] !== this.#direction) return { ok: false, reason: 'direction' };
    const counter = nonceCounter(nonce);
    // Checked before decrypting (cheap), committed only after the MAC verified: a forged frame must
    // not be able to push the floor up and lock the real peer out.
    if (counter <= this.#last) return { ok: false, reason: 'nonce-reused' };
    const plaintext = nacl.box.open.after(ciphertext, nonce, this.#key);
    if (plaintext === null) return { ok: false, reason: 'tampered' };
    this.#last = counter;
    return { ok: true, plaintext, counter };
  }
}
