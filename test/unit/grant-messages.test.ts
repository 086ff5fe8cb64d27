import { describe, expect, it } from 'vitest';
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { openEnvelope } from '../../protocols/grant/envelope.js';
import { decodeGrantPayload, encodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { decodePresentationPayload, encodePresentationPayload, type Presentation } from '../../protocols/grant/presentation.js';
import { decodeReceiptPayload, encodeReceiptPayload } from '../../protocols/grant/receipt.js';
import { makeIssuerCertificate } from '../../protocols/grant/issuer.js';
import {
  decodeKeyringPayload,
  decodeRevocationsPayload,
  decodeRootTimePayload,
  decodeSignedTimePayload,
  encodeKeyringPayload,
  encodeRootTimePayload,
  encodeSignedTimePayload,
} from '../../protocols/grant/trust.js';
import { NOW, deliveryGrant, seededKey } from '../support/grant-fixture.js';

const courier = seededKey(3);
/** A payload's map, to change fields and re-encode (canonically) for the decoder under test. */
const map = (bytes: Uint8Array) => new Map(decodeCanonical(bytes, { maxBytes: 1 << 16 }) as Map<number, CborValue>);

/** The grant payload with fields changed (undefined deletes), re-encoded canonically. */
function grantWith(changes: Record<number, CborValue | undefined>, base: Grant = deliveryGrant({ courier })): Uint8Array {
  const m = map(encodeGrantPayload(base));
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) m.delete(Number(k));
    else m.set(Number(k), v);
  }
  return encodeCanonical(m);
}

const guest = (): Grant => ({ ...deliveryGrant({ courier }), kind: 'guest', uses: 3, delivery: undefined, recurring: { weekly: [{ day: 1, startMin: 0, endMin: 60 }], tz: 'Europe/Berlin' } });

describe('grant decoding: one shape only', () => {
  const refused: Array<[string, () => Uint8Array]> = [
    ['an unsupported version', () => grantWith({ 0: 2 })],
    ['an unknown field', () => grantWith({ 18: 1 })],
    ['a missing required field', () => grantWith({ 12: undefined })],
    ['an unknown kind', () => grantWith({ 5: 'burglar' })],
    ['a grant id that is not 16 bytes', () => grantWith({ 2: new Uint8Array(15) })],
    ['an empty hub id', () => grantWith({ 3: '' })],
    ['a window that ends before it starts', () => grantWith({ 9: NOW - 10 * 3_600_000 })],
    ['an entry time over an hour', () => grantWith({ 10: 3_600_001 })],
    ['zero uses', () => grantWith({ 11: 0 })],
    ['a delivery with more than one use', () => grantWith({ 11: 2 })],
    ['a delivery without its order', () => grantWith({ 13: undefined })],
    ['a delivery without packages', () => grantWith({ 14: [] })],
    ['a delivery with a repeated package', () => grantWith({ 14: ['a', 'a'] })],
    ['a delivery whose address digest is not 32 bytes', () => grantWith({ 15: new Uint8Array(31) })],
    ['order fields on a guest grant', () => grantWith({ 13: 'order-1' }, guest())],
    ['weekly windows on a delivery', () => grantWith({ 16: [[1, 0, 60]], 17: 'Europe/Berlin' })],
    ['weekly windows without a zone', () => grantWith({ 17: undefined }, guest())],
    ['a zone without weekly windows', () => grantWith({ 16: undefined }, guest())],
    ['a weekly window that is not a triple', () => grantWith({ 16: [[1, 0]] }, guest())],
    ['a weekly window with a non-integer part', () => grantWith({ 16: [[1, 'a', 60]] }, guest())],
    ['a weekly window on day 8', () => grantWith({ 16: [[8, 0, 60]] }, guest())],
    ['a weekly window that ends before it starts', () => grantWith({ 16: [[1, 60, 60]] }, guest())],
    ['a weekly window past midnight', () => grantWith({ 16: [[1, 0, 1441]] }, guest())],
  ];
  for (const [what, make] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => decodeGrantPayload(make())).toThrow(CborError);
    });
  }

  it('refuses to encode a grant that breaks a rule, so issuers find out first', () => {
    expect(() => encodeGrantPayload({ ...deliveryGrant({ courier }), uses: 2 })).toThrow(CborError);
  });

  it('round-trips a recurring service grant and an owner grant', () => {
    const service: Grant = { ...guest(), kind: 'service' };
    expect(decodeGrantPayload(encodeGrantPayload(service)).recurring?.tz).toBe('Europe/Berlin');
    const owner: Grant = { ...deliveryGrant({ courier }), kind: 'owner', delivery: undefined };
    expect(decodeGrantPayload(encodeGrantPayload(owner)).kind).toBe('owner');
  });
});

