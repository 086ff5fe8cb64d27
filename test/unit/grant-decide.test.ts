import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorize } from '../../hub/access/authorize.js';
import { decide, type Decision } from '../../hub/access/decide.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { encodeCanonical } from '../../protocols/cbor/canonical.js';
import type { Grant } from '../../protocols/grant/grant.js';
import { Domain, openEnvelope, seal } from '../../protocols/grant/envelope.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signGrant, signKeyring, signRevocations } from '../../protocols/grant/issuer.js';
import { HOME, HOUR, NOW, bleContext, makeWorld, seededKey, visit, type World } from '../support/grant-fixture.js';

let world: World;
beforeEach(async () => {
  world = await makeWorld();
});
afterEach(() => world.close());

function refusedWith(d: Decision): ErrorCode | 'allow' {
  return d.allow ? 'allow' : d.code;
}

describe('decide: a valid delivery', () => {
  it('allows a courier at the door with a fresh challenge and a scanned package of the order', () => {
    const v = visit(world);
    const d = decide(v.grantBytes, v.presentationBytes, bleContext(), world.stores);
    expect(d.allow).toBe(true);
    if (d.allow) expect(d.grant.delivery?.orderId).toBe('order-1');
  });

  it('only reads: deciding twice allows twice, consuming is authorize()', () => {
    const v = visit(world);
    expect(decide(v.grantBytes, v.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    expect(decide(v.grantBytes, v.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    expect(world.stores.replay.usesOf(v.grant.kid, v.grant.id)).toBe(0);
  });
});

describe('decide: one refusal per reason code', () => {
  const run = (v: ReturnType<typeof visit>, ctx = bleContext()) => refusedWith(decide(v.grantBytes, v.presentationBytes, ctx, world.stores));

  it('refuses a grant over 1 KiB before reading it', () => {
    const v = visit(world);
    expect(refusedWith(decide(new Uint8Array(1025), v.presentationBytes, bleContext(), world.stores))).toBe(ErrorCode.GRANT_MALFORMED);
  });

  it('refuses a grant that is not canonical CBOR', () => {
    const v = visit(world);
    const bad = Uint8Array.from(v.grantBytes);
    bad[0] = 0x9f; // indefinite-length array
    expect(refusedWith(decide(bad, v.presentationBytes, bleContext(), world.stores))).toBe(ErrorCode.GRANT_MALFORMED);
  });

  it('refuses a presentation over 1 KiB or malformed', () => {
    const v = visit(world);
    expect(refusedWith(decide(v.grantBytes, new Uint8Array(1025), bleContext(), world.stores))).toBe(ErrorCode.PRESENTATION_MALFORMED);
    expect(refusedWith(decide(v.grantBytes, encodeCanonical([1, 2]), bleContext(), world.stores))).toBe(ErrorCode.PRESENTATION_MALFORMED);
  });

  it('refuses a presentation made for another grant', () => {
    const v = visit(world, { presentation: { grantId: new Uint8Array(16).fill(9) } });
    expect(run(v)).toBe(ErrorCode.GRANT_MISMATCH);
  });

  it('refuses a presentation that claims BLE but came through the cloud', () => {
    expect(run(visit(world), bleContext({ transport: 'cloud' }))).toBe(ErrorCode.TRANSPORT_MISMATCH);
  });

  it('refuses a grant for another hub', () => {
    expect(run(visit(world, { grant: { hubId: 'kh-other' } }))).toBe(ErrorCode.WRONG_HUB);
  });

  it('refuses a grant for another lock of this hub', () => {
    expect(run(visit(world, { grant: { lockId: 'back-door' } }))).toBe(ErrorCode.WRONG_LOCK);
  });

  it('refuses to decide while the wall clock is behind the clock floor minus the skew', () => {
    world.floor.raise(NOW + 10 * 60_000, 'signed-time');
    expect(run(visit(world))).toBe(ErrorCode.CLOCK_UNTRUSTED);
  });

  it('decides with a wall clock behind the floor by less than the skew', () => {
    world.floor.raise(NOW + 60_000, 'signed-time');
    expect(run(visit(world))).toBe('allow');
  });

  it('refuses a grant whose window has not opened', () => {
    expect(run(visit(world, { grant: { notBefore: NOW + 1 } }))).toBe(ErrorCode.GRANT_NOT_YET_VALID);
  });

  it('refuses a grant whose window has closed (notAfter is exclusive)', () => {
    expect(run(visit(world, { grant: { notAfter: NOW } }))).toBe(ErrorCode.GRANT_EXPIRED);
  });

  it('refuses a recurring guest outside the weekly windows, allows inside', () => {
    // NOW is Wednesday 2026-11-25 10:00 in Berlin (UTC+1).
    const guest = (startMin: number, endMin: number) => ({
      kind: 'guest' as const,
      uses: 5,
      delivery: undefined,
      recurring: { weekly: [{ day: 3, startMin, endMin }], tz: 'Europe/Berlin' },
    });
    const inside = visit(world, { grant: guest(9 * 60, 11 * 60), presentation: { packages: [] } });
    expect(run(inside)).toBe('allow');
    const outside = visit(world, { grant: guest(11 * 60, 12 * 60), presentation: { packages: [] } });
    expect(run(outside)).toBe(ErrorCode.OUTSIDE_WEEKLY_WINDOW);
  });

  it('refuses a recurring grant whose time zone is unknown as malformed', () => {
    const v = visit(world, {
      grant: { kind: 'guest', delivery: undefined, recurring: { weekly: [{ day: 3, startMin: 0, endMin: 1440 }], tz: 'Mars/Olympus_Mons' } },
      presentation: { packages: [] },
    });
    expect(run(v)).toBe(ErrorCode.GRANT_MALFORMED);
  });

  it('refuses a revoked grant and a grant from a revoked issuer', () => {
    const v = visit(world);
    world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [v.grant.id], kids: [] }, world.root));
    expect(run(v)).toBe(ErrorCode.GRANT_REVOKED);
    world.trust.installRevocations(signRevocations({ version: 2, issuedAt: NOW, grantIds: [], kids: ['cloud-1'] }, world.root));
    expect(run(v)).toBe(ErrorCode.ISSUER_REVOKED);
  });

  it('refuses a grant with no uses left', () => {
    const v = visit(world);
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    const again = visit(world, { grant: { ...v.grant } });
    const presentation = signPresentation({ grantId: v.grant.id, challenge: again.challenge, transport: 'ble', time: NOW, packages: ['pkg-1'] }, world.courier);
    expect(refusedWith(decide(v.grantBytes, presentation, bleContext(), world.stores))).toBe(ErrorCode.GRANT_USED_UP);
  });

  it('refuses a delivery while deliveries are paused, but not a guest', () => {
    expect(run(visit(world), bleContext({ deliveriesPaused: true }))).toBe(ErrorCode.DELIVERIES_PAUSED);
    const guest = visit(world, { grant: { kind: 'guest', delivery: undefined }, presentation: { packages: [] } });
    expect(run(guest, bleContext({ deliveriesPaused: true }))).toBe('allow');
  });

  it('refuses a delivery or service visit when the camera is not healthy: no camera, no entry', () => {
    expect(run(visit(world), bleContext({ cameraHealthy: false }))).toBe(ErrorCode.CAMERA_UNHEALTHY);
    const service = visit(world, { grant: { kind: 'service', delivery: undefined }, presentation: { packages: [] } });
    expect(run(service, bleContext({ cameraHealthy: false }))).toBe(ErrorCode.CAMERA_UNHEALTHY);
    const owner = visit(world, { grant: { kind: 'owner', delivery: undefined }, presentation: { packages: [] } });
    expect(run(owner, bleContext({ cameraHealthy: false }))).toBe('allow');
  });

  it('refuses over BLE with a signal below the floor or no measured signal', () => {
    expect(run(visit(world), bleContext({ rssiDbm: -71 }))).toBe(ErrorCode.SIGNAL_TOO_WEAK);
    expect(run(visit(world), bleContext({ rssiDbm: undefined }))).toBe(ErrorCode.SIGNAL_TOO_WEAK);
    expect(run(visit(world), bleContext({ rssiDbm: -70 }))).toBe('allow');
  });

  it('refuses on the cloud path when the handheld is too far, counting its accuracy against the radius', () => {
    const cloud = bleContext({ transport: 'cloud', rssiDbm: undefined });
    const at = (dLatE7: number, accuracyM: number) =>
      visit(world, { presentation: { transport: 'cloud', position: { latE7: HOME.latE7 + dLatE7, lonE7: HOME.lonE7, accuracyM } } });
    // 1e-7 degree of latitude is ~1.11 cm: 2,700 is ~30 m.
    expect(run(at(2_700, 10), cloud)).toBe('allow');
    expect(run(at(2_700, 25), cloud)).toBe(ErrorCode.TOO_FAR_FROM_HOME);
    expect(run(at(9_000, 0), cloud)).toBe(ErrorCode.TOO_FAR_FROM_HOME);
  });

  it('refuses every cloud-path presentation while no home position is configured, even one at 0°N 0°E with no error', () => {
    const noHome = bleContext({ transport: 'cloud', rssiDbm: undefined, policy: { clockSkewMs: 300_000, rssiFloorDbm: -70 } });
    const v = visit(world, { presentation: { transport: 'cloud', position: { latE7: 0, lonE7: 0, accuracyM: 0 } } });
    const d = decide(v.grantBytes, v.presentationBytes, noHome, world.stores);
    expect(d).toMatchObject({ allow: false, code: ErrorCode.TOO_FAR_FROM_HOME, reason: expect.stringMatching(/no home position is configured/) });
    // BLE at the door does not need the home position.
    expect(run(visit(world), bleContext({ policy: noHome.policy }))).toBe('allow');
  });

  it('refuses a delivery whose scanned packages are not all in the order, or when none was scanned', () => {
    expect(run(visit(world, { presentation: { packages: ['pkg-1', 'pkg-9'] } }))).toBe(ErrorCode.PACKAGE_NOT_IN_GRANT);
    expect(run(visit(world, { presentation: { packages: [] } }))).toBe(ErrorCode.PACKAGE_NOT_IN_GRANT);
    expect(run(visit(world, { presentation: { packages: ['pkg-2', 'pkg-1'] } }))).toBe('allow');
  });

  it('refuses a challenge this hub never issued', () => {
    expect(run(visit(world, { presentation: { challenge: new Uint8Array(32).fill(5) } }))).toBe(ErrorCode.CHALLENGE_UNKNOWN);
  });

  it('refuses a challenge older than 30 s, and one issued after the clock it is checked against', () => {
    expect(run(visit(world, { now: NOW - 30_001 }))).toBe(ErrorCode.CHALLENGE_EXPIRED);
    expect(run(visit(world, { now: NOW - 30_000 }))).toBe('allow');
    expect(run(visit(world, { now: NOW + 1 }))).toBe(ErrorCode.CHALLENGE_EXPIRED);
  });

  it('refuses a challenge already used', () => {
    const first = visit(world, { grant: { kind: 'guest', uses: 3, delivery: undefined }, presentation: { packages: [] } });
    expect(authorize(first.grantBytes, first.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    expect(run(first)).toBe(ErrorCode.CHALLENGE_USED);
  });

  it('refuses a grant from an issuer not in the keyring', () => {
    expect(run(visit(world, { grant: { kid: 'cloud-9' } }))).toBe(ErrorCode.ISSUER_UNKNOWN);
  });

  it('refuses a grant whose issuer certificate has expired or is not yet valid', () => {
    const old = makeIssuerCertificate({ kid: 'old', key: seededKey(4), notBefore: NOW - 10 * HOUR, notAfter: NOW, kinds: ['delivery'] });
    const future = makeIssuerCertificate({ kid: 'future', key: seededKey(5), notBefore: NOW + 1, notAfter: NOW + HOUR, kinds: ['delivery'] });
    const current = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery'] });
    world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [current.certificate, old.certificate, future.certificate] }, world.root));
    expect(run(visit(world, { grant: { kid: 'old' }, signer: old.key }))).toBe(ErrorCode.ISSUER_CERT_NOT_VALID);
    expect(run(visit(world, { grant: { kid: 'future' }, signer: future.key }))).toBe(ErrorCode.ISSUER_CERT_NOT_VALID);
  });

  it('refuses a grant of a kind its issuer is not allowed to issue', () => {
    const narrow = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery'] });
    world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [narrow.certificate] }, world.root));
    expect(run(visit(world, { grant: { kind: 'owner', delivery: undefined }, presentation: { packages: [] } }))).toBe(ErrorCode.KIND_NOT_ALLOWED);
  });

  it('refuses a grant signed by a key other than its issuer’s', () => {
    expect(run(visit(world, { signer: seededKey(66) }))).toBe(ErrorCode.GRANT_SIGNATURE_INVALID);
  });

  it('refuses a grant signature made for another kind of message (domain separation)', () => {
    const v = visit(world);
    const payload = encodeGrantLike(v.grant);
    const asReceipt = seal(Domain.receipt, payload, world.issuer);
    expect(refusedWith(decide(asReceipt, v.presentationBytes, bleContext(), world.stores))).toBe(ErrorCode.GRANT_SIGNATURE_INVALID);
  });

  it('refuses a presentation not signed by the grant’s subject', () => {
    expect(run(visit(world, { presenter: seededKey(77) }))).toBe(ErrorCode.PRESENTATION_SIGNATURE_INVALID);
  });

  it('refuses a verified grant issued after the hub’s clock (plus skew): the clock is behind', () => {
    expect(run(visit(world, { grant: { issuedAt: NOW + 6 * 60_000 } }))).toBe(ErrorCode.CLOCK_UNTRUSTED);
  });
});

