/**
 * Keys of small order open doors with no signature: under the identity point A, the "signature"
 * R = identity, S = 0 verifies for every message in node:crypto (RFC 8032's [S]B = R + [k]A holds
 * with both sides the identity). Every slot where a public key enters the hub refuses such keys.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorize } from '../../hub/access/authorize.js';
import { decide } from '../../hub/access/decide.js';
import { PublicKeyCache } from '../../hub/access/key-cache.js';
import type { Issuer } from '../../hub/access/trust.js';
import { checkCommand } from '../../hub/cloud/command-check.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { encodeCanonical } from '../../protocols/cbor/canonical.js';
import { encodeCommandPayload } from '../../protocols/grant/command.js';
import { publicKeyObject } from '../../protocols/grant/ed25519.js';
import { Domain, seal } from '../../protocols/grant/envelope.js';
import { encodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { signPresentation, verifyReceipt } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signGrant, signKeyring } from '../../protocols/grant/issuer.js';
import { SMALL_ORDER } from '../../protocols/grant/point-check.js';
import { encodePresentationPayload } from '../../protocols/grant/presentation.js';
import { encodeReceiptPayload } from '../../protocols/grant/receipt.js';
import { encodeKeyringPayload } from '../../protocols/grant/trust.js';
import { HOUR, HUB_ID, NOW, bleContext, deliveryGrant, makeWorld, seededKey, type World } from '../support/grant-fixture.js';
import { DEGENERATE_ED25519, IDENTITY, NOBODYS_SIGNATURE } from '../support/degenerate-keys.js';
import { tempDir } from '../support/temp-dir.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const forged = (payload: Uint8Array) => encodeCanonical([payload, NOBODYS_SIGNATURE]);

let world: World;
beforeEach(async () => {
  world = await makeWorld();
});
afterEach(() => world.close());

/** A grant for `subjectKey`, sealed by the world's issuer without the SDK's check (a careless issuer). */
function grantFor(subjectKey: Uint8Array, over: Partial<Grant> = {}): { grant: Grant; bytes: Uint8Array } {
  const grant = deliveryGrant(world, { subjectKey, ...over });
  return { grant, bytes: seal(Domain.grant, encodeGrantPayload(grant), world.issuer) };
}

/** The presentation nobody signed, over a fresh challenge of the hub's. */
function nobodysPresentation(grant: Grant): Uint8Array {
  const challenge = world.stores.replay.issueChallenge(NOW);
  return forged(encodePresentationPayload({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages: ['pkg-1'] }));
}

describe('a grant whose subject key is of small order', () => {
  it('is refused by decide() with SUBJECT_KEY_REFUSED, though its presentation "verifies" under node:crypto', () => {
    const { grant, bytes } = grantFor(IDENTITY);
    expect(decide(bytes, nobodysPresentation(grant), bleContext(), world.stores)).toEqual({
      allow: false,
      code: ErrorCode.SUBJECT_KEY_REFUSED,
      reason: `the grant's subject key is refused: ${SMALL_ORDER}`,
    });
  });

  it('is refused by authorize() on disk and uses nothing up', async () => {
    const dir = tempDir('keyhub-degenerate-');
    const disk = await makeWorld(join(dir.path, 'keyhub.db'));
    try {
      const grant = deliveryGrant(disk, { subjectKey: IDENTITY });
      const bytes = seal(Domain.grant, encodeGrantPayload(grant), disk.issuer);
      const challenge = disk.stores.replay.issueChallenge(NOW);
      const presentation = forged(encodePresentationPayload({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages: ['pkg-1'] }));
      expect(authorize(bytes, presentation, bleContext(), disk.stores)).toMatchObject({ allow: false, code: ErrorCode.SUBJECT_KEY_REFUSED });
      expect(disk.stores.replay.usesOf(grant.kid, grant.id)).toBe(0);
      expect(disk.stores.replay.challengeState(challenge, NOW)).toBe('fresh');
    } finally {
      disk.close();
      dir.cleanup();
    }
  });

  it.each(Object.entries(DEGENERATE_ED25519))('is refused for the key %s, before any signature work', (_name, key) => {
    // Signed by a key that is not the issuer's: the subject key check comes before the grant's signature.
    const grant = deliveryGrant(world, { subjectKey: hex(key) });
    const bytes = seal(Domain.grant, encodeGrantPayload(grant), seededKey(66));
    const d = decide(bytes, nobodysPresentation(grant), bleContext(), world.stores);
    expect(d).toMatchObject({ allow: false, code: ErrorCode.SUBJECT_KEY_REFUSED });
  });

  it('is not signed by the issuer SDK, which names the problem', () => {
    for (const key of Object.values(DEGENERATE_ED25519)) expect(() => signGrant(deliveryGrant(world, { subjectKey: hex(key) }), world.issuer)).toThrow(RangeError);
    expect(() => signGrant(deliveryGrant(world, { subjectKey: IDENTITY, subjectId: 'c-9' }), world.issuer)).toThrow(`grant for c-9: subject key refused: ${SMALL_ORDER}`);
  });

  it('is refused by the key cache, which makes no KeyObject of it and remembers the answer', () => {
    const cache = new PublicKeyCache(4);
    expect(cache.get(IDENTITY)).toEqual({ ok: false, problem: SMALL_ORDER });
    expect(cache.get(Uint8Array.from(IDENTITY))).toBe(cache.get(IDENTITY));
    expect(cache.size).toBe(1);
    expect(cache.get(world.courier.publicKey)).toMatchObject({ ok: true });
  });
});

