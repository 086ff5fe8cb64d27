/**
 * Bounds-checked reading of untrusted bytes. Every read past the end throws ShortRead, which the
 * decoders turn into a result value: parsers of radio input never throw to their callers.
 */
export class ShortRead extends Error {
  override readonly name = 'ShortRead';
}

export class ByteReader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  u8(): number {
    const v = this.#bytes[this.#at];
    if (v === undefined) throw new ShortRead('u8');
    this.#at += 1;
    return v;
  }

  u32(): number {
    const b = this.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000;
  }

  take(length: number): Uint8Array {
    if (length < 0 || this.#at + length > this.#bytes.length) throw new ShortRead(`take(${length})`);
    const out = this.#bytes.slice(this.#at, this.#at + length);
    this.#at += length;
    return out;
  }

  rest(): Uint8Array {
    return this.take(this.remaining);
  }
}

export class ByteWriter {
  readonly #parts: number[] = [];

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`u8 out of range: ${v}`);
    this.#parts.push(v);
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    this.#parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }

  bytes(b: Uint8Array): this {
    for (const x of b) this.#parts.push(x);
    return this;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}
