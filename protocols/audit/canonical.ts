import { bytesEqual, CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';

/**
 * The audit's seam onto protocols/cbor, the hub's one strict canonical CBOR profile (RFC 8949
 * §4.2.1: shortest forms, definite lengths, keys sorted bytewise, no floats or tags).
 *
 * Decoding is the library's, strict. Encoding has a fast path: audit records are JSON-shaped
 * (text keys, text, safe integers, booleans, null, arrays, plain objects) and are encoded on every
 * append and every verification, where the general encoder costs several µs a record — most of
 * the audit's budget against a plain SQLite insert (test/bench/audit.bench.ts). `canonicalEncode`
 * writes the same bytes directly; test/unit/audit-canonical.test.ts holds it byte-for-byte to
 * protocols/cbor's encoder with fast-check, and anything outside that JSON shape (byte strings,
 * Maps) goes to the library encoder.
 */
export const MAX_CANONICAL_BYTES = 64 * 1024;

export class CanonicalError extends Error {
  override readonly name = 'CanonicalError';
}

export function canonicalEncode(value: unknown): Uint8Array {
  const w = new Writer();
  if (w.value(value)) return w.finish();
  return libraryEncode(value);
}

/**
 * Encodes a map and also returns the canonical bytes of its value under `key`, from the same pass
 * (the audit's record and its body: one encoding serves the hash and the body column).
 */
export function canonicalEncodeWithPart(value: Record<string, unknown>, key: string): { bytes: Uint8Array; part: Uint8Array } {
  const w = new Writer(key);
  if (w.value(value) && w.span !== undefined) {
    const bytes = w.finish();
    return { bytes, part: bytes.subarray(w.span[0], w.span[1]) };
  }
  return { bytes: libraryEncode(value), part: libraryEncode(value[key]) };
}

/** The library encoder, for values outside the fast path (and as the reference in tests). */
export function libraryEncode(value: unknown): Uint8Array {
  try {
    // cborg encodes a plain object as a map with the same key ordering rule as a Map.
    return encodeCanonical(value as CborValue);
  } catch (err) {
    throw new CanonicalError(`cannot encode canonically: ${(err as Error).message}`);
  }
}

export function canonicalDecode(bytes: Uint8Array): unknown {
  let value: CborValue;
  try {
    value = decodeCanonical(bytes, { maxBytes: MAX_CANONICAL_BYTES, maxDepth: 8 });
  } catch (err) {
    if (err instanceof CborError) throw new CanonicalError(`not canonical CBOR: ${err.message}`);
    throw err;
  }
  return toPlain(value);
}

function toPlain(value: CborValue): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) {
      if (typeof k !== 'string') throw new CanonicalError('audit records have text keys only');
      // A "__proto__" key is data, never the object's prototype: defineProperty for that one key
      // (assignment would set the prototype); plain assignment, several times cheaper, for the rest.
      if (k === '__proto__') Object.defineProperty(out, k, { value: toPlain(v), enumerable: true, writable: true, configurable: true });
      else out[k] = toPlain(v);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v: CborValue) => toPlain(v));
  return value;
}

export const sameBytes = bytesEqual;

/** RFC 8949 §3: major types used here. */
const UINT = 0;
const NEGINT = 1;
const BYTES = 2;
const TEXT = 3;
const ARRAY = 4;
const MAP = 5;

/**
 * The fast path's writer. Exported so that a caller encoding many records (the audit log's append)
 * can keep one and `reset` it between records: no buffer per record, no copy of the result.
 */
export class Writer {
  #buf = Buffer.allocUnsafe(256);
  #pos = 0;
  #depth = 0;
  readonly #capture: string | undefined;
  /** Where the top-level map's value under the capture key was written. */
  span: [number, number] | undefined;

  constructor(capture?: string) {
    this.#capture = capture;
  }

