import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborError, bytesEqual, decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { decodeCanonicalWithCborg } from '../../protocols/cbor/cborg-strict.js';
import { FieldReader, bytesItem, knownFields, textItem } from '../../protocols/cbor/fields.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const decode = (s: string, maxBytes = 1024) => decodeCanonical(hex(s), { maxBytes });

/** Values inside the profile: safe integers, text, bytes, booleans, null, arrays, maps. */
const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.integer({ min: -30, max: 300 }),
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(true, false, null),
    fc.array(tie('v'), { maxLength: 5 }),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.string({ maxLength: 8 })), tie('v')), {
        maxLength: 5,
        selector: ([k]) => k,
      })
      .map((entries) => new Map(entries)),
  ),
})).v;

/** A comparable form: maps as entry lists sorted by key (Map equality is order-sensitive), bytes as hex. */
function plain(v: CborValue): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [JSON.stringify(k), plain(x)]).sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1));
  return v;
}

describe('canonical CBOR: round trip', () => {
  it('decode(encode(v)) is v, and encode(decode(b)) is b, for any value in the profile', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeCanonical(v);
        const back = decodeCanonical(bytes, { maxBytes: 1 << 20, maxDepth: 64 });
        expect(plain(back)).toEqual(plain(v));
        expect(bytesEqual(encodeCanonical(back), bytes)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a byte string only if it is the one encoding of what it decodes to (any bytes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }), (bytes) => {
        let v: CborValue;
        try {
          v = decodeCanonical(bytes, { maxBytes: 64 });
        } catch (err) {
          expect(err).toBeInstanceOf(CborError);
          return;
        }
        expect(bytesEqual(encodeCanonical(v), bytes)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('sorts map keys bytewise by their encoding (RFC 8949 §4.2.1): 10 before 100 before -1 before "a"', () => {
    const bytes = encodeCanonical(new Map<number | string, CborValue>([['a', 1], [-1, 2], [100, 3], [10, 4]]));
    expect(Buffer.from(bytes).toString('hex')).toBe('a40a0418640320026161' + '01');
  });

  it('refuses to encode floats, bigints, undefined and unsafe integers', () => {
    expect(() => encodeCanonical(1.5)).toThrow(CborError);
    expect(() => encodeCanonical(2 ** 53)).toThrow(CborError);
    expect(() => encodeCanonical(10n as unknown as CborValue)).toThrow(CborError);
    expect(() => encodeCanonical([undefined as unknown as CborValue])).toThrow(CborError);
  });
});

describe('canonical CBOR: strict decoding refuses every other form', () => {
  const refused: Array<[string, string]> = [
    ['an empty input', ''],
    ['trailing bytes after the value', '0000'],
    ['an integer not in its shortest form', '1801'],
    ['a length not in its shortest form', '5801ff'],
    ['an indefinite-length array', '9f01ff'],
    ['an indefinite-length byte string', '5f41ffff'],
    ['a half-precision float', 'f93c00'],
    ['a double-precision float equal to an integer', 'fb3ff0000000000000'],
    ['NaN', 'f97e00'],
    ['undefined', 'f7'],
    ['a simple value', 'e0'],
    ['a tag', 'c11a5f5e1000'],
    ['an integer beyond 2^53', '1b0020000000000000'],
    ['unsorted map keys', 'a2020001 00'],
    ['a repeated map key', 'a201000100'],
    ['a text key before an integer key', 'a261610100 00'],
    ['a byte-string map key', 'a1410000'],
    ['an array as a map key', 'a1800000'],
    ['text that is not UTF-8', '62c328'],
    ['text truncated inside a character', '63f09f98'],
    ['a container cut short', 'a100a100a1'],
    ['a string cut short', '6380'],
    ['nesting deeper than the cap', '8181818181818181 8100'],
  ];
  for (const [what, bytes] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => decode(bytes)).toThrow(CborError);
    });
  }

  it('refuses input over the byte cap before decoding it', () => {
    expect(() => decodeCanonical(new Uint8Array(11), { maxBytes: 10 })).toThrow(/over the cap/);
  });

  it('accepts the canonical forms of edge values', () => {
    expect(decode('17')).toBe(23);
    expect(decode('1818')).toBe(24);
    expect(decode('3b001ffffffffffffe')).toBe(-(2 ** 53 - 1));
    expect(decode('64f09f9880')).toBe('😀');
    expect(decode('63efbbbf')).toBe('\uFEFF'); // a leading U+FEFF is a character, kept as sent
    expect(decode('80')).toEqual([]);
    expect(decode('a0')).toEqual(new Map());
    expect(decode('f6')).toBeNull();
  });
});