describe('an issuer key of small order in a keyring', () => {
  const degenerateKeyring = () => {
    const good = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery'] }).certificate;
    const evil = { kid: 'evil-1', publicKey: IDENTITY, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery' as const, 'owner' as const] };
    return { version: 2, issuedAt: NOW, issuers: [good, evil] };
  };

  it('makes installKeyring refuse the whole keyring, so a grant forged under that key finds no issuer', () => {
    const signed = seal(Domain.keyring, encodeKeyringPayload(degenerateKeyring()), world.root);
    let code: unknown;
    try {
      world.trust.installKeyring(signed);
    } catch (err) {
      code = isHubError(err) ? err.code : err;
      expect((err as Error).message).toBe(`keyring: issuer evil-1's key is refused: ${SMALL_ORDER}`);
    }
    expect(code).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(world.trust.status()).toMatchObject({ keyringVersion: 1, issuers: ['cloud-1'] });
    const grant = deliveryGrant(world, { kid: 'evil-1' });
    const presentation = signPresentation({ grantId: grant.id, challenge: world.stores.replay.issueChallenge(NOW), transport: 'ble', time: NOW, packages: ['pkg-1'] }, world.courier);
    expect(decide(forged(encodeGrantPayload(grant)), presentation, bleContext(), world.stores)).toMatchObject({ allow: false, code: ErrorCode.ISSUER_UNKNOWN });
  });

  it('is not signed into a keyring by the issuer SDK', () => {
    expect(() => signKeyring(degenerateKeyring(), world.root)).toThrow(`keyring: issuer evil-1's key refused: ${SMALL_ORDER}`);
  });
});

describe('receipts and commands under a key of small order', () => {
  it('a handheld refuses a receipt "signed" by a hub key of small order', () => {
    const receipt = { hubId: HUB_ID, grantId: new Uint8Array(16).fill(1), visitId: new Uint8Array(16).fill(2), openedAt: NOW, decidedAt: NOW + 1000, outcome: 'locked' as const, relockedAt: NOW + 1000, bolt: 'locked' as const, door: 'closed' as const, auditSeq: 7 };
    expect(verifyReceipt(forged(encodeReceiptPayload(receipt)), IDENTITY, { hubId: HUB_ID, grantId: receipt.grantId })).toEqual({
      ok: false,
      reason: `hub key refused: ${SMALL_ORDER}`,
    });
  });

  it('checkCommand refuses a command from an issuer whose key is of small order', () => {
    const certificate = { kid: 'evil-1', publicKey: IDENTITY, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['owner' as const] };
    const issuer: Issuer = { certificate, key: publicKeyObject(IDENTITY) };
    const trust = { issuer: (kid: string) => (kid === 'evil-1' ? issuer : undefined), isIssuerRevoked: () => false };
    const payload = encodeCommandPayload({ kid: 'evil-1', id: new Uint8Array(16).fill(3), hubId: HUB_ID, action: 'lock', issuedAt: NOW, notAfter: NOW + 60_000 });
    expect(checkCommand(forged(payload), { now: NOW, hubId: HUB_ID, floorMs: 0, clockSkewMs: 300_000 }, trust)).toEqual({
      ok: false,
      id: '03'.repeat(16),
      action: 'lock',
      code: ErrorCode.COMMAND_SIGNATURE_INVALID,
      reason: `issuer evil-1's key is refused: ${SMALL_ORDER}`,
    });
  });
});
