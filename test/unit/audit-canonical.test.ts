import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalDecode, canonicalEncode, libraryEncode } from '../../protocols/audit/canonical.js';
import { CHECKPOINT_DOMAIN, CHECKPOINT_VERSION, checkpointMessage } from '../../protocols/audit/checkpoint.js';

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

describe('the append path encoder', () => {
  it('property: ChainEncoder hashes and stores exactly what chainHash over encodeRecord does', async () => {
    const { ChainEncoder, chainHash, encodeRecord } = await import('../../protocols/audit/chain.js');
    const encoder = new ChainEncoder();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.string({ maxLength: 12 }),
        fc.dictionary(fc.string({ maxLength: 8 }), jsonShaped, { maxKeys: 4 }),
        (prev, seq, wallMs, monoMs, type, body) => {
          const record = { seq, wallMs, monoMs, event: { type, body } as never };
          const reference = encodeRecord(record);
          const { hash, body: stored } = encoder.chain(prev, record);
          expect(Buffer.from(hash).toString('hex')).toBe(Buffer.from(chainHash(prev, reference.canonical)).toString('hex'));
          expect(Buffer.from(stored).toString('hex')).toBe(Buffer.from(reference.body).toString('hex'));
          if (seq % 3 === 0) encoder.release();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('the append path encoder with a known event type', () => {
  it('property: a body written in its type\'s key order is the canonical encoding, extra keys or not', async () => {
    const { ChainEncoder, chainHash, encodeRecord } = await import('../../protocols/audit/chain.js');
    const encoder = new ChainEncoder();
    fc.assert(
      fc.property(
        fc.constantFrom('clip', 'decision', 'bolt'),
        fc.dictionary(fc.constantFrom('clipId', 'state', 'visitId', 'outcome', 'reason', 'grantId', 'by', 'x', '__proto__'), jsonShaped, { maxKeys: 5 }),
        (type, body) => {
          const record = { seq: 7, wallMs: 1_764_061_200_000, monoMs: 12, event: { type, body } as never };
          const reference = encodeRecord(record);
          const { hash, body: stored } = encoder.chain(new Uint8Array(32), record);
          expect(Buffer.from(hash).toString('hex')).toBe(Buffer.from(chainHash(new Uint8Array(32), reference.canonical)).toString('hex'));
          expect(Buffer.from(stored).toString('hex')).toBe(Buffer.from(reference.body).toString('hex'));
          encoder.release();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('the checkpoint message', () => {
  it('is the domain followed by the library encoding of { v, hubId, seq, headHash, wallMs }', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/),
        fc.maxSafeNat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.maxSafeNat(),
        (hubId, seq, headHash, wallMs) => {
          const expected = libraryEncode({ v: CHECKPOINT_VERSION, hubId, seq, headHash, wallMs });
          const message = checkpointMessage({ hubId, seq, headHash, wallMs });
          expect(Buffer.from(message.subarray(0, CHECKPOINT_DOMAIN.length))).toEqual(Buffer.from(CHECKPOINT_DOMAIN));
          expect(Buffer.from(message.subarray(CHECKPOINT_DOMAIN.length))).toEqual(Buffer.from(expected));
        },
      ),
    );
  });

  it('refuses a head hash of the wrong length and a seq that is not a safe integer', () => {
    expect(() => checkpointMessage({ hubId: 'kh-1', seq: 1, headHash: new Uint8Array(31), wallMs: 0 })).toThrow(RangeError);
    expect(() => checkpointMessage({ hubId: 'kh-1', seq: -1, headHash: new Uint8Array(32), wallMs: 0 })).toThrow(RangeError);
    expect(() => checkpointMessage({ hubId: 'kh-1', seq: 1.5, headHash: new Uint8Array(32), wallMs: 0 })).toThrow(RangeError);
  });
});
