import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { COMMAND_MAX_BYTES, COMMAND_MAX_VALIDITY_MS, encodeCommandPayload, type Command } from '../../protocols/grant/command.js';
import { publicKeyObject, signingKeyFromSeed, type SigningKey } from '../../protocols/grant/ed25519.js';
import { Domain, seal } from '../../protocols/grant/envelope.js';
import { makeIssuerCertificate, signCommand } from '../../protocols/grant/issuer.js';
import type { GrantKind } from '../../protocols/grant/grant.js';
import { checkCommand, type CommandContext } from '../../hub/cloud/command-check.js';
import type { Issuer } from '../../hub/access/trust.js';
import { ErrorCode } from '../../hub/system/errors.js';

const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);
const HOUR = 3_600_000;
const HUB_ID = 'kh-0123456789abcdef';
const SKEW = 300_000;
const key = (b: number): SigningKey => signingKeyFromSeed(new Uint8Array(32).fill(b));
const owner = key(2);
const carrier = key(3);

/** The installed keyring as decide() sees it: an owner-capable issuer, a delivery-only one, an expired one. */
function trustWith(revoked: string[] = []) {
  const issuer = (kid: string, k: SigningKey, kinds: GrantKind[], notBefore = NOW - HOUR, notAfter = NOW + HOUR): [string, Issuer] => [
    kid,
    { certificate: makeIssuerCertificate({ kid, key: k, notBefore, notAfter, kinds }).certificate, key: publicKeyObject(k.publicKey) },
  ];
  const issuers = new Map<string, Issuer>([
    issuer('cloud-1', owner, ['delivery', 'guest', 'service', 'owner']),
    issuer('carrier-1', carrier, ['delivery']),
    issuer('old-1', owner, ['owner'], NOW - 3 * HOUR, NOW - HOUR),
  ]);
  return { issuer: (kid: string) => issuers.get(kid), isIssuerRevoked: (kid: string) => revoked.includes(kid) };
}

const ctx = (over: Partial<CommandContext> = {}): CommandContext => ({ now: NOW, hubId: HUB_ID, floorMs: NOW - HOUR, clockSkewMs: SKEW, ...over });
const command = (over: Partial<Command> = {}): Command => ({
  kid: 'cloud-1',
  id: new Uint8Array(16).fill(0xab),
  hubId: HUB_ID,
  action: 'lock',
  issuedAt: NOW - 1000,
  notAfter: NOW + 60_000,
  ...over,
});
const ID = 'ab'.repeat(16);

