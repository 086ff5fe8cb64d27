/**
 * A trusted world for grant tests: a root, one issuer certified for every kind, a hub store with
 * the keyring installed, and builders for a valid delivery grant and its presentation. Tests change
 * one thing at a time from this valid baseline. The hub's clock is a FakeClock at NOW; its floor
 * (`floor`, the stored one) is bounded by `hubClock`, as in the daemon.
 */
import { HubClock } from '../../hub/access/hub-clock.js';
import { PublicKeyCache } from '../../hub/access/key-cache.js';
import { acceptSignedTime } from '../../hub/access/signed-time.js';
import { LocalTimes } from '../../hub/access/local-time.js';
import { DEFAULT_POLICY, type AccessService } from '../../hub/access/module.js';
import { TrustState } from '../../hub/access/trust.js';
import type { AccessPolicy, DecideContext } from '../../hub/access/decide.js';
import type { AuthorizeStores } from '../../hub/access/authorize.js';
import type { AuditSink } from '../../hub/store/audit-log.js';
import { clockFloor, type ClockFloor } from '../../hub/store/clock-floor.js';
import { hubId } from '../../hub/store/daemon-runs.js';
import { replayStore } from '../../hub/store/replay-store.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { trustStore } from '../../hub/store/trust-store.js';
import type { Clock } from '../../hub/system/clock.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { generateSigningKey, signingKeyFromSeed, type SigningKey } from '../../protocols/grant/ed25519.js';
import type { Grant } from '../../protocols/grant/grant.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, makeRoot, newGrantId, signGrant, signKeyring } from '../../protocols/grant/issuer.js';
import type { Presentation } from '../../protocols/grant/presentation.js';
import { silentLog } from './silent-log.js';

export const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);
export const HOUR = 3_600_000;
export const HUB_ID = 'kh-0123456789abcdef';
export const LOCK_ID = 'front-door';
/** 52.5200 N, 13.4050 E (Berlin), in 1e-7 degrees. */
export const HOME = { latE7: 525_200_000, lonE7: 134_050_000, radiusM: 50 };
export const POLICY: AccessPolicy = { ...DEFAULT_POLICY, home: HOME };

export interface World {
  root: SigningKey;
  issuer: SigningKey;
  courier: SigningKey;
  store: Store;
  trust: TrustState;
  /** The stored floor (tests set it directly); `hubClock` bounds every raise the hub makes. */
  floor: ClockFloor;
  clock: FakeClock;
  hubClock: HubClock;
  /** The store's own hub id (what a root-signed time must name). */
  hubId: string;
  stores: AuthorizeStores;
  /** What the access module does with a signed time from the cloud. */
  acceptSignedTime(signed: Uint8Array, audit?: AuditSink): number;
  close(): void;
}

/** Deterministic keys (from fixed seeds) keep failures reproducible. */
export function seededKey(byte: number): SigningKey {
  return signingKeyFromSeed(new Uint8Array(32).fill(byte));
}

export async function makeWorld(path = ':memory:', keys?: { root: SigningKey; issuer: SigningKey; courier: SigningKey }): Promise<World> {
  const root = keys?.root ?? makeRoot(new Uint8Array(32).fill(1));
  const issuer = keys?.issuer ?? seededKey(2);
  const courier = keys?.courier ?? seededKey(3);
  const store = await openStore({ path, busyTimeoutMs: 10_000, log: silentLog() });
  const held = trustStore(store);
  if (held.rootPublicKey() === undefined) held.pinRoot(root.publicKey);
  const trust = new TrustState(held);
  if (trust.status().keyringVersion === 0) {
    const { certificate } = makeIssuerCertificate({ kid: 'cloud-1', key: issuer, notBefore: NOW - 365 * 24 * HOUR, notAfter: NOW + 365 * 24 * HOUR, kinds: ['delivery', 'guest', 'service', 'owner'] });
    trust.installKeyring(signKeyring({ version: 1, issuedAt: NOW - HOUR, issuers: [certificate] }, root));
  }
  const floor = clockFloor(store);
  const clock = new FakeClock({ wallMs: NOW });
  const hubClock = new HubClock({ clock, floor, skewMs: POLICY.clockSkewMs });
  const stores: AuthorizeStores = { trust, replay: replayStore(store), floor: hubClock, localTimes: new LocalTimes(), subjectKeys: new PublicKeyCache() };
  const id = hubId(store);
  return {
    root,
    issuer,
    courier,
    store,
    trust,
    floor,
    clock,
    hubClock,
    hubId: id,
    stores,
    acceptSignedTime: (signed, audit) => acceptSignedTime(signed, { trust, clock: hubClock, floor, store, hubId: id, ...(audit === undefined ? {} : { audit }) }),
    close: () => store.close(),
  };
}

/**
 * The two things the cloud downlink asks of the access room, over a trust state and clock floor
 * of a test's own (hub/cloud/downlink.ts downlinkTrustFrom adapts it as in the daemon).
 */
export function accessOver(held: { trust: TrustState; floor: ClockFloor; store: Store; hubId?: string; clock?: Clock }): Pick<AccessService, 'trust' | 'acceptSignedTime'> {
  const clock = new HubClock({ clock: held.clock ?? new FakeClock({ wallMs: NOW }), floor: held.floor, skewMs: DEFAULT_POLICY.clockSkewMs });
  return {
    trust: () => held.trust,
    acceptSignedTime: (signed) => acceptSignedTime(signed, { trust: held.trust, clock, floor: held.floor, store: held.store, hubId: held.hubId ?? HUB_ID }),
  };
}

export function deliveryGrant(world: Pick<World, 'courier'>, over: Partial<Grant> = {}): Grant {
  return {
    kid: 'cloud-1',
    id: newGrantId(),
    hubId: HUB_ID,
    lockId: LOCK_ID,
    kind: 'delivery',
    subjectId: 'courier-42',
    subjectKey: world.courier.publicKey,
    notBefore: NOW - HOUR,
    notAfter: NOW + 4 * HOUR,
    maxEntryMs: 120_000,
    uses: 1,
    issuedAt: NOW - 2 * HOUR,
    delivery: { orderId: 'order-1', packageIds: ['pkg-1', 'pkg-2'], addressDigest: new Uint8Array(32).fill(7) },
    ...over,
  };
}

export function bleContext(over: Partial<DecideContext> = {}): DecideContext {
  return { now: NOW, hubId: HUB_ID, lockId: LOCK_ID, transport: 'ble', rssiDbm: -50, deliveriesPaused: false, cameraHealthy: true, policy: POLICY, ...over };
}

/** A grant signed by the world's issuer, a fresh challenge, and the courier's presentation of it. */
export function visit(
  world: World,
  options: { grant?: Partial<Grant>; presentation?: Partial<Presentation>; signer?: SigningKey; presenter?: SigningKey; now?: number } = {},
): { grant: Grant; grantBytes: Uint8Array; presentationBytes: Uint8Array; challenge: Uint8Array } {
  const grant = deliveryGrant(world, options.grant);
  const grantBytes = signGrant(grant, options.signer ?? world.issuer);
  const challenge = world.stores.replay.issueChallenge(options.now ?? NOW);
  const presentation: Presentation = { grantId: grant.id, challenge, transport: 'ble', time: NOW, packages: ['pkg-1'], ...options.presentation };
  const presentationBytes = signPresentation(presentation, options.presenter ?? world.courier);
  return { grant, grantBytes, presentationBytes, challenge };
}

export { generateSigningKey };