describe('decide: the order of checks, cheapest first', () => {
  it('reports the earliest failing check when everything is wrong at once', () => {
    // Wrong hub + expired + revoked + bad signature: the hub id is checked first.
    const v = visit(world, { grant: { hubId: 'kh-other', notAfter: NOW - 1, notBefore: NOW - 2 }, signer: seededKey(66) });
    world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [v.grant.id], kids: [] }, world.root));
    expect(refusedWith(decide(v.grantBytes, v.presentationBytes, bleContext(), world.stores))).toBe(ErrorCode.WRONG_HUB);
    // Fix the hub: the window comes next; fix the window: revocation; then the signature.
    const ctx = bleContext({ hubId: 'kh-other' });
    expect(refusedWith(decide(v.grantBytes, v.presentationBytes, ctx, world.stores))).toBe(ErrorCode.GRANT_EXPIRED);
    expect(refusedWith(decide(v.grantBytes, v.presentationBytes, { ...ctx, now: NOW - 2 }, world.stores))).toBe(ErrorCode.GRANT_REVOKED);
  });

  it('checks every cheap condition before any signature: a forged grant for a paused hub reports the pause', () => {
    const v = visit(world, { signer: seededKey(66), presenter: seededKey(77) });
    expect(refusedWith(decide(v.grantBytes, v.presentationBytes, bleContext({ deliveriesPaused: true }), world.stores))).toBe(ErrorCode.DELIVERIES_PAUSED);
    expect(refusedWith(decide(v.grantBytes, v.presentationBytes, bleContext({ rssiDbm: -90 }), world.stores))).toBe(ErrorCode.SIGNAL_TOO_WEAK);
    expect(refusedWith(decide(v.grantBytes, v.presentationBytes, bleContext(), world.stores))).toBe(ErrorCode.GRANT_SIGNATURE_INVALID);
  });

  it('checks the clock before the window, and the challenge before the issuer', () => {
    world.floor.raise(NOW + HOUR, 'signed-time');
    const expired = visit(world, { grant: { notAfter: NOW - 1, notBefore: NOW - 2 } });
    expect(refusedWith(decide(expired.grantBytes, expired.presentationBytes, bleContext(), world.stores))).toBe(ErrorCode.CLOCK_UNTRUSTED);
    const unknownIssuer = visit(world, { grant: { kid: 'nobody' }, presentation: { challenge: new Uint8Array(32) } });
    const later = bleContext({ now: NOW + HOUR });
    expect(refusedWith(decide(unknownIssuer.grantBytes, unknownIssuer.presentationBytes, later, world.stores))).toBe(ErrorCode.CHALLENGE_UNKNOWN);
  });
});

