import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CborError, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import {
  COMMAND_ACTIONS,
  COMMAND_MAX_BYTES,
  COMMAND_MAX_VALIDITY_MS,
  decodeCommandPayload,
  encodeCommandPayload,
  mayIssueCommands,
  type Command,
} from '../../protocols/grant/command.js';
import { publicKeyObject, signingKeyFromSeed } from '../../protocols/grant/ed25519.js';
import { Domain, openEnvelope, seal, verifyEnvelope } from '../../protocols/grant/envelope.js';
import { newCommandId, signCommand } from '../../protocols/grant/issuer.js';

const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);
const issuer = signingKeyFromSeed(new Uint8Array(32).fill(2));

const command = (over: Partial<Command> = {}): Command => ({
  kid: 'cloud-1',
  id: new Uint8Array(16).fill(7),
  hubId: 'kh-0123456789abcdef',
  action: 'lock',
  issuedAt: NOW,
  notAfter: NOW + 120_000,
  ...over,
});

/** The payload map as the format's table spells it, for building payloads the encoder would refuse. */
function rawPayload(over: Record<number, CborValue | undefined> = {}): Uint8Array {
  const c = command();
  const m = new Map<number, CborValue>([
    [0, 1],
    [1, c.kid],
    [2, c.id],
    [3, c.hubId],
    [4, c.action],
    [5, c.issuedAt],
    [6, c.notAfter],
  ]);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) m.delete(Number(k));
    else m.set(Number(k), v);
  }
  return encodeCanonical(m);
}

describe('the signed command format (protocols/grant/command.ts)', () => {
  it('decodes what it encodes, for every action', () => {
    for (const action of COMMAND_ACTIONS) {
      expect(decodeCommandPayload(encodeCommandPayload(command({ action })))).toEqual(command({ action }));
    }
  });

  it('property: any valid command survives encode → decode unchanged, and stays small', () => {
    const arb = fc.record({
      kid: fc.string({ minLength: 1, maxLength: 64 }),
      id: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      hubId: fc.string({ minLength: 1, maxLength: 64 }),
      action: fc.constantFrom(...COMMAND_ACTIONS),
      issuedAt: fc.integer({ min: 0, max: 2 ** 48 }),
      validFor: fc.integer({ min: 1, max: COMMAND_MAX_VALIDITY_MS }),
    });
    fc.assert(
      fc.property(arb, ({ validFor, ...c }) => {
        const value: Command = { ...c, notAfter: c.issuedAt + validFor };
        const signed = signCommand(value, issuer);
        expect(signed.length).toBeLessThanOrEqual(COMMAND_MAX_BYTES);
        expect(decodeCommandPayload(openEnvelope(signed, COMMAND_MAX_BYTES).payload)).toEqual(value);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts a window of exactly the maximum validity', () => {
    expect(decodeCommandPayload(encodeCommandPayload(command({ notAfter: NOW + COMMAND_MAX_VALIDITY_MS })))).toMatchObject({ notAfter: NOW + COMMAND_MAX_VALIDITY_MS });
  });

  it.each([
    ['an unsupported version', rawPayload({ 0: 2 }), /unsupported version/],
    ['an unknown field', rawPayload({ 7: 1 }), /unknown field 7/],
    ['a missing hub id', rawPayload({ 3: undefined }), /field 3 is missing/],
    ['an id of 15 bytes', rawPayload({ 2: new Uint8Array(15) }), /field 2 must be 16 bytes/],
    ['an action outside the closed set (remote unlock is never a command)', rawPayload({ 4: 'unlock' }), /field 4 must be one of lock, checkpoint, publish-state/],
    ['a kid longer than 64', rawPayload({ 1: 'k'.repeat(65) }), /field 1 must be text/],
    ['a negative issue time', rawPayload({ 5: -1 }), /field 5 must be an integer/],
    ['a window that ends where it starts', rawPayload({ 6: NOW }), /notAfter must be after issuedAt/],
    ['a window that ends before it starts', rawPayload({ 6: NOW - 1 }), /notAfter must be after issuedAt/],
    ['a window one millisecond longer than allowed', rawPayload({ 6: NOW + COMMAND_MAX_VALIDITY_MS + 1 }), /valid for at most 10 minutes/],
    ['an array instead of a map', encodeCanonical([1, 2, 3]), /expected a map/],
    ['bytes over the size cap', encodeCanonical(new Map<number, CborValue>([[0, 1], [1, 'x'.repeat(COMMAND_MAX_BYTES)]])), /./],
    ['a non-canonical encoding (a long-form integer)', Uint8Array.from([0xa1, 0x18, 0x00, 0x01]), /./],
    ['truncated CBOR', rawPayload().subarray(0, 20), /./],
  ])('refuses a payload with %s', (_what, payload, message) => {
    expect(() => decodeCommandPayload(payload)).toThrow(CborError);
    expect(() => decodeCommandPayload(payload)).toThrow(message);
  });

  it('the issuer SDK refuses to encode a command the hub would refuse', () => {
    expect(() => encodeCommandPayload(command({ notAfter: NOW + COMMAND_MAX_VALIDITY_MS + 1 }))).toThrow(CborError);
    expect(() => encodeCommandPayload(command({ action: 'unlock' as Command['action'] }))).toThrow(CborError);
    expect(() => signCommand(command({ id: new Uint8Array(8) }), issuer)).toThrow(CborError);
  });

  it('is signed under its own domain prefix: a command signature never verifies as another message, nor the reverse', () => {
    const signed = signCommand(command(), issuer);
    const envelope = openEnvelope(signed, COMMAND_MAX_BYTES);
    const key = publicKeyObject(issuer.publicKey);
    expect(verifyEnvelope(Domain.command, envelope, key)).toBe(true);
    for (const other of Object.values(Domain).filter((d) => d !== Domain.command)) {
      expect(verifyEnvelope(other, envelope, key)).toBe(false);
      const resealed = openEnvelope(seal(other, envelope.payload, issuer), COMMAND_MAX_BYTES);
      expect(verifyEnvelope(Domain.command, resealed, key)).toBe(false);
    }
  });

  it('lets only an issuer certified for owner grants command a hub', () => {
    expect(mayIssueCommands({ kinds: ['owner'] })).toBe(true);
    expect(mayIssueCommands({ kinds: ['delivery', 'guest', 'service', 'owner'] })).toBe(true);
    expect(mayIssueCommands({ kinds: ['delivery', 'guest', 'service'] })).toBe(false);
  });

  it('makes command ids of 16 random bytes', () => {
    const ids = Array.from({ length: 50 }, () => Buffer.from(newCommandId()).toString('hex'));
    expect(ids.every((id) => id.length === 32)).toBe(true);
    expect(new Set(ids).size).toBe(50);
  });

  it('fuzz: arbitrary bytes and mutated payloads make the decoder throw CborError or decode a valid command, nothing else', () => {
    const valid = encodeCommandPayload(command());
    const mutant = fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
      const b = Uint8Array.from(valid);
      b[at] = (b[at] as number) ^ xor;
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutant), (bytes) => {
        try {
          const c = decodeCommandPayload(bytes);
          // Whatever decodes obeys every rule of the format.
          expect(c.notAfter).toBeGreaterThan(c.issuedAt);
          expect(c.notAfter - c.issuedAt).toBeLessThanOrEqual(COMMAND_MAX_VALIDITY_MS);
          expect(COMMAND_ACTIONS).toContain(c.action);
          expect(c.id.length).toBe(16);
        } catch (err) {
          expect(err).toBeInstanceOf(CborError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