  finish(): Uint8Array {
    return new Uint8Array(this.#buf.subarray(0, this.#pos));
  }

  /** Starts over at position 0, keeping the buffer. */
  reset(): void {
    this.rewind(0);
  }

  /** Drops what was written after `position` (a record the fast path could not take). */
  rewind(position: number): void {
    this.#pos = position;
    this.#depth = 0;
    this.span = undefined;
  }

  get position(): number {
    return this.#pos;
  }

  /** A view of bytes written so far, valid until the next write or reset (no copy). */
  view(start = 0, end = this.#pos): Buffer {
    return this.#buf.subarray(start, end);
  }

  /** Copies bytes in as they are (a prefix that is not CBOR, e.g. a hash input's domain). */
  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** The head of a map of n pairs (RFC 8949 §3.1, major type 5); the caller writes sorted keys. */
  mapHeader(n: number): void {
    this.#head(MAP, n);
  }

  text(s: string): void {
    this.#text(s);
  }

  /** The head of an array of n items (RFC 8949 §3.1, major type 4); the caller writes them. */
  arrayHeader(n: number): void {
    this.#head(ARRAY, n);
  }

  /** A byte string (RFC 8949 §3.1, major type 2): its shortest head, then the bytes as they are. */
  bytes(b: Uint8Array): void {
    this.#head(BYTES, b.length);
    this.raw(b);
  }

  /** A byte string given as hex (as SQLite's hex() returns it): decoded straight into the buffer. */
  bytesHex(hex: string): void {
    const n = hex.length >>> 1;
    this.#head(BYTES, n);
    this.#room(n);
    const written = this.#buf.write(hex, this.#pos, n, 'hex');
    if (written !== n || hex.length !== 2 * n) throw new RangeError('not an even-length hex string');
    this.#pos += n;
  }

  /** Writes one JSON-shaped value; false if it is outside the fast path. */
  value(v: unknown): boolean {
    switch (typeof v) {
      case 'string':
        this.#text(v);
        return true;
      case 'number':
        if (!Number.isSafeInteger(v)) return false;
        if (v >= 0) this.#head(UINT, v);
        else this.#head(NEGINT, -1 - v);
        return true;
      case 'boolean':
        this.#byte(v ? 0xf5 : 0xf4);
        return true;
      case 'object': {
        if (v === null) {
          this.#byte(0xf6);
          return true;
        }
        if (Array.isArray(v)) {
          this.#head(ARRAY, v.length);
          for (const item of v) if (!this.value(item)) return false;
          return true;
        }
        if (Object.getPrototypeOf(v) !== Object.prototype) return false;
        return this.#map(v as Record<string, unknown>);
      }
      default:
        return false;
    }
  }

  #map(obj: Record<string, unknown>): boolean {
    const keys = Object.keys(obj);
    for (const k of keys) if (obj[k] === undefined) return false;
    // §4.2.1: keys sorted by their encoded bytes. For text keys in shortest form that is shorter
    // UTF-8 first, then bytewise; for ASCII keys (all of ours) UTF-16 order is bytewise order.
    if (keys.some((k) => !isAscii(k))) return false;
    keys.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    this.#head(MAP, keys.length);
    this.#depth += 1;
    for (const k of keys) {
      this.#text(k);
      const start = this.#pos;
      if (!this.value(obj[k])) return false;
      if (this.#depth === 1 && k === this.#capture) this.span = [start, this.#pos];
    }
    this.#depth -= 1;
    return true;
  }

  #text(s: string): void {
    // ASCII (every key and most values) is copied char by char: cheaper than two native calls.
    if (s.length < 128 && isAscii(s)) {
      this.#head(TEXT, s.length);
      this.#room(s.length);
      const b = this.#buf;
      let p = this.#pos;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.#pos = p;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.#head(TEXT, n);
    this.#room(n);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
  }

  /** §3.1 preferred serialization: the shortest argument that holds n. */
  #head(major: number, n: number): void {
    this.#room(9);
    const m = major << 5;
    const b = this.#buf;
    if (n < 24) b[this.#pos++] = m | n;
    else if (n < 0x100) {
      b[this.#pos++] = m | 24;
      b[this.#pos++] = n;
    } else if (n < 0x10000) {
      b[this.#pos++] = m | 25;
      b.writeUInt16BE(n, this.#pos);
      this.#pos += 2;
    } else if (n < 0x100000000) {
      b[this.#pos++] = m | 26;
      b.writeUInt32BE(n, this.#pos);
      this.#pos += 4;
    } else {
      b[this.#pos++] = m | 27;
      b.writeUInt32BE(Math.floor(n / 0x100000000), this.#pos);
      b.writeUInt32BE(n >>> 0, this.#pos + 4);
      this.#pos += 8;
    }
  }

  #byte(x: number): void {
    this.#room(1);
    this.#buf[this.#pos++] = x;
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    // The old buffer is left as it is, never written again: views handed out of it stay valid.
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(bigger, 0, 0, this.#pos);
    this.#buf = bigger;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
