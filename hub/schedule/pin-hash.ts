/**
 * The only form in which a PIN leaves the store: a keyed hash (HMAC-SHA256, RFC 2104, with a key
 * made on the hub and kept in its store), cut to 8 bytes. A plain hash of a 4–10 digit PIN is
 * reversed by trying every PIN in well under a second; without the key, an audit export, a log
 * line or a notification says nothing about the digits, while the hub can still tell two codes
 * apart (a code changed at the keypad, a duplicate PIN).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const DOMAIN = 'keyhub/pin/v1\0';

export class PinHasher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('the PIN hash key is 32 bytes');
    this.#key = key;
  }

  /** 16 lowercase hex digits. */
  hash(pin: string): string {
    return createHmac('sha256', this.#key).update(DOMAIN).update(pin, 'utf8').digest().subarray(0, 8).toString('hex');
  }

  /** Whether `pin` has hash `hash`, in constant time. */
  matches(pin: string, hash: string): boolean {
    const a = Buffer.from(this.hash(pin), 'hex');
    const b = Buffer.from(hash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/**
 * Replaces every occurrence of `pin` in a text that came from elsewhere (a lock driver's error
 * message) before it is shown, logged or stored: belt and braces behind drivers that should never
 * put a code into a message in the first place.
 */
export function scrubPin(text: string, pin: string | undefined): string {
  if (pin === undefined || pin.length === 0) return text;
  return text.split(pin).join('****');
}
