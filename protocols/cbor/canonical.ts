/**
 * Strict, deterministic CBOR: one value has exactly one byte form, and the decoder accepts only
 * that form. Shared by every signed or hashed message of the hub (grants, audit, BLE).
 *
 * The profile is RFC 8949 §4.2.1 "Core Deterministic Encoding Requirements", narrowed:
 * - data items: unsigned and negative integers within ±(2^53 − 1), byte strings, UTF-8 text
 *   strings, arrays, maps, true, false, null. No floats, no tags, no undefined, no simple values,
 *   no bigints: a signed message never needs them, and each is another way to spell the same thing.
 * - preferred serialization (§4.2.1): integers and lengths in their shortest form.
 * - definite lengths only (§4.2.1: "Indefinite-length items MUST NOT appear").
 * - map keys are integers or text, sorted by the bytewise lexicographic order of their encodings
 *   (§4.2.1); a repeated key is therefore also out of order and refused.
 * - text strings are well-formed UTF-8 (§3.1, major type 3), byte for byte.
 * - exactly one data item: trailing bytes are refused.
 * - a byte cap and a nesting cap, checked before and during decoding.
 *
 * Encoding is cborg's (rfc8949EncodeOptions: shortest forms, bytewise-sorted keys). Decoding is a
 * small recursive-descent reader written for this profile: the grant decision decodes two messages
 * on every request, and this reader does it about 3× faster than cborg's decoder with the same
 * checks layered on its tokenizer (figures in the README). That cborg-based decoder is kept as
 * `decodeCanonicalWithCborg` (cborg-strict.ts) and the two are fuzzed against each other.
 *
 * Maps decode to `Map` so that integer keys (compact, as in COSE/CWT, RFC 8392) stay integers;
 * byte strings decode to plain Uint8Array copies that never alias the input.
 */
import { encode, rfc8949EncodeOptions, type EncodeOptions } from 'cborg';

export type CborKey = number | string;
export type CborValue = number | string | boolean | null | Uint8Array | readonly CborValue[] | ReadonlyMap<CborKey, CborValue>;

/**
 * Why a byte string is not a canonical value (or a value cannot be encoded). Hostile input makes
 * these by the million, and the message already says where in the bytes the problem is; so no
 * stack trace is captured, which would cost more than the whole decode (V8 collects it in super()).
 */
export class CborError extends Error {
  override readonly name = 'CborError';
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

export interface DecodeLimits {
  /** Refuse inputs longer than this before looking at them. */
  maxBytes: number;
  /** Refuse more than this many nested non-empty arrays/maps (a top-level map is 1). Default 8. */
  maxDepth?: number;
  /**
   * Return byte strings as views into `bytes` instead of copies. For a caller that decodes the
   * bytes further at once (an envelope's payload) and keeps nothing, this saves a copy.
   */
  byteViews?: boolean;
}

const ENCODE_OPTIONS: EncodeOptions = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    number: (n: number) => {
      if (!Number.isSafeInteger(n)) throw new CborError(`cannot encode ${n}: only safe integers are allowed (no floats)`);
      return null;
    },
    bigint: () => {
      throw new CborError('cannot encode a bigint: integers must be within ±(2^53 − 1)');
    },
    undefined: () => {
      throw new CborError('cannot encode undefined');
    },
  },
};

/** Encodes a value in the canonical form above; throws CborError on a value outside the profile. */
export function encodeCanonical(value: CborValue): Uint8Array {
  return encode(value, ENCODE_OPTIONS);
}

