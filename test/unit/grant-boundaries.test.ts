/**
 * Every edge of decide() exactly: one millisecond, one byte either side. A check that is off by
 * one is a door that opens a millisecond early or a grant one byte larger than anyone reviewed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decide, type Decision } from '../../hub/access/decide.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { Domain, seal } from '../../protocols/grant/envelope.js';
import { GRANT_MAX_BYTES, encodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signGrant, signKeyring } from '../../protocols/grant/issuer.js';
import { PRESENTATION_MAX_BYTES } from '../../protocols/grant/presentation.js';
import { HOME, HOUR, NOW, bleContext, deliveryGrant, makeWorld, visit, type World } from '../support/grant-fixture.js';

const SKEW = 300_000;
let world: World;
beforeEach(async () => {
  world = await makeWorld();
});
afterEach(() => world.close());

const run = (v: ReturnType<typeof visit>, ctx = bleContext()): ErrorCode | 'allow' => {
  const d: Decision = decide(v.grantBytes, v.presentationBytes, ctx, world.stores);
  return d.allow ? 'allow' : d.code;
};

describe('decide: time edges', () => {
  it('trusts a wall clock behind the floor by exactly the skew, not by one millisecond more', () => {
    world.floor.raise(NOW + SKEW, 'signed-time');
    expect(run(visit(world))).toBe('allow');
    world.floor.raise(NOW + SKEW + 1, 'signed-time');
    expect(run(visit(world))).toBe(ErrorCode.CLOCK_UNTRUSTED);
  });

  it('takes a grant issued exactly the skew after the hub’s clock, not one millisecond later', () => {
    expect(run(visit(world, { grant: { issuedAt: NOW + SKEW } }))).toBe('allow');
    expect(run(visit(world, { grant: { issuedAt: NOW + SKEW + 1 } }))).toBe(ErrorCode.CLOCK_UNTRUSTED);
  });

  it('opens a grant’s window at notBefore exactly and closes it at notAfter exactly', () => {
    expect(run(visit(world, { grant: { notBefore: NOW } }))).toBe('allow');
    expect(run(visit(world, { grant: { notBefore: NOW + 1, issuedAt: NOW - HOUR } }))).toBe(ErrorCode.GRANT_NOT_YET_VALID);
    expect(run(visit(world, { grant: { notAfter: NOW + 1 } }))).toBe('allow');
    expect(run(visit(world, { grant: { notAfter: NOW } }))).toBe(ErrorCode.GRANT_EXPIRED);
  });

  it('holds an issuer’s certificate valid from its notBefore exactly to just before its notAfter', () => {
    const install = (notBefore: number, notAfter: number, version: number) => {
      const cert = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore, notAfter, kinds: ['delivery'] }).certificate;
      world.trust.installKeyring(signKeyring({ version, issuedAt: NOW, issuers: [cert] }, world.root));
    };
    install(NOW, NOW + HOUR, 2);
    expect(run(visit(world))).toBe('allow');
    install(NOW + 1, NOW + HOUR, 3);
    expect(run(visit(world))).toBe(ErrorCode.ISSUER_CERT_NOT_VALID);
    install(NOW - HOUR, NOW + 1, 4);
    expect(run(visit(world))).toBe('allow');
    install(NOW - HOUR, NOW, 5);
    expect(run(visit(world))).toBe(ErrorCode.ISSUER_CERT_NOT_VALID);
  });

  it('takes a BLE signal exactly at the floor, not one dBm below', () => {
    expect(run(visit(world), bleContext({ rssiDbm: -70 }))).toBe('allow');
    expect(run(visit(world), bleContext({ rssiDbm: -71 }))).toBe(ErrorCode.SIGNAL_TOO_WEAK);
  });
});

describe('decide: size caps, to the byte', () => {
  /** A grant whose signed envelope is exactly `size` bytes (padded with package ids). */
  function grantOfSize(size: number): { grant: Grant; bytes: Uint8Array } {
    for (let n = 1; n <= 32; n++) {
      for (let last = 1; last <= 64; last++) {
        const packageIds = [...Array.from({ length: n - 1 }, (_, i) => `pkg-${i}`.padEnd(64, 'x')), 'pkg-1'.padEnd(Math.max(5, last), 'y')];
        const grant = deliveryGrant(world, { delivery: { orderId: 'order-1', packageIds, addressDigest: new Uint8Array(32) } });
        const bytes = signGrant(grant, world.issuer);
        if (bytes.length === size) return { grant, bytes };
        if (bytes.length > size) break;
      }
    }
    throw new Error(`no grant of ${size} bytes`);
  }

  it('reads a grant of exactly 1024 bytes and refuses one of 1025 before reading it', () => {
    const { grant, bytes } = grantOfSize(GRANT_MAX_BYTES);
    const presentation = signPresentation({ grantId: grant.id, challenge: world.stores.replay.issueChallenge(NOW), transport: 'ble', time: NOW, packages: [grant.delivery?.packageIds.at(-1) as string] }, world.courier);
    expect(decide(bytes, presentation, bleContext(), world.stores)).toMatchObject({ allow: true });
    const over = Uint8Array.from([...bytes, 0]);
    expect(decide(over, presentation, bleContext(), world.stores)).toEqual({ allow: false, code: ErrorCode.GRANT_MALFORMED, reason: 'grant is over 1024 bytes' });
  });

  it('reads a presentation of exactly 1024 bytes and refuses one of 1025 before reading it', () => {
    const grant = deliveryGrant(world, { kind: 'guest', delivery: undefined, uses: 5 });
    const grantBytes = signGrant(grant, world.issuer);
    const challenge = world.stores.replay.issueChallenge(NOW);
    let bytes: Uint8Array | undefined;
    for (let n = 0; n <= 32 && bytes === undefined; n++) {
      for (let last = 1; last <= 64; last++) {
        const packages = [...Array.from({ length: n }, (_, i) => `p${i}`.padEnd(64, 'x')), 'q'.repeat(last)];
        const b = signPresentation({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages }, world.courier);
        if (b.length === PRESENTATION_MAX_BYTES) bytes = b;
        if (b.length >= PRESENTATION_MAX_BYTES) break;
      }
    }
    expect(bytes?.length).toBe(PRESENTATION_MAX_BYTES);
    expect(decide(grantBytes, bytes as Uint8Array, bleContext(), world.stores)).toMatchObject({ allow: true });
    expect(decide(grantBytes, Uint8Array.from([...(bytes as Uint8Array), 0]), bleContext(), world.stores)).toEqual({
      allow: false,
      code: ErrorCode.PRESENTATION_MALFORMED,
      reason: 'presentation is over 1024 bytes',
    });
  });
});