/** The grant's own payload bytes, to re-seal under another domain. */
function encodeGrantLike(grant: Grant): Uint8Array {
  return openEnvelope(signGrant(grant, seededKey(2)), 1024).payload;
}

describe('authorize: only an allowed grant moves the clock floor, and only as far as the hub’s own clock allows', () => {
  it('refuses a verified grant issued after the hub’s clock without moving the floor, so the next decision is allowed', () => {
    const future = visit(world, { grant: { issuedAt: NOW + HOUR } });
    expect(authorize(future.grantBytes, future.presentationBytes, bleContext(), world.stores)).toMatchObject({ allow: false, code: ErrorCode.CLOCK_UNTRUSTED });
    expect(world.floor.floorMs()).toBe(0);
    const ordinary = visit(world);
    expect(authorize(ordinary.grantBytes, ordinary.presentationBytes, bleContext(), world.stores).allow).toBe(true);
  });

  it('moves nothing for a verified grant whose presentation is forged, nor for a forged grant', () => {
    const forgedGrant = visit(world, { grant: { issuedAt: NOW - 60_000 }, signer: seededKey(66) });
    authorize(forgedGrant.grantBytes, forgedGrant.presentationBytes, bleContext(), world.stores);
    expect(world.floor.floorMs()).toBe(0);
    const forgedPresentation = visit(world, { grant: { issuedAt: NOW - 60_000 }, presenter: seededKey(77) });
    expect(authorize(forgedPresentation.grantBytes, forgedPresentation.presentationBytes, bleContext(), world.stores)).toMatchObject({ code: ErrorCode.PRESENTATION_SIGNATURE_INVALID });
    expect(world.floor.floorMs()).toBe(0);
  });

  it('raises the floor to an allowed grant’s issue time, in the same transaction as the use', () => {
    const v = visit(world, { grant: { issuedAt: NOW - 60_000 } });
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    expect({ floor: world.floor.floorMs(), source: world.floor.source() }).toEqual({ floor: NOW - 60_000, source: 'grant' });
  });

  it('caps the raise at the hub’s own clock plus the skew when the decision clock runs ahead of it', () => {
    // The hub's own clock (the fake clock) reads NOW; the decision is made an hour later, as with a
    // wall clock stepped ahead while running: the floor stops at NOW + skew, not at the issue time.
    const later = NOW + HOUR;
    const v = visit(world, { grant: { issuedAt: later, notAfter: later + HOUR }, now: later });
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext({ now: later }), world.stores).allow).toBe(true);
    expect(world.floor.floorMs()).toBe(NOW + 300_000);
  });
});

