import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { publicKeyObject, signBytes, signingKeyFromSeed, verifyBytes } from '../../protocols/grant/ed25519.js';
import { Domain, openEnvelope, signingInput, verifyEnvelope, type Domain as DomainName } from '../../protocols/grant/envelope.js';
import { signPresentation, signReceipt, verifyReceipt } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, makeRoot, signGrant, signKeyring, signRevocations, signTime } from '../../protocols/grant/issuer.js';
import { NOW, deliveryGrant, seededKey } from '../support/grant-fixture.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** RFC 8032 §7.1, Ed25519 TEST 1–3 (secret key = seed, public key, message, signature). */
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

describe('Ed25519 against RFC 8032 §7.1', () => {
  for (const v of RFC8032) {
    it(`derives the public key, signs and verifies ${v.name} with node:crypto and tweetnacl alike`, () => {
      const key = signingKeyFromSeed(hex(v.seed));
      expect(toHex(key.publicKey)).toBe(v.pub);
      expect(toHex(signBytes(key, hex(v.msg)))).toBe(v.sig);
      expect(verifyBytes(publicKeyObject(hex(v.pub)), hex(v.msg), hex(v.sig))).toBe(true);
      const pair = nacl.sign.keyPair.fromSeed(hex(v.seed));
      expect(toHex(pair.publicKey)).toBe(v.pub);
      expect(toHex(nacl.sign.detached(hex(v.msg), pair.secretKey))).toBe(v.sig);
      expect(nacl.sign.detached.verify(hex(v.msg), hex(v.sig), hex(v.pub))).toBe(true);
    });
  }

  it('refuses a vector signature with one bit flipped, and a signature of the wrong length', () => {
    const v = RFC8032[1] as (typeof RFC8032)[number];
    const sig = hex(v.sig);
    sig[10] = (sig[10] as number) ^ 1;
    expect(verifyBytes(publicKeyObject(hex(v.pub)), hex(v.msg), sig)).toBe(false);
    expect(verifyBytes(publicKeyObject(hex(v.pub)), hex(v.msg), hex(v.sig).subarray(0, 63))).toBe(false);
  });

  it('refuses raw keys and seeds of the wrong size', () => {
    expect(() => publicKeyObject(new Uint8Array(31))).toThrow(RangeError);
    expect(() => signingKeyFromSeed(new Uint8Array(33))).toThrow(RangeError);
  });
});

describe('every signed message, cross-checked against tweetnacl', () => {
  const root = makeRoot();
  const issuer = seededKey(2);
  const courier = seededKey(3);
  const hub = seededKey(9);
  const grant = deliveryGrant({ courier });
  const { certificate } = makeIssuerCertificate({ kid: 'cloud-1', key: issuer, notBefore: NOW - 1, notAfter: NOW + 1, kinds: ['delivery'] });
  const cases: Array<[DomainName, Uint8Array, Uint8Array]> = [
    [Domain.grant, signGrant(grant, issuer), issuer.publicKey],
    [Domain.presentation, signPresentation({ grantId: grant.id, challenge: new Uint8Array(32), transport: 'ble', time: NOW, packages: ['pkg-1'] }, courier), courier.publicKey],
    [Domain.receipt, signReceipt({ ...lockedReceipt(grant.id), clip: { id: 'clip-1', sha256: new Uint8Array(32), bytes: 10 } }, hub), hub.publicKey],
    [Domain.keyring, signKeyring({ version: 3, issuedAt: NOW, issuers: [certificate] }, root), root.publicKey],
    [Domain.revocations, signRevocations({ version: 2, issuedAt: NOW, grantIds: [grant.id], kids: ['old'] }, root), root.publicKey],
    [Domain.time, signTime({ kid: 'cloud-1', time: NOW }, issuer), issuer.publicKey],
  ];

  for (const [domain, signed, publicKey] of cases) {
    it(`${domain}: node:crypto and tweetnacl agree, and the signature is valid under no other prefix`, () => {
      const envelope = openEnvelope(signed, 64 * 1024);
      expect(verifyEnvelope(domain, envelope, publicKeyObject(publicKey))).toBe(true);
      expect(nacl.sign.detached.verify(signingInput(domain, envelope.payload), envelope.signature, publicKey)).toBe(true);
      for (const other of Object.values(Domain).filter((d) => d !== domain)) {
        expect(verifyEnvelope(other, envelope, publicKeyObject(publicKey))).toBe(false);
        expect(nacl.sign.detached.verify(signingInput(other, envelope.payload), envelope.signature, publicKey)).toBe(false);
      }
    });
  }

  it('any change to a signed byte breaks verification (property, every message kind)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...cases), fc.nat(), fc.integer({ min: 1, max: 255 }), ([domain, signed, publicKey], at, xor) => {
        const envelope = openEnvelope(signed, 64 * 1024);
        const input = signingInput(domain, envelope.payload);
        const i = at % input.length;
        input[i] = (input[i] as number) ^ xor;
        expect(verifyBytes(publicKeyObject(publicKey), input, envelope.signature)).toBe(false);
        expect(nacl.sign.detached.verify(input, envelope.signature, publicKey)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('a handheld accepts its receipt and refuses one from another hub, for another grant, or forged', () => {
    const receipt = lockedReceipt(grant.id);
    const signed = signReceipt(receipt, hub);
    expect(verifyReceipt(signed, hub.publicKey, { hubId: 'kh-1', grantId: grant.id })).toMatchObject({ ok: true, receipt: { auditSeq: 7 } });
    expect(verifyReceipt(signed, hub.publicKey, { hubId: 'kh-2', grantId: grant.id }).ok).toBe(false);
    expect(verifyReceipt(signed, hub.publicKey, { hubId: 'kh-1', grantId: new Uint8Array(16) }).ok).toBe(false);
    expect(verifyReceipt(signed, courier.publicKey, { hubId: 'kh-1', grantId: grant.id })).toEqual({ ok: false, reason: 'signature does not verify' });
    expect(verifyReceipt(signed.subarray(1), hub.publicKey, { hubId: 'kh-1', grantId: grant.id }).ok).toBe(false);
    expect(verifyReceipt(signed, new Uint8Array(5), { hubId: 'kh-1', grantId: grant.id }).ok).toBe(false);
  });

  it('a handheld that knows its visit refuses the receipt of another visit of the same grant', () => {
    const signed = signReceipt(lockedReceipt(grant.id), hub);
    expect(verifyReceipt(signed, hub.publicKey, { hubId: 'kh-1', grantId: grant.id, visitId: new Uint8Array(16).fill(8) }).ok).toBe(true);
    expect(verifyReceipt(signed, hub.publicKey, { hubId: 'kh-1', grantId: grant.id, visitId: new Uint8Array(16) })).toEqual({ ok: false, reason: 'receipt is for another visit' });
  });
});

function lockedReceipt(grantId: Uint8Array) {
  return {
    hubId: 'kh-1',
    grantId,
    visitId: new Uint8Array(16).fill(8),
    openedAt: NOW,
    decidedAt: NOW + 5000,
    outcome: 'locked' as const,
    relockedAt: NOW + 5000,
    bolt: 'locked' as const,
    door: 'closed' as const,
    auditSeq: 7,
  };
}