describe('decide: the cloud path', () => {
  it('refuses a cloud presentation that carries no position while a home is set (it is malformed)', () => {
    const grant = deliveryGrant(world);
    const challenge = world.stores.replay.issueChallenge(NOW);
    const noPosition = encodeCanonical(
      new Map<number, CborValue>([
        [0, 1],
        [1, grant.id],
        [2, challenge],
        [3, 'cloud'],
        [4, NOW],
        [5, ['pkg-1']],
      ]),
    );
    const presentation = seal(Domain.presentation, noPosition, world.courier);
    const d = decide(seal(Domain.grant, encodeGrantPayload(grant), world.issuer), presentation, bleContext({ transport: 'cloud', rssiDbm: undefined }), world.stores);
    expect(d).toEqual({ allow: false, code: ErrorCode.PRESENTATION_MALFORMED, reason: 'presentation: presentation: field 6 is missing' });
  });

  it('takes a handheld whose accuracy circle touches the radius from inside, not one metre more', () => {
    const cloud = bleContext({ transport: 'cloud', rssiDbm: undefined });
    const at = (accuracyM: number) => visit(world, { presentation: { transport: 'cloud', position: { latE7: HOME.latE7, lonE7: HOME.lonE7, accuracyM } } });
    expect(run(at(HOME.radiusM), cloud)).toBe('allow');
    expect(run(at(HOME.radiusM + 1), cloud)).toBe(ErrorCode.TOO_FAR_FROM_HOME);
  });

  it('ignores the BLE signal on the cloud path', () => {
    const cloud = bleContext({ transport: 'cloud', rssiDbm: -127 });
    expect(run(visit(world, { presentation: { transport: 'cloud', position: { latE7: HOME.latE7, lonE7: HOME.lonE7, accuracyM: 0 } } }), cloud)).toBe('allow');
  });
});