describe('canonical CBOR: the fast decoder against the cborg-based one (differential)', () => {
  /** Outcome of a decoder: the re-encoded value, or 'refused'. */
  const outcome = (fn: () => CborValue): string => {
    try {
      return Buffer.from(encodeCanonical(fn())).toString('hex');
    } catch (err) {
      expect(err).toBeInstanceOf(CborError);
      return 'refused';
    }
  };
  /** cborg strips a leading U+FEFF from text, so its decoder refuses such text; ours keeps it. */
  const hasBom = (bytes: Uint8Array) => Buffer.from(bytes).includes(Buffer.from([0xef, 0xbb, 0xbf]));

  it('agrees on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        if (hasBom(bytes)) return;
        const limits = { maxBytes: 64, maxDepth: 4 };
        expect(outcome(() => decodeCanonical(bytes, limits))).toBe(outcome(() => decodeCanonicalWithCborg(bytes, limits)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees on canonical encodings of random values and on their single-byte mutations', () => {
    fc.assert(
      fc.property(value, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
        const bytes = encodeCanonical(v);
        const limits = { maxBytes: 1 << 20, maxDepth: 64 };
        expect(outcome(() => decodeCanonical(bytes, limits))).toBe(outcome(() => decodeCanonicalWithCborg(bytes, limits)));
        const mutant = Uint8Array.from(bytes);
        mutant[at % mutant.length] = byte;
        if (hasBom(mutant)) return;
        expect(outcome(() => decodeCanonical(mutant, limits))).toBe(outcome(() => decodeCanonicalWithCborg(mutant, limits)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('field reader', () => {
  const map = (entries: Array<[number | string, CborValue]>) => new Map(entries);

  it('reads the typed fields of a schema and refuses unknown keys, missing keys and wrong types', () => {
    const r = new FieldReader(map([[0, 5], [1, 'x'], [2, new Uint8Array(2)], [3, ['a']], [4, -3]]), 'm', knownFields(0, 1, 2, 3, 4, 5));
    expect(r.uint(0)).toBe(5);
    expect(r.text(1, 4)).toBe('x');
    expect(r.bytes(2, 2)).toHaveLength(2);
    expect(r.array(3, 1, 1, textItem('m', 2))).toEqual(['a']);
    expect(r.int(4, -5, 0)).toBe(-3);
    expect(r.has(5)).toBe(false);
    expect(() => r.uint(5)).toThrow(/missing/);
    expect(() => r.uint(1)).toThrow(/must be/);
    expect(() => r.uint(0, 4)).toThrow(/must be/);
    expect(() => r.int(4, 0, 1)).toThrow(/must be/);
    expect(() => r.bytes(2, 3)).toThrow(/must be/);
    expect(() => r.text(1, 0)).toThrow(/must be/);
    expect(() => r.oneOf(1, ['y'])).toThrow(/one of/);
    expect(r.oneOf(1, ['x', 'y'])).toBe('x');
    expect(() => r.array(3, 2, 3, textItem('m', 2))).toThrow(/array/);
    expect(() => r.array(3, 1, 1, bytesItem('m', 2))).toThrow(/must be 2 bytes/);
    expect(() => new FieldReader(map([[9, 1]]), 'm', knownFields(0))).toThrow(/unknown field 9/);
    expect(() => new FieldReader(map([[31, 1]]), 'm', knownFields(0))).toThrow(/unknown field 31/);
    expect(() => new FieldReader(map([[-1, 1]]), 'm', knownFields(0))).toThrow(/unknown field -1/);
    expect(() => knownFields(31)).toThrow(RangeError);
    expect(() => new FieldReader(map([['0', 1]]), 'm', knownFields(0))).toThrow(/unknown field 0/);
    expect(() => new FieldReader([1], 'm', knownFields(0))).toThrow(/expected a map/);
  });
});
