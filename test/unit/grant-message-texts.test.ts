/**
 * The words of every decoder refusal, whole: decide() hands them on as its reason ("grant: …"),
 * the cloud link replies with them and the audit log keeps them, so a changed word is a change
 * someone reads.
 */
import { describe, expect, it } from 'vitest';
import { decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { FieldReader, bytesItem, knownFields, textItem } from '../../protocols/cbor/fields.js';
import { decodeCommandPayload, encodeCommandPayload } from '../../protocols/grant/command.js';
import { publicKeyObject, signingKeyFromSeed } from '../../protocols/grant/ed25519.js';
import { openEnvelope } from '../../protocols/grant/envelope.js';
import { decodeGrantPayload, encodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { signReceipt, verifyReceipt } from '../../protocols/grant/handheld.js';
import { decodePresentationPayload, encodePresentationPayload, type Presentation } from '../../protocols/grant/presentation.js';
import { decodeReceiptPayload, encodeReceiptPayload } from '../../protocols/grant/receipt.js';
import {
  decodeKeyringPayload,
  decodeRevocationsPayload,
  decodeRootTimePayload,
  decodeSignedTimePayload,
  encodeKeyringPayload,
  encodeRevocationsPayload,
  encodeRootTimePayload,
  encodeSignedTimePayload,
} from '../../protocols/grant/trust.js';
import { NOW, deliveryGrant, seededKey } from '../support/grant-fixture.js';

const courier = seededKey(3);
const map = (bytes: Uint8Array) => new Map(decodeCanonical(bytes, { maxBytes: 1 << 16 }) as Map<number, CborValue>);
const withFields = (bytes: Uint8Array, changes: Record<number, CborValue | undefined>) => {
  const m = map(bytes);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) m.delete(Number(k));
    else m.set(Number(k), v);
  }
  return encodeCanonical(m);
};
const delivery = () => encodeGrantPayload(deliveryGrant({ courier }));
const guest: Grant = { ...deliveryGrant({ courier }), kind: 'guest', uses: 3, delivery: undefined, recurring: { weekly: [{ day: 1, startMin: 0, endMin: 60 }], tz: 'Europe/Berlin' } };
const ble: Presentation = { grantId: new Uint8Array(16), challenge: new Uint8Array(32), transport: 'ble', time: NOW, packages: [] };
const cloud: Presentation = { ...ble, transport: 'cloud', position: { latE7: 1, lonE7: 2, accuracyM: 3 } };
const receipt = { hubId: 'kh-1', grantId: new Uint8Array(16), visitId: new Uint8Array(16).fill(2), openedAt: NOW, decidedAt: NOW + 1, outcome: 'locked' as const, relockedAt: NOW + 1, bolt: 'locked' as const, door: 'closed' as const, auditSeq: 1 };
const cert = { kid: 'a', publicKey: seededKey(2).publicKey, notBefore: NOW, notAfter: NOW + 1, kinds: ['delivery' as const] };
const certMap = (changes: Record<number, CborValue>) => {
  const m = new Map<number, CborValue>([[0, 'a'], [1, cert.publicKey], [2, NOW], [3, NOW + 1], [4, ['delivery']]]);
  for (const [k, v] of Object.entries(changes)) m.set(Number(k), v);
  return m;
};
const keyring = (issuers: CborValue[]) => encodeCanonical(new Map<number, CborValue>([[0, 1], [1, 1], [2, NOW], [3, issuers]]));
const command = () => encodeCommandPayload({ kid: 'a', id: new Uint8Array(16), hubId: 'h', action: 'lock', issuedAt: NOW, notAfter: NOW + 60_000 });
const POSITION = 'presentation: position must be [latE7 ±900000000, lonE7 ±1800000000, accuracyM 0..100000]';
const WEEKLY = (i: number) => `grant weekly[${i}] must be [isoDay 1..7, startMin 0..1439, endMin start+1..1440]`;