describe('presentation decoding', () => {
  const ble: Presentation = { grantId: new Uint8Array(16), challenge: new Uint8Array(32), transport: 'ble', time: NOW, packages: [] };
  const cloud: Presentation = { ...ble, transport: 'cloud', position: { latE7: 1, lonE7: 2, accuracyM: 3 } };
  const withFields = (p: Presentation, changes: Record<number, CborValue | undefined>) => {
    const m = map(encodePresentationPayload(p));
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) m.delete(Number(k));
      else m.set(Number(k), v);
    }
    return encodeCanonical(m);
  };
  const refused: Array<[string, () => Uint8Array]> = [
    ['an unsupported version', () => withFields(ble, { 0: 0 })],
    ['a position on the BLE path', () => withFields(ble, { 6: [1, 2, 3] })],
    ['the cloud path without a position', () => withFields(cloud, { 6: undefined })],
    ['a position that is not a triple', () => withFields(cloud, { 6: [1, 2] })],
    ['a position with a text part', () => withFields(cloud, { 6: [1, 'x', 3] })],
    ['a latitude beyond 90°', () => withFields(cloud, { 6: [900_000_001, 0, 3] })],
    ['a longitude beyond 180°', () => withFields(cloud, { 6: [0, -1_800_000_001, 3] })],
    ['a negative accuracy', () => withFields(cloud, { 6: [0, 0, -1] })],
    ['an accuracy over 100 km', () => withFields(cloud, { 6: [0, 0, 100_001] })],
    ['an unknown transport', () => withFields(ble, { 3: 'nfc' })],
    ['a challenge that is not 32 bytes', () => withFields(ble, { 2: new Uint8Array(31) })],
  ];
  for (const [what, make] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => decodePresentationPayload(make())).toThrow(CborError);
    });
  }
  it('reads a cloud presentation with its position', () => {
    expect(decodePresentationPayload(encodePresentationPayload(cloud)).position).toEqual({ latE7: 1, lonE7: 2, accuracyM: 3 });
  });
});