describe('checkCommand: may the hub act on this signed command now?', () => {
  it('accepts a command for this hub, in its window, signed by an unrevoked owner-capable issuer', () => {
    const r = checkCommand(signCommand(command(), owner), ctx(), trustWith());
    expect(r).toEqual({ ok: true, command: command() });
  });

  it.each([
    ['for another hub', command({ hubId: 'kh-ffffffffffffffff' }), ctx(), ErrorCode.COMMAND_WRONG_HUB],
    ['while the wall clock is behind the clock floor by more than the skew', command(), ctx({ floorMs: NOW + SKEW + 1 }), ErrorCode.COMMAND_CLOCK_UNTRUSTED],
    ['issued later than the hub clock plus the skew (not yet valid)', command({ issuedAt: NOW + SKEW + 1, notAfter: NOW + SKEW + 60_000 }), ctx(), ErrorCode.COMMAND_NOT_YET_VALID],
    ['whose window has closed', command({ issuedAt: NOW - 120_000, notAfter: NOW }), ctx(), ErrorCode.COMMAND_EXPIRED],
    ['from an unknown kid', command({ kid: 'nobody' }), ctx(), ErrorCode.COMMAND_ISSUER_UNKNOWN],
    ['from an issuer whose certificate has expired', command({ kid: 'old-1' }), ctx(), ErrorCode.COMMAND_ISSUER_CERT_NOT_VALID],
    ['from an issuer whose certificate is not yet valid', command({ issuedAt: NOW - HOUR - 1000, notAfter: NOW - HOUR + 1000 }), ctx({ now: NOW - HOUR - 1, floorMs: 0 }), ErrorCode.COMMAND_ISSUER_CERT_NOT_VALID],
    ['from a delivery-only issuer (no owner kind: may not command)', command({ kid: 'carrier-1' }), ctx(), ErrorCode.COMMAND_NOT_ALLOWED],
  ])('refuses a command %s', (_what, c, context, code) => {
    // Signed with the key its kid names, so only the rule under test can refuse it.
    const signer = c.kid === 'carrier-1' ? carrier : owner;
    expect(checkCommand(signCommand(c, signer), context, trustWith())).toMatchObject({ ok: false, id: ID, action: 'lock', code });
  });

  it('accepts within the skew at both edges: clock just above floor − skew, issued just ahead of the clock', () => {
    expect(checkCommand(signCommand(command(), owner), ctx({ floorMs: NOW + SKEW }), trustWith()).ok).toBe(true);
    expect(checkCommand(signCommand(command({ issuedAt: NOW + SKEW, notAfter: NOW + SKEW + 1000 }), owner), ctx(), trustWith()).ok).toBe(true);
    expect(checkCommand(signCommand(command({ notAfter: NOW + 1 }), owner), ctx(), trustWith()).ok).toBe(true);
  });

  it('refuses a command from a revoked issuer, even though its certificate and signature are good', () => {
    expect(checkCommand(signCommand(command(), owner), ctx(), trustWith(['cloud-1']))).toMatchObject({ ok: false, code: ErrorCode.COMMAND_ISSUER_REVOKED });
  });

  it('refuses a forged command: right kid, wrong key', () => {
    expect(checkCommand(signCommand(command(), key(66)), ctx(), trustWith())).toMatchObject({ ok: false, code: ErrorCode.COMMAND_SIGNATURE_INVALID });
  });

  it("refuses the issuer's own signature made for another kind of message over the same bytes", () => {
    const signedAsGrant = seal(Domain.grant, encodeCommandPayload(command()), owner);
    expect(checkCommand(signedAsGrant, ctx(), trustWith())).toMatchObject({ ok: false, code: ErrorCode.COMMAND_SIGNATURE_INVALID });
  });

  it.each([
    ['malformed CBOR', Uint8Array.from([0xff, 0x00, 0x13])],
    ['an empty payload', new Uint8Array(0)],
    ['an envelope whose payload is not a command', seal(Domain.command, encodeCanonical(new Map<number, CborValue>([[0, 1]])), owner)],
    ['an unknown action', seal(Domain.command, rawCommand({ 4: 'unlock' }), owner)],
    ['a window longer than ten minutes', seal(Domain.command, rawCommand({ 6: NOW - 1000 + COMMAND_MAX_VALIDITY_MS + 1 }), owner)],
    ['an oversized payload', new Uint8Array(COMMAND_MAX_BYTES + 1)],
  ])('refuses %s as malformed, before any signature work', (_what, bytes) => {
    expect(checkCommand(bytes, ctx(), trustWith())).toMatchObject({ ok: false, id: '', code: ErrorCode.COMMAND_MALFORMED });
  });

  it('property: a single changed byte anywhere in a signed command is never accepted', () => {
    const signed = signCommand(command(), owner);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: signed.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const b = Uint8Array.from(signed);
        b[at] = (b[at] as number) ^ xor;
        expect(checkCommand(b, ctx(), trustWith()).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: the decision follows the window exactly — ok iff issuedAt − skew ≤ now < notAfter', () => {
    fc.assert(
      fc.property(fc.integer({ min: -20 * 60_000, max: 20 * 60_000 }), fc.integer({ min: 1, max: COMMAND_MAX_VALIDITY_MS }), (offset, validFor) => {
        const c = command({ issuedAt: NOW + offset, notAfter: NOW + offset + validFor });
        const r = checkCommand(signCommand(c, owner), ctx(), trustWith());
        expect(r.ok).toBe(NOW >= c.issuedAt - SKEW && NOW < c.notAfter);
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz: arbitrary bytes are refused with a code, never thrown', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        const r = checkCommand(bytes, ctx(), trustWith());
        expect(r.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

function rawCommand(over: Record<number, CborValue>): Uint8Array {
  const c = command();
  const m = new Map<number, CborValue>([[0, 1], [1, c.kid], [2, c.id], [3, c.hubId], [4, c.action], [5, c.issuedAt], [6, c.notAfter]]);
  for (const [k, v] of Object.entries(over)) m.set(Number(k), v);
  return encodeCanonical(m);
}