const cases: Array<[string, () => unknown, string]> = [
  // grant
  ['a grant of version 2', () => decodeGrantPayload(withFields(delivery(), { 0: 2 })), 'grant: unsupported version'],
  ['a grant that is no map', () => decodeGrantPayload(encodeCanonical([1])), 'grant: expected a map'],
  ['a grant with field 18', () => decodeGrantPayload(withFields(delivery(), { 18: 1 })), 'grant: unknown field 18'],
  ['a grant with a text key', () => decodeGrantPayload(encodeCanonical(new Map<string, CborValue>([['v', 1]]))), 'grant: unknown field v'],
  ['a grant without issuedAt', () => decodeGrantPayload(withFields(delivery(), { 12: undefined })), 'grant: field 12 is missing'],
  ['a burglar kind', () => decodeGrantPayload(withFields(delivery(), { 5: 'burglar' })), 'grant: field 5 must be one of delivery, guest, service, owner'],
  ['a 15-byte id', () => decodeGrantPayload(withFields(delivery(), { 2: new Uint8Array(15) })), 'grant: field 2 must be 16 bytes'],
  ['an empty hub id', () => decodeGrantPayload(withFields(delivery(), { 3: '' })), 'grant: field 3 must be text of 1..64 characters'],
  ['a negative notBefore', () => decodeGrantPayload(withFields(delivery(), { 8: -1 })), 'grant: field 8 must be an integer 0..8640000000000000'],
  ['an entry time over an hour', () => decodeGrantPayload(withFields(delivery(), { 10: 3_600_001 })), 'grant: field 10 must be an integer 0..3600000'],
  ['zero uses', () => decodeGrantPayload(withFields(delivery(), { 11: 0 })), 'grant: field 11 must be an integer 1..1000'],
  ['a window that ends as it starts', () => decodeGrantPayload(withFields(delivery(), { 9: NOW - 3_600_000 })), 'grant: notAfter must be after notBefore'],
  ['a delivery with two uses', () => decodeGrantPayload(withFields(delivery(), { 11: 2 })), 'grant: a delivery grant has exactly one use'],
  ['order fields on a guest', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 15: new Uint8Array(32) })), 'grant: order fields are for deliveries, not guest'],
  ['repeated packages', () => decodeGrantPayload(withFields(delivery(), { 14: ['a', 'a'] })), 'grant: packageIds repeat'],
  ['no packages', () => decodeGrantPayload(withFields(delivery(), { 14: [] })), 'grant: field 14 must be an array of 1..32 items'],
  ['an empty package id', () => decodeGrantPayload(withFields(delivery(), { 14: ['a', ''] })), 'grant packageIds[1] must be text of 1..64 characters'],
  ['weekly windows on an owner grant', () => decodeGrantPayload(withFields(delivery(), { 5: 'owner', 13: undefined, 14: undefined, 15: undefined, 16: [[1, 0, 60]], 17: 'UTC' })), 'grant: weekly windows are for guests and service, not owner'],
  ['a window pair', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[1, 0, 60], [1, 0]] })), WEEKLY(1)],
  ['a window of text', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[1, 'a', 60]] })), WEEKLY(0)],
  ['a window on day 0', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[0, 0, 60]] })), WEEKLY(0)],
  ['a window on day 8', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[8, 0, 60]] })), WEEKLY(0)],
  ['a window from minute −1', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[1, -1, 60]] })), WEEKLY(0)],
  ['a window to minute 1441', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[1, 0, 1441]] })), WEEKLY(0)],
  ['an empty window', () => decodeGrantPayload(withFields(encodeGrantPayload(guest), { 16: [[1, 60, 60]] })), WEEKLY(0)],
  // presentation
  ['a presentation of version 0', () => decodePresentationPayload(withFields(encodePresentationPayload(ble), { 0: 0 })), 'presentation: unsupported version'],
  ['a BLE position', () => decodePresentationPayload(withFields(encodePresentationPayload(ble), { 6: [1, 2, 3] })), 'presentation: a position is only sent on the cloud path'],
  ['a position pair', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: [1, 2] })), POSITION],
  ['a position of text', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: ['1', 2, 3] })), POSITION],
  ['a latitude past 90°', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: [900_000_001, 0, 3] })), POSITION],
  ['a latitude past −90°', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: [-900_000_001, 0, 3] })), POSITION],
  ['a longitude past 180°', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: [0, 1_800_000_001, 3] })), POSITION],
  ['a negative accuracy', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: [0, 0, -1] })), POSITION],
  ['an accuracy past 100 km', () => decodePresentationPayload(withFields(encodePresentationPayload(cloud), { 6: [0, 0, 100_001] })), POSITION],
  ['an nfc transport', () => decodePresentationPayload(withFields(encodePresentationPayload(ble), { 3: 'nfc' })), 'presentation: field 3 must be one of ble, cloud'],
  ['a package of 65 characters', () => decodePresentationPayload(withFields(encodePresentationPayload(ble), { 5: ['x'.repeat(65)] })), 'presentation packages[0] must be text of 1..64 characters'],
  // receipt
  ['a receipt of version 1', () => decodeReceiptPayload(withFields(encodeReceiptPayload(receipt), { 0: 1 })), 'receipt: unsupported version'],
  ['a relock before the opening', () => decodeReceiptPayload(withFields(encodeReceiptPayload(receipt), { 7: NOW - 1 })), 'receipt: relockedAt is before openedAt'],
  ['an outcome before the opening', () => decodeReceiptPayload(withFields(encodeReceiptPayload(receipt), { 5: NOW - 1 })), 'receipt: decidedAt is before openedAt'],
  ['a door ajar', () => decodeReceiptPayload(withFields(encodeReceiptPayload(receipt), { 9: 'ajar' })), 'receipt: field 9 must be one of closed, open, unknown'],
  // keyring, revocations, times
  ['a keyring of version 2', () => decodeKeyringPayload(withFields(encodeKeyringPayload({ version: 1, issuedAt: NOW, issuers: [cert] }), { 0: 2 })), 'keyring: unsupported version'],
  ['a keyring of version 0', () => decodeKeyringPayload(withFields(encodeKeyringPayload({ version: 1, issuedAt: NOW, issuers: [cert] }), { 1: 0 })), 'keyring: field 1 must be an integer 1..9007199254740991'],
  ['repeated kids', () => decodeKeyringPayload(keyring([certMap({}), certMap({})])), 'keyring: kids repeat'],
  ['a thief kind', () => decodeKeyringPayload(keyring([certMap({ 4: ['thief'] })])), 'keyring issuers[0].kinds[0] is not a grant kind'],
  ['a numeric kind', () => decodeKeyringPayload(keyring([certMap({}), certMap({ 0: 'b', 4: ['guest', 1] })])), 'keyring issuers[1].kinds[1] is not a grant kind'],
  ['repeated kinds', () => decodeKeyringPayload(keyring([certMap({ 4: ['guest', 'guest'] })])), 'keyring issuers[0]: kinds repeat'],
  ['a certificate ending as it starts', () => decodeKeyringPayload(keyring([certMap({ 3: NOW })])), 'keyring issuers[0]: notAfter must be after notBefore'],
  ['a certificate that is no map', () => decodeKeyringPayload(keyring([1])), 'keyring issuers[0]: expected a map'],
  ['a revocation list of version 2', () => decodeRevocationsPayload(withFields(encodeRevocationsPayload({ version: 1, issuedAt: NOW, grantIds: [], kids: [] }), { 0: 2 })), 'revocations: unsupported version'],
  ['a short revoked id', () => decodeRevocationsPayload(withFields(encodeRevocationsPayload({ version: 1, issuedAt: NOW, grantIds: [], kids: [] }), { 3: [new Uint8Array(16), new Uint8Array(3)] })), 'revocations grantIds[1] must be 16 bytes'],
  ['a signed time of version 3', () => decodeSignedTimePayload(withFields(encodeSignedTimePayload({ kid: 'a', time: NOW }), { 0: 3 })), 'signed time: unsupported version'],
  ['a root time of version 2', () => decodeRootTimePayload(withFields(encodeRootTimePayload({ version: 1, hubId: 'h', time: NOW }), { 0: 2 })), 'root time: unsupported version'],
  // command
  ['a command of version 2', () => decodeCommandPayload(withFields(command(), { 0: 2 })), 'command: unsupported version'],
  ['a command ending as it is issued', () => decodeCommandPayload(withFields(command(), { 6: NOW })), 'command: notAfter must be after issuedAt'],
  ['a command valid 10 min + 1 ms', () => decodeCommandPayload(withFields(command(), { 6: NOW + 600_001 })), 'command: valid for at most 10 minutes'],
  // envelope
  ['an envelope of one item', () => openEnvelope(encodeCanonical([new Uint8Array(1)]), 1024), 'a signed message is an array of [payload, signature]'],
  ['an envelope that is a map', () => openEnvelope(encodeCanonical(new Map<number, CborValue>([[0, 1], [1, 2]])), 1024), 'a signed message is an array of [payload, signature]'],
  ['a text payload', () => openEnvelope(encodeCanonical(['payload', new Uint8Array(64)]), 1024), 'payload must be a byte string'],
  ['a 63-byte signature', () => openEnvelope(encodeCanonical([new Uint8Array(1), new Uint8Array(63)]), 1024), 'signature must be 64 bytes'],
  ['a text signature', () => openEnvelope(encodeCanonical([new Uint8Array(1), 'x'.repeat(64)]), 1024), 'signature must be 64 bytes'],
  // keys
  ['a 31-byte public key', () => publicKeyObject(new Uint8Array(31)), 'an Ed25519 public key is 32 bytes, got 31'],
  ['a 33-byte seed', () => signingKeyFromSeed(new Uint8Array(33)), 'an Ed25519 seed is 32 bytes, got 33'],
];

