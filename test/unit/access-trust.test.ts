import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrustState } from '../../hub/access/trust.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { Domain, openEnvelope, seal } from '../../protocols/grant/envelope.js';
import { makeIssuerCertificate, signKeyring, signRevocations, signRootTime, signTime } from '../../protocols/grant/issuer.js';
import { encodeCanonical } from '../../protocols/cbor/canonical.js';
import { HOUR, NOW, makeWorld, seededKey, type World } from '../support/grant-fixture.js';

let world: World;
beforeEach(async () => {
  world = await makeWorld();
});
afterEach(() => world.close());

function codeOf(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isHubError(err)) return err.code;
    throw err;
  }
}

const cert = (kid: string, key = seededKey(2), kinds: Array<'delivery' | 'guest'> = ['delivery']) =>
  makeIssuerCertificate({ kid, key, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds }).certificate;

describe('keyring', () => {
  it('installs a newer root-signed keyring and forgets issuers it no longer lists', () => {
    expect(world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [cert('cloud-2', seededKey(8))] }, world.root))).toBe(2);
    expect(world.trust.issuer('cloud-2')).toBeDefined();
    expect(world.trust.issuer('cloud-1')).toBeUndefined();
    expect(world.trust.status()).toMatchObject({ rootPinned: true, keyringVersion: 2, issuers: ['cloud-2'] });
  });

  it('refuses a keyring whose version is equal to or lower than the one held (rollback)', () => {
    expect(codeOf(() => world.trust.installKeyring(signKeyring({ version: 1, issuedAt: NOW, issuers: [cert('evil')] }, world.root)))).toBe(ErrorCode.KEYRING_ROLLBACK);
    world.trust.installKeyring(signKeyring({ version: 5, issuedAt: NOW, issuers: [cert('cloud-1')] }, world.root));
    expect(codeOf(() => world.trust.installKeyring(signKeyring({ version: 4, issuedAt: NOW, issuers: [cert('evil')] }, world.root)))).toBe(ErrorCode.KEYRING_ROLLBACK);
    expect(world.trust.issuer('evil')).toBeUndefined();
  });

  it('refuses a rollback across a restart: the held version is durable', async () => {
    world.trust.installKeyring(signKeyring({ version: 7, issuedAt: NOW, issuers: [cert('cloud-1')] }, world.root));
    const reloaded = new TrustState(trustStore(world.store));
    expect(reloaded.status().keyringVersion).toBe(7);
    expect(codeOf(() => reloaded.installKeyring(signKeyring({ version: 6, issuedAt: NOW, issuers: [cert('evil')] }, world.root)))).toBe(ErrorCode.KEYRING_ROLLBACK);
  });

  it('refuses a rollback even when memory is stale: another process installed a newer one', () => {
    const other = new TrustState(trustStore(world.store));
    other.installKeyring(signKeyring({ version: 9, issuedAt: NOW, issuers: [cert('cloud-1')] }, world.root));
    expect(codeOf(() => world.trust.installKeyring(signKeyring({ version: 8, issuedAt: NOW, issuers: [cert('evil')] }, world.root)))).toBe(ErrorCode.KEYRING_ROLLBACK);
    expect(world.trust.issuer('evil')).toBeUndefined();
  });

  it('refuses a keyring not signed by the pinned root, or signed under another prefix', () => {
    const body = { version: 3, issuedAt: NOW, issuers: [cert('evil')] };
    expect(codeOf(() => world.trust.installKeyring(signKeyring(body, seededKey(66))))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    const payload = openEnvelope(signKeyring(body, world.root), 16384).payload;
    expect(codeOf(() => world.trust.installKeyring(seal(Domain.revocations, payload, world.root)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
  });

  it('refuses malformed trust updates', () => {
    expect(codeOf(() => world.trust.installKeyring(new Uint8Array([1, 2, 3])))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    const notAKeyring = seal(Domain.keyring, encodeCanonical(new Map([[0, 1]])), world.root);
    expect(codeOf(() => world.trust.installKeyring(notAKeyring))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(codeOf(() => world.trust.installRevocations(new Uint8Array([0xff])))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
  });

  it('drops the keyring and revocations of the old root when another root is pinned, and boots with the new one', () => {
    world.trust.installRevocations(signRevocations({ version: 4, issuedAt: NOW, grantIds: [], kids: ['x'] }, world.root));
    world.trust.pinRoot(world.root.publicKey); // the same root again: nothing changes
    expect(world.trust.status()).toMatchObject({ keyringVersion: 1, revocationsVersion: 4 });
    const newRoot = seededKey(42);
    world.trust.pinRoot(newRoot.publicKey);
    expect(world.trust.status()).toMatchObject({ rootPinned: true, keyringVersion: 0, revocationsVersion: 0, issuers: [] });
    expect(world.trust.isIssuerRevoked('x')).toBe(false);
    expect(codeOf(() => world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [cert('cloud-1')] }, world.root)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    world.trust.installKeyring(signKeyring({ version: 1, issuedAt: NOW, issuers: [cert('cloud-9')] }, newRoot));
    expect(new TrustState(trustStore(world.store)).status()).toMatchObject({ keyringVersion: 1, issuers: ['cloud-9'] });
  });

  it('refuses to pin a root of small order or no point at all, keeping the root, keyring and revocations it holds', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    for (const bad of [identity, notAPoint, new Uint8Array(16)]) expect(codeOf(() => world.trust.pinRoot(bad))).toBe(ErrorCode.TRUST_ROOT_REFUSED);
    expect(trustStore(world.store).rootPublicKey()).toEqual(world.root.publicKey);
    expect(world.trust.status()).toMatchObject({ rootPinned: true, keyringVersion: 1, issuers: ['cloud-1'] });
  });

  it('refuses any update before a root is pinned', async () => {
    const fresh = await makeWorld();
    const bare = new TrustState({ rootPublicKey: () => undefined, pinRoot: () => {}, held: () => undefined, replace: () => true });
    expect(codeOf(() => bare.installKeyring(signKeyring({ version: 1, issuedAt: NOW, issuers: [cert('x')] }, fresh.root)))).toBe(ErrorCode.TRUST_ROOT_MISSING);
    bare.pinRoot(fresh.root.publicKey);
    expect(bare.status().rootPinned).toBe(true);
    fresh.close();
  });
});

describe('revocations', () => {
  it('refuses a revocation list whose version is not newer (rollback), in memory and after a restart', () => {
    world.trust.installRevocations(signRevocations({ version: 3, issuedAt: NOW, grantIds: [new Uint8Array(16)], kids: [] }, world.root));
    expect(codeOf(() => world.trust.installRevocations(signRevocations({ version: 3, issuedAt: NOW, grantIds: [], kids: [] }, world.root)))).toBe(ErrorCode.REVOCATIONS_ROLLBACK);
    const reloaded = new TrustState(trustStore(world.store));
    expect(reloaded.isGrantRevoked(new Uint8Array(16))).toBe(true);
    expect(codeOf(() => reloaded.installRevocations(signRevocations({ version: 2, issuedAt: NOW, grantIds: [], kids: [] }, world.root)))).toBe(ErrorCode.REVOCATIONS_ROLLBACK);
    const other = new TrustState(trustStore(world.store));
    other.installRevocations(signRevocations({ version: 10, issuedAt: NOW, grantIds: [], kids: [] }, world.root));
    expect(codeOf(() => reloaded.installRevocations(signRevocations({ version: 4, issuedAt: NOW, grantIds: [], kids: [] }, world.root)))).toBe(ErrorCode.REVOCATIONS_ROLLBACK);
  });

  it('refuses a revocation list signed by an issuer instead of the root', () => {
    expect(codeOf(() => world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [], kids: [] }, world.issuer)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
  });
});

describe('signed time', () => {
  it('raises the clock floor to an issuer-signed time', () => {
    expect(world.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW + 5 }, world.issuer))).toBe(NOW + 5);
    expect(world.floor.source()).toBe('signed-time');
  });

  it('never lowers the floor', () => {
    world.floor.raise(NOW + HOUR, 'shutdown');
    expect(world.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW }, world.issuer))).toBe(NOW);
    expect(world.floor.floorMs()).toBe(NOW + HOUR);
  });

  it('refuses a time from an unknown or revoked issuer, outside its certificate, or with a bad signature', () => {
    expect(codeOf(() => world.acceptSignedTime(signTime({ kid: 'nobody', time: NOW }, world.issuer)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(codeOf(() => world.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW + 400 * 24 * HOUR }, world.issuer)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(codeOf(() => world.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW }, seededKey(66))))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(codeOf(() => world.acceptSignedTime(new Uint8Array([0x80])))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [], kids: ['cloud-1'] }, world.root));
    expect(codeOf(() => world.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW }, world.issuer)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(world.floor.floorMs()).toBe(0);
  });
});

