import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../hub/access/decide.js';
import { GRANT_KINDS, decodeGrantPayload, encodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { decodePresentationPayload, encodePresentationPayload, type Presentation } from '../../protocols/grant/presentation.js';
import { signGrant } from '../../protocols/grant/issuer.js';
import { bleContext, makeWorld, visit } from '../support/grant-fixture.js';

const id = fc.string({ minLength: 1, maxLength: 64 });
const ms = fc.integer({ min: 0, max: 2 ** 45 });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const grantArb: fc.Arbitrary<Grant> = fc
  .record({
    kid: id,
    id: bytes(16),
    hubId: id,
    lockId: id,
    kind: fc.constantFrom(...GRANT_KINDS),
    subjectId: id,
    subjectKey: bytes(32),
    notBefore: ms,
    span: fc.integer({ min: 1, max: 10 ** 10 }),
    maxEntryMs: fc.integer({ min: 0, max: 3_600_000 }),
    uses: fc.integer({ min: 1, max: 1000 }),
    issuedAt: ms,
    orderId: fc.string({ minLength: 1, maxLength: 20 }),
    packageIds: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
    digest: bytes(32),
    weekly: fc.array(
      fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 })).map(([day, a, b]) => ({ day, startMin: Math.min(a, b - 1), endMin: b })),
      { minLength: 1, maxLength: 5 },
    ),
    recurring: fc.boolean(),
  })
  .map((r) => ({
    kid: r.kid,
    id: r.id,
    hubId: r.hubId,
    lockId: r.lockId,
    kind: r.kind,
    subjectId: r.subjectId,
    subjectKey: r.subjectKey,
    notBefore: r.notBefore,
    notAfter: r.notBefore + r.span,
    maxEntryMs: r.maxEntryMs,
    uses: r.kind === 'delivery' ? 1 : r.uses,
    issuedAt: r.issuedAt,
    ...(r.kind === 'delivery' ? { delivery: { orderId: r.orderId, packageIds: r.packageIds, addressDigest: r.digest } } : {}),
    ...(r.recurring && (r.kind === 'guest' || r.kind === 'service') ? { recurring: { weekly: r.weekly, tz: 'Europe/Berlin' } } : {}),
  }));

const presentationArb: fc.Arbitrary<Presentation> = fc
  .record({
    grantId: bytes(16),
    challenge: bytes(32),
    transport: fc.constantFrom('ble' as const, 'cloud' as const),
    time: ms,
    packages: fc.array(fc.string({ minLength: 1, maxLength: 64 }), { maxLength: 32 }),
    position: fc.record({ latE7: fc.integer({ min: -900_000_000, max: 900_000_000 }), lonE7: fc.integer({ min: -1_800_000_000, max: 1_800_000_000 }), accuracyM: fc.integer({ min: 0, max: 100_000 }) }),
  })
  .map((p) => (p.transport === 'ble' ? { ...p, position: undefined } : p))
  .map(({ position, ...rest }) => (position === undefined ? rest : { ...rest, position }));

/** Byte strings as plain arrays so Buffer and Uint8Array compare equal. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? [...x] : x)));

describe('grant messages: properties', () => {
  it('decode(encode(grant)) is the grant, for every valid grant', () => {
    fc.assert(
      fc.property(grantArb, (g) => {
        expect(plain(decodeGrantPayload(encodeGrantPayload(g)))).toEqual(plain(g));
      }),
      { numRuns: 300 },
    );
  });

  it('decode(encode(presentation)) is the presentation, for every valid presentation', () => {
    fc.assert(
      fc.property(presentationArb, (p) => {
        expect(plain(decodePresentationPayload(encodePresentationPayload(p)))).toEqual(plain(p));
      }),
      { numRuns: 300 },
    );
  });

  it('encode(decode(payload)) is the payload: a grant has exactly one encoding', () => {
    fc.assert(
      fc.property(grantArb, (g) => {
        const payload = encodeGrantPayload(g);
        expect(Buffer.from(encodeGrantPayload(decodeGrantPayload(payload)))).toEqual(Buffer.from(payload));
      }),
      { numRuns: 100 },
    );
  });
});

describe('decide: never throws', () => {
  it('answers Allow or Refuse for arbitrary bytes and arbitrary context values', async () => {
    const world = await makeWorld();
    const v = visit(world);
    const ctxArb = fc.record({
      now: fc.integer({ min: 0, max: 2 ** 50 }),
      rssiDbm: fc.option(fc.integer({ min: -120, max: 10 }), { nil: undefined }),
      deliveriesPaused: fc.boolean(),
      cameraHealthy: fc.boolean(),
      transport: fc.constantFrom('ble' as const, 'cloud' as const),
    });
    const input = fc.oneof(fc.uint8Array({ maxLength: 1200 }), fc.constant(v.grantBytes), fc.constant(v.presentationBytes), fc.constant(signGrant({ ...v.grant, kind: 'owner', delivery: undefined }, world.issuer)));
    fc.assert(
      fc.property(input, input, ctxArb, (g, p, c) => {
        const d = decide(g, p, bleContext(c), world.stores);
        expect(typeof d.allow).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
    world.close();
  });
});