describe('decoder refusals, word for word', () => {
  it.each(cases)('%s', (_what, run, message) => {
    expect(run).toThrow(message);
    try {
      run();
    } catch (err) {
      expect((err as Error).message).toBe(message);
    }
  });

  it('the field reader names its own rules: known keys 0..30, item readers, lengths', () => {
    expect(() => knownFields(31)).toThrow('field keys are 0..30, got 31');
    expect(() => knownFields(-1)).toThrow('field keys are 0..30, got -1');
    expect(() => knownFields(1.5)).toThrow('field keys are 0..30, got 1.5');
    const r = new FieldReader(new Map<number, CborValue>([[0, 'abc'], [1, 5], [30, new Uint8Array(2)]]), 'thing', knownFields(0, 1, 30));
    expect(() => r.text(0, 2)).toThrow('thing: field 0 must be text of 1..2 characters');
    expect(r.text(0, 3)).toBe('abc');
    expect(() => r.int(1, 6, 9)).toThrow('thing: field 1 must be an integer 6..9');
    expect(() => r.int(1, 1, 4)).toThrow('thing: field 1 must be an integer 1..4');
    expect(r.int(1, 5, 5)).toBe(5);
    expect(() => r.uint(1, 4)).toThrow('thing: field 1 must be an integer 0..4');
    expect(r.uint(1, 5)).toBe(5);
    expect(() => r.bytes(30, 3)).toThrow('thing: field 30 must be 3 bytes');
    expect(() => r.array(1, 0, 1, (v) => v)).toThrow('thing: field 1 must be an array of 0..1 items');
    expect(() => r.oneOf(1, ['a'])).toThrow('thing: field 1 must be one of a');
    expect(r.raw(30)).toEqual(new Uint8Array(2));
    expect(() => textItem('list', 2)('abc', 4)).toThrow('list[4] must be text of 1..2 characters');
    expect(() => bytesItem('ids', 2)('ab', 3)).toThrow('ids[3] must be 2 bytes');
  });
});