describe('root time', () => {
  it('sets the floor to the root’s time, even down, and records its version', () => {
    world.floor.raise(NOW + HOUR, 'grant');
    expect(world.acceptSignedTime(signRootTime({ version: 3, hubId: world.hubId, time: NOW }, world.root))).toBe(NOW);
    expect({ floor: world.floor.floorMs(), source: world.floor.source() }).toEqual({ floor: NOW, source: 'root-time' });
    expect(trustStore(world.store).held('root-time')?.version).toBe(3);
  });

  it('refuses a version another process took first, between the check and the record', () => {
    const signed = signRootTime({ version: 3, hubId: world.hubId, time: NOW }, world.root);
    const verified = world.trust.verifySignedTime(signed, world.hubId);
    new TrustState(trustStore(world.store)).recordRootTime({ by: 'root', version: 4, time: NOW, signed });
    expect(verified.by).toBe('root');
    expect(codeOf(() => world.trust.recordRootTime(verified as Extract<typeof verified, { by: 'root' }>))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(trustStore(world.store).held('root-time')?.version).toBe(4);
  });

  it('forgets the held version when another root is pinned: a new root starts its own count', () => {
    world.acceptSignedTime(signRootTime({ version: 9, hubId: world.hubId, time: NOW }, world.root));
    world.trust.pinRoot(seededKey(42).publicKey);
    expect(trustStore(world.store).held('root-time')).toBeUndefined();
  });
});
