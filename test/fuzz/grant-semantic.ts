/**
 * Semantic attacks on the trust core, property-based (fast-check): well-formed, well-signed
 * messages whose *meaning* is hostile, where the byte fuzzer (grant-fuzz.ts) mutates form. Classes:
 *   subject-key, issuer-key, root-key, receipt-key, command-key   a degenerate, off-curve, random or
 *       valid Ed25519 key in that slot, with a signature nobody made: never accepted; a key of small
 *       order refused with its own reason; the same slot with a real key and signature accepted
 *   lock-key           an X25519 key with which a random secret shares all zeros is refused
 *   time-boundaries    every time field (floor, issuedAt, window, certificate, challenge, skew) at
 *       and around every boundary and far out: decide() answers what the documented model says
 *   floor-poisoning    any sequence of grants, presentations and signed times with any times: the
 *       floor never rises past the hub's own clock plus the skew, and the hub stays trusted
 *   context-values     NaN, ±Infinity and out-of-range numbers in each context field: never allowed
 *   cross-issuer       two issuers sharing a grant id, any interleaving: each grant is let in
 *       exactly as often as its own uses allow
 * A violation is reported with fast-check's shrunk counterexample and seed.
 */
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { authorize } from '../../hub/access/authorize.js';
import { decide, type DecideContext, type DecideStores } from '../../hub/access/decide.js';
import { HubClock } from '../../hub/access/hub-clock.js';
import { acceptSignedTime } from '../../hub/access/signed-time.js';
import { TrustState, type Issuer } from '../../hub/access/trust.js';
import { checkCommand } from '../../hub/cloud/command-check.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import type { Clock } from '../../hub/system/clock.js';
import { encodeCanonical } from '../../protocols/cbor/canonical.js';
import { MAX_TIME_MS } from '../../protocols/cbor/fields.js';
import { encodeCommandPayload } from '../../protocols/grant/command.js';
import { publicKeyObject, signingKeyFromSeed, type SigningKey } from '../../protocols/grant/ed25519.js';
import { Domain, seal } from '../../protocols/grant/envelope.js';
import { encodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { signPresentation, signReceipt, verifyReceipt } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signCommand, signKeyring, signTime } from '../../protocols/grant/issuer.js';
import { curve25519KeyProblem } from '../../protocols/grant/point-check.js';
import { encodePresentationPayload } from '../../protocols/grant/presentation.js';
import { encodeReceiptPayload } from '../../protocols/grant/receipt.js';
import { encodeKeyringPayload } from '../../protocols/grant/trust.js';
import { DEGENERATE_ED25519_KEYS, NOBODYS_SIGNATURE, SMALL_ORDER_X25519_U } from '../support/degenerate-keys.js';
import { HOME, HOUR, HUB_ID, NOW, POLICY, bleContext, deliveryGrant, makeWorld, seededKey } from '../support/grant-fixture.js';

export const SEMANTIC_CLASSES = ['subject-key', 'issuer-key', 'root-key', 'receipt-key', 'command-key', 'lock-key', 'time-boundaries', 'floor-poisoning', 'context-values', 'cross-issuer'] as const;
export type SemanticClass = (typeof SEMANTIC_CLASSES)[number];

export interface SemanticReport {
  seed: number;
  tried: number;
  byClass: Record<SemanticClass, number>;
  /** Cases built to be allowed (real keys, real signatures, inside every window), and how many were. */
  mustAllow: number;
  allowed: number;
  violations: number;
  firstViolation?: string;
}

const DAY = 24 * HOUR;
const Y2100 = Date.UTC(2100, 0, 1);
const isDegenerate = (k: Uint8Array) => DEGENERATE_ED25519_KEYS.some((d) => Buffer.compare(d, k) === 0);
const code = (d: { allow: boolean; code?: ErrorCode }) => (d.allow ? 'allow' : d.code);
const forged = (payload: Uint8Array, signature = NOBODYS_SIGNATURE) => encodeCanonical([payload, signature]);
const hubErrorCode = (fn: () => unknown): ErrorCode | 'ok' => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isHubError(err)) return err.code;
    throw err;
  }
};