describe('a handheld’s reasons for refusing a receipt', () => {
  const hub = seededKey(9);
  const expected = { hubId: 'kh-1', grantId: new Uint8Array(16) };
  it('names the signature, the hub, the grant and a malformed receipt', () => {
    expect(verifyReceipt(signReceipt(receipt, seededKey(10)), hub.publicKey, expected)).toEqual({ ok: false, reason: 'signature does not verify' });
    expect(verifyReceipt(signReceipt({ ...receipt, hubId: 'kh-2' }, hub), hub.publicKey, expected)).toEqual({ ok: false, reason: 'receipt is from hub kh-2' });
    expect(verifyReceipt(signReceipt({ ...receipt, grantId: new Uint8Array(16).fill(1) }, hub), hub.publicKey, expected)).toEqual({ ok: false, reason: 'receipt is for another grant' });
    expect(verifyReceipt(new Uint8Array([0x80]), hub.publicKey, expected)).toEqual({ ok: false, reason: 'a signed message is an array of [payload, signature]' });
    expect(verifyReceipt(signReceipt(receipt, hub), hub.publicKey.subarray(0, 31), expected)).toEqual({ ok: false, reason: 'hub key refused: an Ed25519 public key is 32 bytes, got 31' });
    expect(verifyReceipt(signReceipt(receipt, hub), hub.publicKey, expected)).toMatchObject({ ok: true, receipt });
  });
});
