/**
 * The words of every refusal. The courier's handheld shows them, the homeowner reads them and the
 * audit log keeps them (DESIGN.md: one reason, seen by all), so each is pinned here, whole.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorize } from '../../hub/access/authorize.js';
import { decide, type DecideContext } from '../../hub/access/decide.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { encodeCanonical } from '../../protocols/cbor/canonical.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signKeyring, signRevocations } from '../../protocols/grant/issuer.js';
import { HOME, HOUR, NOW, POLICY, bleContext, makeWorld, seededKey, visit, type World } from '../support/grant-fixture.js';

let world: World;
beforeEach(async () => {
  world = await makeWorld();
});
afterEach(() => world.close());

const ISO = '2026-11-25T09:00:00.000Z';
const refusal = (v: ReturnType<typeof visit>, ctx: DecideContext = bleContext()) => decide(v.grantBytes, v.presentationBytes, ctx, world.stores);
const cloud = (over: Partial<DecideContext> = {}) => bleContext({ transport: 'cloud', rssiDbm: undefined, ...over });
const guest = { kind: 'guest' as const, uses: 5, delivery: undefined };

describe('decide(): the reason given with each refusal', () => {
  const cases: Array<[string, () => ReturnType<typeof refusal>, ErrorCode, string]> = [
    ['a NaN clock', () => refusal(visit(world), bleContext({ now: Number.NaN })), ErrorCode.CONTEXT_INVALID, "the hub's clock reads NaN, not a time in ms since the epoch"],
    ['a flag that is no boolean', () => refusal(visit(world), bleContext({ cameraHealthy: 1 as unknown as boolean })), ErrorCode.CONTEXT_INVALID, 'deliveriesPaused and cameraHealthy must be true or false'],
    ['a bad skew', () => refusal(visit(world), bleContext({ policy: { ...POLICY, clockSkewMs: -1 } })), ErrorCode.CONTEXT_INVALID, 'policy clockSkewMs -1 is not 0..3600000'],
    ['a bad RSSI floor', () => refusal(visit(world), bleContext({ policy: { ...POLICY, rssiFloorDbm: 30 } })), ErrorCode.CONTEXT_INVALID, 'policy rssiFloorDbm 30 is not -127..20'],
    ['a bad home', () => refusal(visit(world), bleContext({ policy: { ...POLICY, home: { ...HOME, lonE7: 1e10 } } })), ErrorCode.CONTEXT_INVALID, 'policy home 525200000, 10000000000 is not a WGS 84 position in 1e-7 degrees'],
    ['a bad radius', () => refusal(visit(world), bleContext({ policy: { ...POLICY, home: { ...HOME, radiusM: -2 } } })), ErrorCode.CONTEXT_INVALID, 'policy home radiusM -2 is not 0..100000'],
    ['a grant that is no CBOR', () => decide(Uint8Array.from([0xff]), visit(world).presentationBytes, bleContext(), world.stores), ErrorCode.GRANT_MALFORMED, 'grant: a float, simple value or break at byte 0 is not allowed'],
    ['a presentation that is no envelope', () => decide(visit(world).grantBytes, encodeCanonical([1, 2]), bleContext(), world.stores), ErrorCode.PRESENTATION_MALFORMED, 'presentation: payload must be a byte string'],
    ['a presentation of another grant', () => refusal(visit(world, { presentation: { grantId: new Uint8Array(16).fill(9) } })), ErrorCode.GRANT_MISMATCH, 'the presentation is for another grant'],
    ['a transport mismatch', () => refusal(visit(world), cloud()), ErrorCode.TRANSPORT_MISMATCH, 'presentation says ble but arrived over cloud'],
    ['another hub', () => refusal(visit(world, { grant: { hubId: 'kh-other' } })), ErrorCode.WRONG_HUB, 'grant is for hub kh-other'],
    ['another lock', () => refusal(visit(world, { grant: { lockId: 'back-door' } })), ErrorCode.WRONG_LOCK, 'grant is for lock back-door'],
    ['a clock behind the floor', () => (world.floor.raise(NOW + HOUR, 'grant'), refusal(visit(world))), ErrorCode.CLOCK_UNTRUSTED, `wall clock ${ISO} is behind the clock floor 2026-11-25T10:00:00.000Z`],
    ['a grant issued later', () => refusal(visit(world, { grant: { issuedAt: NOW + HOUR } })), ErrorCode.CLOCK_UNTRUSTED, `grant was issued at 2026-11-25T10:00:00.000Z, after the hub's clock ${ISO}`],
    ['a window not open', () => refusal(visit(world, { grant: { notBefore: NOW + HOUR, notAfter: NOW + 2 * HOUR } })), ErrorCode.GRANT_NOT_YET_VALID, 'grant is valid from 2026-11-25T10:00:00.000Z'],
    ['a window closed', () => refusal(visit(world, { grant: { notBefore: NOW - 2 * HOUR, notAfter: NOW - HOUR, issuedAt: NOW - 3 * HOUR } })), ErrorCode.GRANT_EXPIRED, 'grant expired at 2026-11-25T08:00:00.000Z'],
    [
      'an unknown zone',
      () => refusal(visit(world, { grant: { ...guest, recurring: { weekly: [{ day: 3, startMin: 0, endMin: 1440 }], tz: 'Mars/Olympus_Mons' } }, presentation: { packages: [] } })),
      ErrorCode.GRANT_MALFORMED,
      'grant: unknown time zone Mars/Olympus_Mons',
    ],
    [
      'outside the weekly windows',
      () => refusal(visit(world, { grant: { ...guest, recurring: { weekly: [{ day: 1, startMin: 0, endMin: 60 }], tz: 'Europe/Berlin' } }, presentation: { packages: [] } })),
      ErrorCode.OUTSIDE_WEEKLY_WINDOW,
      "not inside the grant's weekly windows (Europe/Berlin)",
    ],
    ['paused deliveries', () => refusal(visit(world), bleContext({ deliveriesPaused: true })), ErrorCode.DELIVERIES_PAUSED, 'deliveries are paused'],
    ['no camera', () => refusal(visit(world), bleContext({ cameraHealthy: false })), ErrorCode.CAMERA_UNHEALTHY, 'the door camera is not recording: no camera, no entry'],
    ['a weak signal', () => refusal(visit(world), bleContext({ rssiDbm: -71 })), ErrorCode.SIGNAL_TOO_WEAK, 'BLE signal -71 dBm is below -70 dBm'],
    [
      'no home set',
      () => refusal(visit(world, { presentation: { transport: 'cloud', position: { latE7: 0, lonE7: 0, accuracyM: 0 } } }), cloud({ policy: { clockSkewMs: 300_000, rssiFloorDbm: -70 } })),
      ErrorCode.TOO_FAR_FROM_HOME,
      'no home position is configured (config access.home): the cloud path is refused',
    ],
    ['too far', () => refusal(visit(world, { presentation: { transport: 'cloud', position: { latE7: 0, lonE7: 0, accuracyM: 0 } } }), cloud()), ErrorCode.TOO_FAR_FROM_HOME, 'handheld is not within 50 m of the home'],
    ['no package', () => refusal(visit(world, { presentation: { packages: [] } })), ErrorCode.PACKAGE_NOT_IN_GRANT, 'no package was scanned'],
    ['a stray package', () => refusal(visit(world, { presentation: { packages: ['pkg-1', 'pkg-9'] } })), ErrorCode.PACKAGE_NOT_IN_GRANT, 'package pkg-9 is not part of order order-1'],
    ['a challenge not ours', () => refusal(visit(world, { presentation: { challenge: new Uint8Array(32) } })), ErrorCode.CHALLENGE_UNKNOWN, 'challenge was not issued by this hub'],
    ['an old challenge', () => refusal(visit(world, { now: NOW - 30_001 })), ErrorCode.CHALLENGE_EXPIRED, 'challenge has expired'],
    ['an unknown issuer', () => refusal(visit(world, { grant: { kid: 'cloud-9' } })), ErrorCode.ISSUER_UNKNOWN, 'issuer cloud-9 is not in the keyring'],
    ['a forged grant', () => refusal(visit(world, { signer: seededKey(66) })), ErrorCode.GRANT_SIGNATURE_INVALID, 'grant signature does not verify'],
    ['a forged presentation', () => refusal(visit(world, { presenter: seededKey(77) })), ErrorCode.PRESENTATION_SIGNATURE_INVALID, 'presentation signature does not verify'],
  ];
  it.each(cases)('%s', (_what, decideIt, code, reason) => {
    expect(decideIt()).toEqual({ allow: false, code, reason });
  });

  it('names revocations, uses, used challenges, certificates and kinds', () => {
    const v = visit(world);
    world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [v.grant.id], kids: [] }, world.root));
    expect(refusal(v)).toEqual({ allow: false, code: ErrorCode.GRANT_REVOKED, reason: 'grant is revoked' });
    world.trust.installRevocations(signRevocations({ version: 2, issuedAt: NOW, grantIds: [], kids: ['cloud-1'] }, world.root));
    expect(refusal(visit(world))).toEqual({ allow: false, code: ErrorCode.ISSUER_REVOKED, reason: 'issuer cloud-1 is revoked' });
    world.trust.installRevocations(signRevocations({ version: 3, issuedAt: NOW, grantIds: [], kids: [] }, world.root));

    const used = visit(world);
    expect(authorize(used.grantBytes, used.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    expect(refusal(used)).toEqual({ allow: false, code: ErrorCode.GRANT_USED_UP, reason: 'grant has been used 1 of 1 times' });
    const again = visit(world, { grant: { ...guest } });
    expect(authorize(again.grantBytes, again.presentationBytes, bleContext(), world.stores).allow).toBe(true);
    const sameChallenge = signPresentation({ grantId: again.grant.id, challenge: again.challenge, transport: 'ble', time: NOW, packages: [] }, world.courier);
    expect(decide(again.grantBytes, sameChallenge, bleContext(), world.stores)).toEqual({ allow: false, code: ErrorCode.CHALLENGE_USED, reason: 'challenge was already used' });

    const old = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore: NOW - HOUR, notAfter: NOW, kinds: ['delivery'] });
    world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [old.certificate] }, world.root));
    expect(refusal(visit(world))).toEqual({ allow: false, code: ErrorCode.ISSUER_CERT_NOT_VALID, reason: "issuer cloud-1's certificate is not valid now" });
    const narrow = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery'] });
    world.trust.installKeyring(signKeyring({ version: 3, issuedAt: NOW, issuers: [narrow.certificate] }, world.root));
    expect(refusal(visit(world, { grant: { kind: 'owner', delivery: undefined }, presentation: { packages: [] } }))).toEqual({
      allow: false,
      code: ErrorCode.KIND_NOT_ALLOWED,
      reason: 'issuer cloud-1 may not issue owner grants',
    });
  });
});

describe('authorize(): the reasons of a lost race', () => {
  it('names the concurrent presentation that spent the challenge or the last use', () => {
    const real = world.stores.replay;
    const racing = (why: 'challenge' | 'used-up') => ({ ...world.stores, replay: { ...real, consume: () => ({ ok: false as const, why }) } });
    const v = visit(world);
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), racing('challenge'))).toEqual({
      allow: false,
      code: ErrorCode.CHALLENGE_USED,
      reason: 'challenge was used by a concurrent presentation',
    });
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), racing('used-up'))).toEqual({
      allow: false,
      code: ErrorCode.GRANT_USED_UP,
      reason: 'grant was used up by a concurrent presentation',
    });
  });

  it('hands the store what the use is: issuer, id, limit, window, challenge, time and the capped floor', () => {
    const v = visit(world, { grant: { issuedAt: NOW - 60_000 } });
    const seen: unknown[] = [];
    const spy = { ...world.stores, replay: { ...world.stores.replay, consume: (r: unknown) => (seen.push(r), { ok: true as const, uses: 1 }) } };
    expect(authorize(v.grantBytes, v.presentationBytes, bleContext(), spy)).toMatchObject({ allow: true, usesSoFar: 1 });
    expect(seen).toEqual([{ kid: 'cloud-1', grantId: v.grant.id, maxUses: 1, notAfter: v.grant.notAfter, challenge: v.challenge, now: NOW, raiseFloorTo: NOW - 60_000 }]);
  });
});
