/**
 * The same strict canonical profile as decodeCanonical (canonical.ts), built on cborg's own
 * decoder: cborg's strict options (shortest integers and lengths, no indefinite lengths, no
 * undefined/NaN/Infinity/bigints/tags, no repeated keys) plus a tokenizer that checks what cborg
 * cannot (its README, "Deterministic encoding recommendations": map order and float forms are not
 * checked on decode). It is the differential oracle the fast decoder is fuzzed against, and a
 * drop-in for callers that prefer the library path over speed.
 */
import { Tokenizer, Type, decode } from 'cborg';
import type { DecodeOptions, Token } from 'cborg';
import { CborError, compareRanges, type CborValue, type DecodeLimits } from './canonical.js';

const DECODE_OPTIONS: DecodeOptions = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: true,
  tags: [],
};

export function decodeCanonicalWithCborg(bytes: Uint8Array, limits: DecodeLimits): CborValue {
  if (bytes.length > limits.maxBytes) throw new CborError(`${bytes.length} bytes is over the cap of ${limits.maxBytes}`);
  if (bytes.length === 0) throw new CborError('empty input');
  const tokenizer = new CanonicalTokenizer(bytes, limits.maxDepth ?? 8);
  let value: unknown;
  try {
    value = decode(bytes, { ...DECODE_OPTIONS, tokenizer });
  } catch (err) {
    if (err instanceof CborError) throw err;
    throw new CborError((err as Error).message);
  }
  // cborg's decode() refuses trailing bytes itself; the tokenizer's stack must also be closed.
  tokenizer.finish();
  return value as CborValue;
}

interface Frame {
  /** Items still expected in this container (a map counts keys and values). */
  remaining: number;
  isMap: boolean;
  /** Start and end offsets of the previous key's encoding in this map. */
  prevKeyStart: number;
  prevKeyEnd: number;
}

const utf8 = new TextEncoder();

/**
 * Wraps cborg's tokenizer to enforce what cborg's own options cannot (its README, "Deterministic
 * encoding recommendations": map order and float forms are not checked on decode): it refuses
 * floats and simple values, unsorted or repeated map keys, non-text/integer keys, malformed UTF-8,
 * and nesting beyond the cap. It walks the same token stream cborg builds the value from, so no
 * second pass or re-encode is needed.
 */
class CanonicalTokenizer extends Tokenizer {
  readonly #bytes: Uint8Array;
  readonly #maxDepth: number;
  readonly #stack: Frame[] = [];

  constructor(bytes: Uint8Array, maxDepth: number) {
    super(bytes, DECODE_OPTIONS);
    this.#bytes = bytes;
    this.#maxDepth = maxDepth;
  }

  override next(): Token {
    const start = this.pos();
    const token = super.next();
    const end = this.pos();
    const type = token.type;
    const top = this.#stack.at(-1);
    if (top !== undefined) {
      const isKey = top.isMap && top.remaining % 2 === 0;
      top.remaining -= 1;
      if (isKey) this.#checkKey(top, type, start, end);
    }
    switch (type.name) {
      case Type.bytes.name:
        // A plain copy: cborg hands out Buffer views of the input, which a caller may reuse.
        token.value = new Uint8Array(token.value as Uint8Array);
        break;
      case Type.uint.name:
      case Type.negint.name:
      case Type.true.name:
      case Type.false.name:
      case Type.null.name:
        break;
      case Type.string.name:
        this.#checkUtf8(token.value as string, start, end);
        break;
      case Type.array.name:
      case Type.map.name: {
        const count = (token.value as number) * (type.name === Type.map.name ? 2 : 1);
        if (count > 0) {
          if (this.#stack.length + 1 > this.#maxDepth) throw new CborError(`nesting deeper than ${this.#maxDepth}`);
          this.#stack.push({ remaining: count, isMap: type.name === Type.map.name, prevKeyStart: -1, prevKeyEnd: -1 });
          return token;
        }
        break;
      }
      default:
        throw new CborError(`a ${type.name} at byte ${start} is not allowed (integers, bytes, text, arrays, maps, booleans and null only)`);
    }
    this.#closeFinished();
    return token;
  }

  /** Called after decode(): every container must have received all of its items. */
  finish(): void {
    if (this.#stack.length > 0) throw new CborError('input ends inside a container');
  }

  #closeFinished(): void {
    while (this.#stack.length > 0 && (this.#stack.at(-1) as Frame).remaining === 0) this.#stack.pop();
  }

  #checkKey(frame: Frame, type: Type, start: number, end: number): void {
    if (type.name !== Type.uint.name && type.name !== Type.negint.name && type.name !== Type.string.name) {
      throw new CborError(`a map key at byte ${start} is a ${type.name}; only integers and text are allowed`);
    }
    if (frame.prevKeyStart >= 0 && compareRanges(this.#bytes, frame.prevKeyStart, frame.prevKeyEnd, start, end) >= 0) {
      throw new CborError(`map key at byte ${start} is not after the previous key in bytewise order (RFC 8949 §4.2.1)`);
    }
    frame.prevKeyStart = start;
    frame.prevKeyEnd = end;
  }

  #checkUtf8(text: string, start: number, end: number): void {
    // cborg decodes text without `fatal`, so malformed UTF-8 becomes U+FFFD and a leading BOM
    // vanishes. Text with no U+FFFD whose UTF-8 length equals the payload length was decoded
    // without loss; anything else must re-encode to the very same bytes.
    const minor = (this.#bytes[start] as number) & 31;
    const header = minor < 24 ? 1 : minor === 24 ? 2 : minor === 25 ? 3 : minor === 26 ? 5 : 9;
    const length = end - start - header;
    if (utf8Length(text) === length && !text.includes('\uFFFD')) return;
    const encoded = utf8.encode(text);
    const offset = start + header;
    let same = encoded.length === length;
    for (let i = 0; same && i < length; i++) same = encoded[i] === this.#bytes[offset + i];
    if (!same) throw new CborError(`text at byte ${start} is not well-formed UTF-8`);
  }
}

/** UTF-8 length of a JS string (lone surrogates count as the 3 bytes of U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}