describe('authorize: the durable consume decides races', () => {
  type ConsumeRequest = Parameters<World['stores']['replay']['consume']>[0];
  /** The world's stores, with another process consuming `first(req)` just before this one's consume. */
  const racedBy = (first: (req: ConsumeRequest) => ConsumeRequest): World['stores'] => {
    const real = world.stores.replay;
    return {
      ...world.stores,
      replay: {
        ...real,
        consume: (req: ConsumeRequest) => {
          real.consume(first(req));
          return real.consume(req);
        },
      },
    };
  };

  it('refuses when a concurrent presentation spent the challenge between decide and consume', () => {
    const v = visit(world, { grant: { kind: 'guest', uses: 5, delivery: undefined }, presentation: { packages: [] } });
    // The other process wins the challenge with another grant.
    const racing = racedBy((req) => ({ ...req, grantId: new Uint8Array(16).fill(0xee) }));
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), racing)).toMatchObject({ allow: false, code: ErrorCode.CHALLENGE_USED });
  });

  it('refuses when a concurrent presentation used the grant up between decide and consume', () => {
    const v = visit(world);
    const other = world.stores.replay.issueChallenge(NOW);
    const racing = racedBy((req) => ({ ...req, challenge: other }));
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), racing)).toMatchObject({ allow: false, code: ErrorCode.GRANT_USED_UP });
  });

  it('names an instant outside the Date range by its number in a refusal (a floor no message could set)', () => {
    world.floor.raise(Number.MAX_SAFE_INTEGER, 'shutdown');
    const v = visit(world);
    const d = decide(v.grantBytes, v.presentationBytes, bleContext(), world.stores);
    expect(d).toEqual({ allow: false, code: ErrorCode.CLOCK_UNTRUSTED, reason: `wall clock 2026-11-25T09:00:00.000Z is behind the clock floor ${Number.MAX_SAFE_INTEGER}` });
  });
});
