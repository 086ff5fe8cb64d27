/**
 * Typed reading of a canonical CBOR map with small integer keys (the COSE/CWT convention,
 * RFC 8392 §3: integer labels keep signed messages compact). A message schema names every key it
 * knows; any other key, a missing required key or a value of the wrong type or size is a CborError,
 * so a decoder built on this accepts exactly one shape.
 */
import { CborError, type CborKey, type CborValue } from './canonical.js';

/**
 * The latest instant a message may name, in ms since the epoch: ECMAScript's time value range
 * (ECMA-262 §21.4.1.1: at most 8.64e15 ms, 100,000,000 days, from the epoch), so every time decoded is a Date the hub
 * can name and compare. Later "forever" values are refused rather than carried as numbers no clock
 * will reach.
 */
export const MAX_TIME_MS = 8_640_000_000_000_000;

/** The set of integer keys (0..30) a message schema allows; build it once per schema. */
export interface KnownFields {
  readonly mask: number;
}

export function knownFields(...keys: number[]): KnownFields {
  let mask = 0;
  for (const key of keys) {
    if (!Number.isInteger(key) || key < 0 || key > 30) throw new RangeError(`field keys are 0..30, got ${key}`);
    mask |= 1 << key;
  }
  return { mask };
}

export class FieldReader {
  readonly #map: ReadonlyMap<CborKey, CborValue>;
  readonly #what: string;

  /** `known` lists every key the schema allows, required or optional (see `knownFields`). */
  constructor(value: CborValue, what: string, known: KnownFields) {
    if (!(value instanceof Map)) throw new CborError(`${what}: expected a map`);
    for (const key of value.keys()) {
      // Keys 0..30 as bits of one integer: the membership test is a shift and a mask.
      if (typeof key !== 'number' || key < 0 || key > 30 || (known.mask & (1 << key)) === 0) throw new CborError(`${what}: unknown field ${String(key)}`);
    }
    this.#map = value;
    this.#what = what;
  }

  has(key: number): boolean {
    return this.#map.has(key);
  }

  uint(key: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.#get(key);
    if (typeof v !== 'number' || v < 0 || v > max) throw this.#bad(key, `an integer 0..${max}`);
    return v;
  }

  /** An instant: an integer 0..MAX_TIME_MS of ms since the epoch. */
  time(key: number): number {
    return this.uint(key, MAX_TIME_MS);
  }

  int(key: number, min: number, max: number): number {
    const v = this.#get(key);
    if (typeof v !== 'number' || v < min || v > max) throw this.#bad(key, `an integer ${min}..${max}`);
    return v;
  }

  /** A byte string of exactly `length` bytes (keys, ids, digests). */
  bytes(key: number, length: number): Uint8Array {
    const v = this.#get(key);
    if (!(v instanceof Uint8Array) || v.length !== length) throw this.#bad(key, `${length} bytes`);
    return v;
  }

  text(key: number, maxLength: number): string {
    return checkText(this.#get(key), maxLength, () => this.#bad(key, `text of 1..${maxLength} characters`));
  }

  oneOf<T extends string>(key: number, allowed: readonly T[]): T {
    const v = this.#get(key);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw this.#bad(key, `one of ${allowed.join(', ')}`);
    return v as T;
  }

  /** An array of `min..max` items, each read by `item` (which throws CborError when wrong). */
  array<T>(key: number, min: number, max: number, item: (v: CborValue, index: number) => T): T[] {
    const v = this.#get(key);
    if (!Array.isArray(v) || v.length < min || v.length > max) throw this.#bad(key, `an array of ${min}..${max} items`);
    return (v as readonly CborValue[]).map(item);
  }

  raw(key: number): CborValue {
    return this.#get(key);
  }

  #get(key: number): CborValue {
    const v = this.#map.get(key);
    if (v === undefined) throw new CborError(`${this.#what}: field ${key} is missing`);
    return v;
  }

  #bad(key: number, expected: string): CborError {
    return new CborError(`${this.#what}: field ${key} must be ${expected}`);
  }
}

/** Text of 1..maxLength UTF-16 units (ids, names): empty text is never a meaningful id. */
export function checkText(v: CborValue, maxLength: number, fail: () => Error): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) throw fail();
  return v;
}

/** Reads one item of an array as text (package ids, kinds). */
export function textItem(what: string, maxLength: number): (v: CborValue, index: number) => string {
  return (v, index) => checkText(v, maxLength, () => new CborError(`${what}[${index}] must be text of 1..${maxLength} characters`));
}

/** Reads one item of an array as a byte string of exactly `length` bytes (grant ids). */
export function bytesItem(what: string, length: number): (v: CborValue, index: number) => Uint8Array {
  return (v, index) => {
    if (!(v instanceof Uint8Array) || v.length !== length) throw new CborError(`${what}[${index}] must be ${length} bytes`);
    return v;
  };
}