describe('receipt and trust document decoding', () => {
  const receipt = {
    hubId: 'kh-1',
    grantId: new Uint8Array(16),
    visitId: new Uint8Array(16).fill(4),
    openedAt: NOW,
    decidedAt: NOW + 1,
    outcome: 'locked' as const,
    relockedAt: NOW + 1,
    bolt: 'locked' as const,
    door: 'closed' as const,
    auditSeq: 1,
  };
  const change = (bytes: Uint8Array, changes: Record<number, CborValue>) => {
    const m = map(bytes);
    for (const [k, v] of Object.entries(changes)) m.set(Number(k), v);
    return encodeCanonical(m);
  };

  it('reads a receipt without a clip, and refuses a wrong version or a relock before the opening', () => {
    expect(decodeReceiptPayload(encodeReceiptPayload(receipt)).clip).toBeUndefined();
    expect(() => decodeReceiptPayload(change(encodeReceiptPayload(receipt), { 0: 3 }))).toThrow(CborError);
    expect(() => decodeReceiptPayload(change(encodeReceiptPayload(receipt), { 7: NOW - 1 }))).toThrow(/before openedAt/);
    expect(() => decodeReceiptPayload(change(encodeReceiptPayload(receipt), { 5: NOW - 1 }))).toThrow(/before openedAt/);
  });

  it('refuses a version 1 receipt: it cannot say that a relock failed', () => {
    const v1 = new Map<number, CborValue>([[0, 1], [1, 'kh-1'], [2, new Uint8Array(16)], [3, NOW], [4, NOW + 1], [5, 'closed'], [7, 1]]);
    expect(() => decodeReceiptPayload(encodeCanonical(v1))).toThrow(/unsupported version/);
  });

  it('says a relock failed or the door was left open, and then carries no relock time', () => {
    const failed = { ...receipt, outcome: 'relock-failed' as const, relockedAt: undefined, bolt: 'jammed' as const };
    expect(decodeReceiptPayload(encodeReceiptPayload(failed))).toMatchObject({ outcome: 'relock-failed', bolt: 'jammed' });
    const open = { ...receipt, outcome: 'door-left-open' as const, relockedAt: undefined, bolt: 'unlocked' as const, door: 'open' as const };
    expect(decodeReceiptPayload(encodeReceiptPayload(open)).relockedAt).toBeUndefined();
    expect(() => encodeReceiptPayload({ ...failed, relockedAt: NOW + 1 })).toThrow(/relockedAt goes with/);
    expect(() => encodeReceiptPayload({ ...receipt, relockedAt: undefined })).toThrow(/relockedAt goes with/);
  });

  it('never says "locked" with the bolt reading otherwise', () => {
    expect(() => encodeReceiptPayload({ ...receipt, bolt: 'unknown' })).toThrow(/bolt not locked/);
  });

  it('carries the clip as written at the outcome: id, prefix hash and length together', () => {
    const withClip = { ...receipt, clip: { id: 'clip-1', sha256: new Uint8Array(32).fill(1), bytes: 1234 } };
    expect(decodeReceiptPayload(encodeReceiptPayload(withClip)).clip).toEqual(withClip.clip);
    const m = map(encodeReceiptPayload(withClip));
    m.delete(12);
    expect(() => decodeReceiptPayload(encodeCanonical(m))).toThrow(/field 12 is missing/);
  });

  const cert = makeIssuerCertificate({ kid: 'a', key: seededKey(2), notBefore: NOW, notAfter: NOW + 1, kinds: ['delivery'] }).certificate;
  const keyring = encodeKeyringPayload({ version: 1, issuedAt: NOW, issuers: [cert] });
  const certMap = (changes: Record<number, CborValue>) => {
    const m = new Map<number, CborValue>([[0, 'a'], [1, cert.publicKey], [2, NOW], [3, NOW + 1], [4, ['delivery']]]);
    for (const [k, v] of Object.entries(changes)) m.set(Number(k), v);
    return m;
  };
  const refused: Array<[string, () => unknown]> = [
    ['a keyring of an unsupported version', () => decodeKeyringPayload(change(keyring, { 0: 2 }))],
    ['a keyring of version 0', () => decodeKeyringPayload(change(keyring, { 1: 0 }))],
    ['a keyring with a repeated kid', () => decodeKeyringPayload(change(keyring, { 3: [certMap({}), certMap({})] }))],
    ['a certificate with an unknown kind', () => decodeKeyringPayload(change(keyring, { 3: [certMap({ 4: ['thief'] })] }))],
    ['a certificate with a non-text kind', () => decodeKeyringPayload(change(keyring, { 3: [certMap({ 4: [1] })] }))],
    ['a certificate with a repeated kind', () => decodeKeyringPayload(change(keyring, { 3: [certMap({ 4: ['guest', 'guest'] })] }))],
    ['a certificate that expires before it starts', () => decodeKeyringPayload(change(keyring, { 3: [certMap({ 3: NOW })] }))],
    ['a revocation list of an unsupported version', () => decodeRevocationsPayload(encodeCanonical(new Map<number, CborValue>([[0, 2], [1, 1], [2, NOW], [3, []], [4, []]])))],
    ['a revocation list with a short grant id', () => decodeRevocationsPayload(encodeCanonical(new Map<number, CborValue>([[0, 1], [1, 1], [2, NOW], [3, [new Uint8Array(3)]], [4, []]])))],
    ['a signed time of an unsupported version', () => decodeSignedTimePayload(change(encodeSignedTimePayload({ kid: 'a', time: NOW }), { 0: 3 }))],
    ['a root time of an unsupported version', () => decodeRootTimePayload(change(encodeRootTimePayload({ version: 1, hubId: 'h', time: NOW }), { 0: 2 }))],
    ['a root time of version 0', () => decodeRootTimePayload(change(encodeRootTimePayload({ version: 1, hubId: 'h', time: NOW }), { 1: 0 }))],
    ['a signed time carrying a root time’s fields', () => decodeSignedTimePayload(encodeRootTimePayload({ version: 1, hubId: 'h', time: NOW }))],
  ];
  for (const [what, run] of refused) {
    it(`refuses ${what}`, () => {
      expect(run).toThrow(CborError);
    });
  }
});

describe('envelope', () => {
  it('refuses a signed message whose signature is not 64 bytes or not bytes, or whose payload is not bytes', () => {
    expect(() => openEnvelope(encodeCanonical([new Uint8Array(1), new Uint8Array(63)]), 1024)).toThrow(/64 bytes/);
    expect(() => openEnvelope(encodeCanonical([new Uint8Array(1), 'sig']), 1024)).toThrow(/64 bytes/);
    expect(() => openEnvelope(encodeCanonical(['payload', new Uint8Array(64)]), 1024)).toThrow(/byte string/);
    expect(() => openEnvelope(encodeCanonical([new Uint8Array(1)]), 1024)).toThrow(/array of/);
  });

  it('makes a fresh issuer key when none is given', () => {
    const made = makeIssuerCertificate({ kid: 'new', notBefore: NOW, notAfter: NOW + 1, kinds: ['guest'] });
    expect(made.certificate.publicKey).toEqual(made.key.publicKey);
  });
});