/** A key for a slot: degenerate, 32 random bytes (often no point), or a real one (with its seed). */
const keyArb = fc.oneof(
  fc.constantFrom(...DEGENERATE_ED25519_KEYS).map((k) => ({ raw: k, key: undefined as SigningKey | undefined })),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((raw) => ({ raw, key: undefined as SigningKey | undefined })),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((seed) => {
    const key = signingKeyFromSeed(seed);
    return { raw: key.publicKey, key: key as SigningKey | undefined };
  }),
);
/** A signature nobody holding the key made: R = identity and S = 0, or 64 random bytes. */
const forgeryArb = fc.oneof(fc.constant(NOBODYS_SIGNATURE), fc.uint8Array({ minLength: 64, maxLength: 64 }));

/** Times at and around the boundaries of `base`: the documented edges, ±1 ms, far out and the ends. */
const offsetArb = (skew: number) =>
  fc.oneof(
    fc.constantFrom(0, 1, -1, skew, skew + 1, -skew, -skew - 1, 30_000, 30_001, -30_000, -30_001, HOUR, -HOUR),
    fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
    fc.constantFrom(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
  );
const clampTime = (t: number) => Math.min(MAX_TIME_MS, Math.max(0, t));

export async function runSemanticFuzz(options: { cases: number; seed: number }): Promise<SemanticReport> {
  const perClass = Math.max(1, Math.ceil(options.cases / SEMANTIC_CLASSES.length));
  const report: SemanticReport = { seed: options.seed, tried: 0, byClass: Object.fromEntries(SEMANTIC_CLASSES.map((c) => [c, 0])) as Record<SemanticClass, number>, mustAllow: 0, allowed: 0, violations: 0 };
  const world = await makeWorld();
  const keys = await makeWorld();
  const carrier = seededKey(21);
  const wide = (kid: string, key: SigningKey) => makeIssuerCertificate({ kid, key, notBefore: NOW - 365 * DAY, notAfter: Y2100 + DAY, kinds: ['delivery', 'guest', 'service', 'owner'] }).certificate;
  world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [wide('cloud-1', world.issuer), wide('carrier-1', carrier)] }, world.root));
  let keyringVersion = 1;
  const control = (allowed: boolean) => {
    report.mustAllow++;
    if (allowed) report.allowed++;
    return allowed;
  };
  const challenge = (at = NOW) => world.stores.replay.issueChallenge(at);
  const present = (grant: Grant, signer: SigningKey, at = NOW, over: Partial<{ transport: 'ble' | 'cloud'; time: number }> = {}) =>
    signPresentation(
      { grantId: grant.id, challenge: challenge(at), transport: over.transport ?? 'ble', time: over.time ?? at, packages: grant.kind === 'delivery' ? ['pkg-1'] : [], ...(over.transport === 'cloud' ? { position: { latE7: HOME.latE7, lonE7: HOME.lonE7, accuracyM: 5 } } : {}) },
      signer,
    );
  const freshId = () => new Uint8Array(nacl.randomBytes(16));

  const properties = {} as Record<SemanticClass, fc.IProperty<never>>;
  const prop = <T>(arb: fc.Arbitrary<T>, check: (v: T) => boolean) => fc.property(arb, check) as unknown as fc.IProperty<never>;

  properties['subject-key'] = prop(fc.tuple(keyArb, forgeryArb), ([k, signature]) => {
    const grant = deliveryGrant(world, { id: freshId(), subjectKey: k.raw });
    const grantBytes = seal(Domain.grant, encodeGrantPayload(grant), world.issuer);
    const presentation = forged(encodePresentationPayload({ grantId: grant.id, challenge: challenge(), transport: 'ble', time: NOW, packages: ['pkg-1'] }), signature);
    const d = decide(grantBytes, presentation, bleContext(), world.stores);
    if (d.allow) return false;
    if (isDegenerate(k.raw) && d.code !== ErrorCode.SUBJECT_KEY_REFUSED) return false;
    return k.key === undefined || control(decide(grantBytes, present(grant, k.key), bleContext(), world.stores).allow);
  });

  properties['issuer-key'] = prop(fc.tuple(keyArb, forgeryArb), ([k, signature]) => {
    const cert = { kid: 'x-1', publicKey: k.raw, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery' as const] };
    const signed = seal(Domain.keyring, encodeKeyringPayload({ version: ++keyringVersion, issuedAt: NOW, issuers: [cert] }), keys.root);
    const installed = hubErrorCode(() => keys.trust.installKeyring(signed));
    if (isDegenerate(k.raw)) return installed === ErrorCode.TRUST_UPDATE_INVALID;
    if (installed !== 'ok') return installed === ErrorCode.TRUST_UPDATE_INVALID;
    const grant = deliveryGrant(keys, { kid: 'x-1', id: freshId() });
    const presentation = signPresentation({ grantId: grant.id, challenge: keys.stores.replay.issueChallenge(NOW), transport: 'ble', time: NOW, packages: ['pkg-1'] }, keys.courier);
    if (decide(forged(encodeGrantPayload(grant), signature), presentation, bleContext(), keys.stores).allow) return false;
    if (k.key === undefined) return true;
    const again = signPresentation({ grantId: grant.id, challenge: keys.stores.replay.issueChallenge(NOW), transport: 'ble', time: NOW, packages: ['pkg-1'] }, keys.courier);
    return control(decide(seal(Domain.grant, encodeGrantPayload(grant), k.key), again, bleContext(), keys.stores).allow);
  });

  properties['root-key'] = prop(fc.tuple(keyArb, forgeryArb), ([k, signature]) => {
    const held = new Map<string, { version: number; signed: Uint8Array }>();
    let root: Uint8Array | undefined;
    const trust = new TrustState({
      rootPublicKey: () => root,
      pinRoot: (key) => void (root = key),
      held: (which) => held.get(which),
      replace: (which, doc) => (doc.version > (held.get(which)?.version ?? 0) ? (held.set(which, doc), true) : false),
    });
    const pinned = hubErrorCode(() => trust.pinRoot(k.raw));
    if (isDegenerate(k.raw)) return pinned === ErrorCode.TRUST_ROOT_REFUSED;
    if (pinned !== 'ok') return pinned === ErrorCode.TRUST_ROOT_REFUSED;
    const body = encodeKeyringPayload({ version: 1, issuedAt: NOW, issuers: [wide('evil-1', carrier)] });
    if (hubErrorCode(() => trust.installKeyring(forged(body, signature))) === 'ok') return false;
    return k.key === undefined || control(hubErrorCode(() => trust.installKeyring(seal(Domain.keyring, body, k.key as SigningKey))) === 'ok');
  });

  properties['receipt-key'] = prop(fc.tuple(keyArb, forgeryArb), ([k, signature]) => {
    const receipt = { hubId: HUB_ID, grantId: freshId(), visitId: new Uint8Array(16).fill(2), openedAt: NOW, decidedAt: NOW + 1000, outcome: 'locked' as const, relockedAt: NOW + 1000, bolt: 'locked' as const, door: 'closed' as const, auditSeq: 1 };
    if (verifyReceipt(forged(encodeReceiptPayload(receipt), signature), k.raw, receipt).ok) return false;
    if (isDegenerate(k.raw) && verifyReceipt(signReceipt(receipt, world.issuer), k.raw, receipt).ok) return false;
    return k.key === undefined || control(verifyReceipt(signReceipt(receipt, k.key), k.raw, receipt).ok);
  });

  properties['command-key'] = prop(fc.tuple(keyArb, forgeryArb), ([k, signature]) => {
    const certificate = { kid: 'x-1', publicKey: k.raw, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['owner' as const] };
    let key: Issuer['key'];
    try {
      key = publicKeyObject(k.raw);
    } catch {
      return true; // not even importable: nothing could verify under it
    }
    const trust = { issuer: (kid: string) => (kid === 'x-1' ? { certificate, key } : undefined), isIssuerRevoked: () => false };
    const command = { kid: 'x-1', id: freshId(), hubId: HUB_ID, action: 'lock' as const, issuedAt: NOW, notAfter: NOW + 60_000 };
    const ctx = { now: NOW, hubId: HUB_ID, floorMs: 0, clockSkewMs: POLICY.clockSkewMs };
    const r = checkCommand(forged(encodeCommandPayload(command), signature), ctx, trust);
    if (r.ok || (isDegenerate(k.raw) && r.code !== ErrorCode.COMMAND_SIGNATURE_INVALID)) return false;
    return k.key === undefined || control(checkCommand(signCommand(command, k.key), ctx, trust).ok);
  });

  const smallU = Object.values(SMALL_ORDER_X25519_U).map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  properties['lock-key'] = prop(
    fc.oneof(fc.constantFrom(...smallU).map((u) => ({ u, real: false })), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => ({ u, real: false })), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((s) => ({ u: nacl.box.keyPair.fromSecretKey(s).publicKey, real: true }))),
    ({ u, real }) => {
      const zero = nacl.scalarMult(nacl.randomBytes(32), u).every((b) => b === 0);
      if (zero && curve25519KeyProblem(u) === undefined) return false;
      return !real || control(curve25519KeyProblem(u) === undefined);
    },
  );

  properties['time-boundaries'] = prop(
    fc.record({
      base: fc.oneof(fc.constantFrom(NOW, 0, MAX_TIME_MS, 30_000, MAX_TIME_MS - 30_000), fc.integer({ min: 0, max: MAX_TIME_MS })),
      skew: fc.constantFrom(0, 1, 300_000, 3_600_000),
    }).chain(({ base, skew }) =>
      fc.record({ base: fc.constant(base), skew: fc.constant(skew), floor: offsetArb(skew), issuedAt: offsetArb(skew), notBefore: offsetArb(skew), notAfter: offsetArb(skew), certFrom: offsetArb(skew), certTo: offsetArb(skew), challengeAt: offsetArb(skew), handheld: offsetArb(skew) }),
    ),
    (t) => {
      const now = t.base;
      const at = (off: number) => clampTime(now + off);
      let [nb, na] = [at(t.notBefore), at(t.notAfter)];
      if (na <= nb) [nb, na] = nb === MAX_TIME_MS ? [MAX_TIME_MS - 1, MAX_TIME_MS] : [Math.min(nb, na), Math.max(nb, na) + (nb === na ? 1 : 0)];
      let [cnb, cna] = [at(t.certFrom), at(t.certTo)];
      if (cna <= cnb) [cnb, cna] = cnb === MAX_TIME_MS ? [MAX_TIME_MS - 1, MAX_TIME_MS] : [Math.min(cnb, cna), Math.max(cnb, cna) + (cnb === cna ? 1 : 0)];
      const floor = at(t.floor);
      const issuedAt = at(t.issuedAt);
      const ci = at(t.challengeAt);
      const grant = deliveryGrant(world, { id: freshId(), issuedAt, notBefore: nb, notAfter: na });
      const certificate = { kid: 'cloud-1', publicKey: world.issuer.publicKey, notBefore: cnb, notAfter: cna, kinds: ['delivery' as const] };
      const stores: DecideStores = {
        ...world.stores,
        trust: { issuer: () => ({ certificate, key: publicKeyObject(world.issuer.publicKey) }), isGrantRevoked: () => false, isIssuerRevoked: () => false },
        floor: { floorMs: () => floor },
      };
      const ctx = bleContext({ now, policy: { ...POLICY, clockSkewMs: t.skew } });
      const got = code(decide(seal(Domain.grant, encodeGrantPayload(grant), world.issuer), present(grant, world.courier, ci, { time: at(t.handheld) }), ctx, stores));
      // The documented model (decide.ts; README, the clock floor): half-open windows, in this order.
      const expected =
        now < floor - t.skew || issuedAt > now + t.skew
          ? ErrorCode.CLOCK_UNTRUSTED
          : now < nb
            ? ErrorCode.GRANT_NOT_YET_VALID
            : now >= na
              ? ErrorCode.GRANT_EXPIRED
              : now > ci + 30_000 || now < ci
                ? ErrorCode.CHALLENGE_EXPIRED
                : now < cnb || now >= cna
                  ? ErrorCode.ISSUER_CERT_NOT_VALID
                  : 'allow';
      if (expected === 'allow') control(got === 'allow');
      return got === expected;
    },
  );

  properties['floor-poisoning'] = prop(
    fc.record({
      start: fc.constantFrom(0, NOW - DAY, NOW - 1, NOW),
      actions: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('grant' as const), issuedAt: fc.oneof(fc.constantFrom(NOW, NOW + 299_999, NOW + 300_000, NOW + 300_001, Y2100, MAX_TIME_MS), fc.integer({ min: 0, max: MAX_TIME_MS })), carrier: fc.boolean(), honest: fc.boolean() }),
          fc.record({ kind: fc.constant('time' as const), time: fc.oneof(fc.constantFrom(NOW, NOW + DAY, Y2100, 0), fc.integer({ min: 0, max: MAX_TIME_MS })), carrier: fc.boolean() }),
          fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 10 * 60_000 }) }),
          // The wall clock alone jumps: a bad NTP step either way, or an RTC reset to 2000.
          fc.constant({ kind: 'restart' as const }),
          fc.record({ kind: fc.constant('step' as const), to: fc.oneof(fc.constantFrom(Date.UTC(2000, 0, 1), NOW + 365 * DAY, Y2100), fc.integer({ min: NOW - DAY, max: NOW + DAY })) }),
        ),
        { minLength: 1, maxLength: 8 },
      ),
    }),
    ({ start, actions }) => {
      world.store.db.prepare("DELETE FROM access_state WHERE key = 'clock_floor_ms'").run();
      if (start > 0) world.floor.raise(start, 'shutdown');
      const clock = steppedClock(NOW);
      const skew = POLICY.clockSkewMs;
      // The rule's own time, modelled apart from HubClock: the wall at start if it is at or above
      // floor − skew then, else the floor, counted on with the monotonic clock.
      let own = { ms: 0, mono: 0 };
      const boot = () => {
        const wall = clock.now();
        own = { ms: wall >= world.floor.floorMs() - skew ? wall : world.floor.floorMs(), mono: clock.monotonic() };
        return new HubClock({ clock, floor: world.floor, skewMs: skew });
      };
      const ownNow = () => own.ms + (clock.monotonic() - own.mono);
      let stepped = false;
      let hub = boot();
      for (const a of actions) {
        // Taken before the action: a restart's stop is bounded by the run that stops, not the next.
        const limit = Math.max(world.floor.floorMs(), ownNow() + skew);
        if (a.kind === 'wait') clock.advance(a.ms);
        else if (a.kind === 'step') {
          clock.setWall(a.to);
          stepped = true;
        }
        else if (a.kind === 'restart') {
          // A clean stop and a start: the stop persists the hub's clock, the start judges the wall.
          hub.stop();
          hub = boot();
        }
        else if (a.kind === 'time') {
          const signed = signTime({ kid: a.carrier ? 'carrier-1' : 'cloud-1', time: a.time }, a.carrier ? carrier : world.issuer);
          const r = hubErrorCode(() => acceptSignedTime(signed, { trust: world.trust, clock: hub, floor: world.floor, store: world.store, hubId: world.hubId }));
          if (r !== 'ok' && r !== ErrorCode.TRUST_UPDATE_INVALID) return false;
        } else {
          const now = hub.now();
          const grant = deliveryGrant(world, { id: freshId(), kid: a.carrier ? 'carrier-1' : 'cloud-1', issuedAt: a.issuedAt, notBefore: Math.min(now, a.issuedAt), notAfter: Math.min(MAX_TIME_MS, Math.max(now, a.issuedAt) + HOUR) });
          const grantBytes = seal(Domain.grant, encodeGrantPayload(grant), a.carrier ? carrier : world.issuer);
          authorize(grantBytes, present(grant, a.honest ? world.courier : seededKey(77), now), bleContext({ now }), { ...world.stores, floor: hub });
        }
        // No action lifts the floor past the hub's own time plus the skew, whatever an issuer says.
        if (world.floor.floorMs() > limit) return false;
        // While the wall clock tells the truth, nothing an issuer signed may make the hub distrust it.
        if (!stepped && !hub.trusted()) return false;
      }
      return true;
    },
  );

  type Field = 'now' | 'rssiDbm' | 'clockSkewMs' | 'rssiFloorDbm' | 'latE7' | 'lonE7' | 'radiusM' | 'deliveriesPaused' | 'cameraHealthy';
  const N = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e308, -1e308];
  const BAD: Record<Field, unknown[]> = {
    now: [...N, -1, 0.5, MAX_TIME_MS + 1, undefined],
    rssiDbm: [...N, 127, 21, -128, undefined],
    clockSkewMs: [...N, -1, 0.5, 3_600_001],
    rssiFloorDbm: [...N, -128, 21],
    latE7: [...N, 900_000_001, -900_000_001, 0.5],
    lonE7: [...N, 1_800_000_001, -1_800_000_001, 0.5],
    radiusM: [...N, -1, 100_001],
    deliveriesPaused: [undefined, null, 0, 1, 'no'],
    cameraHealthy: [undefined, null, 0, 1, 'yes'],
  };
  const badArb = fc.constantFrom(...(Object.keys(BAD) as Field[])).chain((field) => fc.record({ field: fc.constant(field), value: fc.constantFrom(...BAD[field]) }));
  properties['context-values'] = prop(badArb, ({ field, value }) => {
    const cloud = field === 'latE7' || field === 'lonE7' || field === 'radiusM';
    const grant = deliveryGrant(world, { id: freshId() });
    const grantBytes = seal(Domain.grant, encodeGrantPayload(grant), world.issuer);
    const base: DecideContext = cloud ? bleContext({ transport: 'cloud', rssiDbm: undefined }) : bleContext();
    const policy = { ...POLICY, home: { ...HOME } } as Record<string, unknown> & { home: Record<string, unknown> };
    const ctx = { ...base, policy } as unknown as Record<string, unknown>;
    if (field in HOME) policy.home[field] = value;
    else if (field in POLICY) policy[field] = value;
    else ctx[field] = value;
    const presentation = present(grant, world.courier, NOW, { transport: cloud ? 'cloud' : 'ble' });
    const d = decide(grantBytes, presentation, ctx as unknown as DecideContext, world.stores);
    if (d.allow || (d.code !== ErrorCode.CONTEXT_INVALID && d.code !== ErrorCode.SIGNAL_TOO_WEAK)) return false;
    return control(decide(grantBytes, present(grant, world.courier, NOW, { transport: cloud ? 'cloud' : 'ble' }), { ...base, policy: { ...POLICY } }, world.stores).allow);
  });

  properties['cross-issuer'] = prop(
    fc.record({ usesA: fc.integer({ min: 1, max: 3 }), usesB: fc.integer({ min: 1, max: 3 }), order: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }) }),
    ({ usesA, usesB, order }) => {
      const id = freshId();
      const grants = [deliveryGrant(world, { id, kind: 'guest', uses: usesA, delivery: undefined }), deliveryGrant(world, { id, kid: 'carrier-1', kind: 'guest', uses: usesB, delivery: undefined })] as const;
      const signers = [world.issuer, carrier];
      const seen = [0, 0];
      for (const b of order) {
        const i = b ? 1 : 0;
        const grant = grants[i];
        const d = authorize(seal(Domain.grant, encodeGrantPayload(grant), signers[i] as SigningKey), present(grant, world.courier), bleContext(), world.stores);
        const want = (seen[i] as number) < grant.uses;
        seen[i] = (seen[i] as number) + 1;
        if (want) control(d.allow);
        if (d.allow !== want || (!want && code(d) !== ErrorCode.GRANT_USED_UP)) return false;
      }
      return true;
    },
  );

  for (const [i, cls] of SEMANTIC_CLASSES.entries()) {
    const details = fc.check(properties[cls], { numRuns: perClass, seed: options.seed + i });
    report.byClass[cls] = details.numRuns;
    report.tried += details.numRuns;
    if (details.failed) {
      report.violations++;
      report.firstViolation ??= `${cls}: ${fc.defaultReportMessage(details) ?? 'failed'}`;
    }
  }
  world.close();
  keys.close();
  return report;
}

/** Wall and monotonic time moving together, synchronously (no timers: HubClock sets none); the wall may be stepped alone. */
function steppedClock(wallMs: number): Clock & { advance(ms: number): void; setWall(ms: number): void } {
  let wall = wallMs;
  let mono = 1_000;
  const never = (): never => {
    throw new Error('no timers in the semantic fuzzer');
  };
  return {
    now: () => wall,
    monotonic: () => mono,
    setTimeout: never,
    setInterval: never,
    advance(ms) {
      wall += ms;
      mono += ms;
    },
    setWall(ms) {
      wall = ms;
    },
  };
}