/** Decodes exactly one canonical value; throws CborError for anything else. */
export function decodeCanonical(bytes: Uint8Array, limits: DecodeLimits): CborValue {
  if (bytes.length > limits.maxBytes) throw new CborError(`${bytes.length} bytes is over the cap of ${limits.maxBytes}`);
  if (bytes.length === 0) throw new CborError('empty input');
  const reader = new Reader(bytes, limits.byteViews === true);
  const value = reader.item(limits.maxDepth ?? 8);
  if (reader.pos !== bytes.length) throw new CborError(`${bytes.length - reader.pos} trailing bytes after the value`);
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Node's latin1 slice works on any Uint8Array; for bytes < 0x80 it is exactly the ASCII text. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;
const MAX_SAFE_HIGH = 0x1fffff; // high 32 bits of Number.MAX_SAFE_INTEGER

class Reader {
  pos = 0;
  readonly b: Uint8Array;
  readonly views: boolean;

  constructor(bytes: Uint8Array, views: boolean) {
    this.b = bytes;
    this.views = views;
  }

  item(depthLeft: number): CborValue {
    const b = this.b;
    const at = this.pos;
    if (at >= b.length) throw new CborError('input ends where a value should start');
    const initial = b[at] as number;
    this.pos = at + 1;
    const major = initial >> 5;
    if (major === 7) {
      // RFC 8949 §3.3: only false (20), true (21) and null (22) are in the profile.
      if (initial === 0xf4) return false;
      if (initial === 0xf5) return true;
      if (initial === 0xf6) return null;
      throw new CborError(`a float, simple value or break at byte ${at} is not allowed`);
    }
    if (major === 6) throw new CborError(`a tag at byte ${at} is not allowed`);
    const n = this.#argument(initial & 31, at);
    switch (major) {
      case 0:
        return n;
      case 1:
        if (n >= Number.MAX_SAFE_INTEGER) throw new CborError(`negative integer at byte ${at} is below −(2^53 − 1)`);
        return -1 - n;
      case 2:
        return this.#copy(this.#skip(n, at), n);
      case 3: {
        const start = this.#skip(n, at);
        const end = start + n;
        let isAscii = true;
        for (let i = start; i < end && isAscii; i++) isAscii = (b[i] as number) < 0x80;
        // ASCII (ids, kinds, zone names) is read without a TextDecoder round trip.
        if (isAscii) return latin1Slice.call(b, start, end);
        try {
          return utf8.decode(b.subarray(start, end));
        } catch {
          throw new CborError(`text at byte ${at} is not well-formed UTF-8`);
        }
      }
      case 4: {
        if (n === 0) return [];
        if (depthLeft <= 0) throw new CborError(`nesting deeper than allowed at byte ${at}`);
        if (n > b.length - this.pos) throw new CborError(`array at byte ${at} claims more items than bytes left`);
        const out: CborValue[] = new Array<CborValue>(n);
        for (let i = 0; i < n; i++) out[i] = this.item(depthLeft - 1);
        return out;
      }
      default: {
        const out = new Map<CborKey, CborValue>();
        if (n === 0) return out;
        if (depthLeft <= 0) throw new CborError(`nesting deeper than allowed at byte ${at}`);
        if (n > (b.length - this.pos) / 2) throw new CborError(`map at byte ${at} claims more entries than bytes left`);
        let prevStart = -1;
        let prevEnd = -1;
        for (let i = 0; i < n; i++) {
          const keyStart = this.pos;
          const keyInitial = b[keyStart] ?? 0xff;
          let key: CborKey;
          if (keyInitial < 24) {
            // The common case of this profile: a small integer label (RFC 8392 style), one byte.
            key = keyInitial;
            this.pos = keyStart + 1;
          } else {
            const keyMajor = keyInitial >> 5;
            if (keyMajor !== 0 && keyMajor !== 1 && keyMajor !== 3) throw new CborError(`a map key at byte ${keyStart} must be an integer or text`);
            key = this.item(0) as CborKey;
          }
          const keyEnd = this.pos;
          // §4.2.1: keys sorted by the bytewise lexicographic order of their deterministic encodings.
          if (prevStart >= 0 && compareRanges(b, prevStart, prevEnd, keyStart, keyEnd) >= 0) {
            throw new CborError(`map key at byte ${keyStart} is not after the previous key in bytewise order (RFC 8949 §4.2.1)`);
          }
          prevStart = keyStart;
          prevEnd = keyEnd;
          out.set(key, this.item(depthLeft - 1));
        }
        return out;
      }
    }
  }

  /** The argument of a head (§3), refusing any form longer than needed (§4.2.1) and indefinite lengths. */
  #argument(info: number, at: number): number {
    if (info < 24) return info;
    const b = this.b;
    const p = this.pos;
    let n: number;
    let min: number;
    if (info === 24) {
      this.#need(1, at);
      n = b[p] as number;
      min = 24;
      this.pos = p + 1;
    } else if (info === 25) {
      this.#need(2, at);
      n = ((b[p] as number) << 8) | (b[p + 1] as number);
      min = 0x100;
      this.pos = p + 2;
    } else if (info === 26) {
      this.#need(4, at);
      n = (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
      min = 0x10000;
      this.pos = p + 4;
    } else if (info === 27) {
      this.#need(8, at);
      const high = (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
      const low = (b[p + 4] as number) * 0x1000000 + (((b[p + 5] as number) << 16) | ((b[p + 6] as number) << 8) | (b[p + 7] as number));
      if (high > MAX_SAFE_HIGH) throw new CborError(`integer at byte ${at} is beyond 2^53 − 1`);
      n = high * 0x100000000 + low;
      min = 0x100000000;
      this.pos = p + 8;
    } else if (info === 31) {
      throw new CborError(`indefinite length at byte ${at} is not allowed`);
    } else {
      throw new CborError(`reserved additional information ${info} at byte ${at}`);
    }
    if (n < min) throw new CborError(`integer or length at byte ${at} is not in its shortest form`);
    return n;
  }

  #need(count: number, at: number): void {
    if (this.pos + count > this.b.length) throw new CborError(`input ends inside the head at byte ${at}`);
  }

  /** Moves past `length` bytes of string content; returns where they start. */
  #skip(length: number, at: number): number {
    if (length > this.b.length - this.pos) throw new CborError(`string at byte ${at} runs past the end of the input`);
    const start = this.pos;
    this.pos += length;
    return start;
  }

  /** A plain Uint8Array copy (never a Buffer view of the input, which a caller may reuse). */
  #copy(start: number, length: number): Uint8Array {
    const b = this.b;
    if (this.views) return b.subarray(start, start + length);
    if (length > 64) return new Uint8Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + start + length));
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = b[start + i] as number;
    return out;
  }
}

/** Bytewise (lexicographic) order of two ranges of `b` (RFC 8949 §4.2.1 key order). */
export function compareRanges(b: Uint8Array, aStart: number, aEnd: number, cStart: number, cEnd: number): number {
  const aLen = aEnd - aStart;
  const cLen = cEnd - cStart;
  const n = Math.min(aLen, cLen);
  for (let i = 0; i < n; i++) {
    const d = (b[aStart + i] as number) - (b[cStart + i] as number);
    if (d !== 0) return d;
  }
  return aLen - cLen;
}

/** Bytewise equality, for callers comparing canonical encodings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
