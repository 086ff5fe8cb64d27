import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalDecode, canonicalEncode, libraryEncode } from '../../protocols/audit/canonical.js';

/** JSON-shaped values without floats: what audit records are made of. */
const jsonShaped = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ maxLength: 300 }),
    fc.maxSafeInteger(),
    fc.integer({ min: -70_000, max: 70_000 }),
    fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, -24, -25, -257, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 30 }),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 12 }), tie('value'), { maxKeys: 8 }),
  ),
})).value;

describe('the audit canonical encoder', () => {
  it('property: writes exactly the bytes of protocols/cbor for every JSON-shaped value', () => {
    fc.assert(
      fc.property(jsonShaped, (v) => {
        expect(Buffer.from(canonicalEncode(v)).toString('hex')).toBe(Buffer.from(libraryEncode(v)).toString('hex'));
      }),
      { numRuns: 3000 },
    );
  });

  it('property: what it writes decodes strictly back to the same value', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 10 }), jsonShaped, { maxKeys: 6 }), (v) => {
        expect(canonicalDecode(canonicalEncode(v))).toEqual(v);
      }),
      { numRuns: 1000 },
    );
  });

  it('hands byte strings and floats to the library, which keeps its own rules', () => {
    expect(canonicalEncode({ b: Uint8Array.from([1, 2]) })).toEqual(libraryEncode({ b: Uint8Array.from([1, 2]) }));
    expect(() => canonicalEncode({ x: 1.5 })).toThrow(/only safe integers/);
    expect(() => canonicalEncode({ x: undefined })).toThrow();
  });
});

describe('one pass for a record and its body', () => {
  it('property: the captured part is exactly the canonical encoding of that value', async () => {
    const { canonicalEncodeWithPart } = await import('../../protocols/audit/canonical.js');
    fc.assert(
      fc.property(jsonShaped, fc.dictionary(fc.string({ maxLength: 8 }), jsonShaped, { maxKeys: 4 }), (body, rest) => {
        const value = { ...rest, body };
        const { bytes, part } = canonicalEncodeWithPart(value, 'body');
        expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(libraryEncode(value)).toString('hex'));
        expect(Buffer.from(part).toString('hex')).toBe(Buffer.from(libraryEncode(body)).toString('hex'));
      }),
      { numRuns: 1000 },
    );
  });
});
