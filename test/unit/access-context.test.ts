/**
 * Numbers that are not numbers. A NaN compares false with everything, so a check written as
 * "refuse when below" passes it; Infinity and values out of their real-world range do the same
 * harm in other checks. decide() refuses them in its context, and the decoders in messages.
 */
import { encode as cborgEncode } from 'cborg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decide, type DecideContext } from '../../hub/access/decide.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { MAX_TIME_MS } from '../../protocols/cbor/fields.js';
import { decodeCommandPayload, encodeCommandPayload } from '../../protocols/grant/command.js';
import { decodeGrantPayload, encodeGrantPayload } from '../../protocols/grant/grant.js';
import { decodePresentationPayload, encodePresentationPayload } from '../../protocols/grant/presentation.js';
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
import { HOME, NOW, POLICY, bleContext, deliveryGrant, makeWorld, seededKey, visit, type World } from '../support/grant-fixture.js';

let world: World;
beforeEach(async () => {
  world = await makeWorld();
});
afterEach(() => world.close());

const decision = (ctx: DecideContext, v = visit(world)) => decide(v.grantBytes, v.presentationBytes, ctx, world.stores);
const codeOf = (ctx: DecideContext, v = visit(world)) => {
  const d = decision(ctx, v);
  return d.allow ? 'allow' : d.code;
};
const cloud = (over: Partial<DecideContext> = {}) => bleContext({ transport: 'cloud', rssiDbm: undefined, ...over });
const atHome = () => visit(world, { presentation: { transport: 'cloud', position: { latE7: HOME.latE7, lonE7: HOME.lonE7, accuracyM: 5 } } });

describe('decide: the measured BLE signal', () => {
  it.each([
    ['NaN', Number.NaN],
    ['+Infinity', Number.POSITIVE_INFINITY],
    ['127 ("not available")', 127],
    ['21 dBm, above what a controller reports', 21],
    ['−128 dBm, below it', -128],
    ['the text "-50"', '-50' as unknown as number],
  ])('refuses %s as no measurement at all (SIGNAL_TOO_WEAK)', (_what, rssiDbm) => {
    const lenient = bleContext({ rssiDbm, policy: { ...POLICY, rssiFloorDbm: -127 } });
    const d = decision(lenient);
    expect(d).toEqual({ allow: false, code: ErrorCode.SIGNAL_TOO_WEAK, reason: `BLE signal ${String(rssiDbm)} is not a measurement in dBm` });
  });

  it('takes −127 and +20 dBm, the ends of the range, as measurements', () => {
    const lenient = (rssiDbm: number) => bleContext({ rssiDbm, policy: { ...POLICY, rssiFloorDbm: -127 } });
    expect(codeOf(lenient(-127))).toBe('allow');
    expect(codeOf(lenient(20))).toBe('allow');
  });

  it('says "unknown" for a signal that was not measured', () => {
    expect(decision(bleContext({ rssiDbm: undefined }))).toMatchObject({ code: ErrorCode.SIGNAL_TOO_WEAK, reason: 'BLE signal unknown is not a measurement in dBm' });
  });
});

describe('decide: the hub’s clock, flags and policy (CONTEXT_INVALID)', () => {
  const bad: Array<[string, Partial<DecideContext>]> = [
    ['a NaN clock', { now: Number.NaN }],
    ['an infinite clock', { now: Number.POSITIVE_INFINITY }],
    ['a clock before the epoch', { now: -1 }],
    ['a fractional clock', { now: NOW + 0.5 }],
    ['a clock past the last Date', { now: MAX_TIME_MS + 1 }],
    ['a deliveriesPaused that is not a boolean', { deliveriesPaused: undefined as unknown as boolean }],
    ['a cameraHealthy that is not a boolean', { cameraHealthy: 'yes' as unknown as boolean }],
    ['a NaN skew', { policy: { ...POLICY, clockSkewMs: Number.NaN } }],
    ['a negative skew', { policy: { ...POLICY, clockSkewMs: -1 } }],
    ['a skew over an hour', { policy: { ...POLICY, clockSkewMs: 3_600_001 } }],
    ['a NaN RSSI floor', { policy: { ...POLICY, rssiFloorDbm: Number.NaN } }],
    ['an RSSI floor given as text', { policy: { ...POLICY, rssiFloorDbm: '-70' as unknown as number } }],
    ['a skew given as text', { policy: { ...POLICY, clockSkewMs: '300000' as unknown as number } }],
    ['a home radius given as text', { policy: { ...POLICY, home: { ...HOME, radiusM: '50' as unknown as number } } }],
    ['a clock given as text', { now: String(NOW) as unknown as number }],
    ['an RSSI floor below −127 dBm', { policy: { ...POLICY, rssiFloorDbm: -128 } }],
    ['an RSSI floor above +20 dBm', { policy: { ...POLICY, rssiFloorDbm: 21 } }],
    ['a NaN home latitude', { policy: { ...POLICY, home: { ...HOME, latE7: Number.NaN } } }],
    ['a home latitude beyond 90°', { policy: { ...POLICY, home: { ...HOME, latE7: 900_000_001 } } }],
    ['a home longitude beyond 180°', { policy: { ...POLICY, home: { ...HOME, lonE7: -1_800_000_001 } } }],
    ['a fractional home longitude', { policy: { ...POLICY, home: { ...HOME, lonE7: 0.5 } } }],
    ['an infinite home radius', { policy: { ...POLICY, home: { ...HOME, radiusM: Number.POSITIVE_INFINITY } } }],
    ['a negative home radius', { policy: { ...POLICY, home: { ...HOME, radiusM: -1 } } }],
    ['a home radius over 100 km', { policy: { ...POLICY, home: { ...HOME, radiusM: 100_001 } } }],
  ];
  it.each(bad)('refuses %s before reading anything else', (_what, over) => {
    expect(codeOf(bleContext(over))).toBe(ErrorCode.CONTEXT_INVALID);
    expect(codeOf(cloud(over), atHome())).toBe(ErrorCode.CONTEXT_INVALID);
  });

  it('names the value in the reason', () => {
    expect(decision(bleContext({ now: Number.NaN }))).toEqual({ allow: false, code: ErrorCode.CONTEXT_INVALID, reason: "the hub's clock reads NaN, not a time in ms since the epoch" });
    expect(decision(bleContext({ policy: { ...POLICY, home: { ...HOME, radiusM: Number.POSITIVE_INFINITY } } }))).toMatchObject({ reason: 'policy home radiusM Infinity is not 0..100000' });
  });

  it('takes every end of every range', () => {
    world.floor.raise(0, 'grant');
    const edges: Array<Partial<DecideContext>> = [
      { policy: { ...POLICY, clockSkewMs: 0 } },
      { policy: { ...POLICY, clockSkewMs: 3_600_000 } },
      { policy: { ...POLICY, rssiFloorDbm: -127 } },
      { policy: { ...POLICY, home: { latE7: 900_000_000, lonE7: 1_800_000_000, radiusM: 0 } } },
      { policy: { ...POLICY, home: { latE7: -900_000_000, lonE7: -1_800_000_000, radiusM: 100_000 } } },
    ];
    for (const over of edges) expect(codeOf(bleContext(over))).toBe('allow');
    expect(codeOf(bleContext({ now: 0 }))).toBe(ErrorCode.CLOCK_UNTRUSTED);
    expect(codeOf(bleContext({ now: MAX_TIME_MS }))).toBe(ErrorCode.GRANT_EXPIRED);
  });
});

describe('decoders: times within the Date range', () => {
  const map = (bytes: Uint8Array) => new Map(decodeCanonical(bytes, { maxBytes: 1 << 16 }) as Map<number, CborValue>);
  const withField = (bytes: Uint8Array, key: number, value: CborValue) => {
    const m = map(bytes);
    m.set(key, value);
    return encodeCanonical(m);
  };
  const courier = seededKey(3);
  const grant = encodeGrantPayload(deliveryGrant({ courier }));
  const cert = { kid: 'a', publicKey: seededKey(2).publicKey, notBefore: NOW, notAfter: NOW + 1, kinds: ['delivery' as const] };
  const cases: Array<[string, (t: number) => unknown]> = [
    ['a grant notAfter', (t) => decodeGrantPayload(withField(grant, 9, t))],
    ['a grant issuedAt', (t) => decodeGrantPayload(withField(grant, 12, t))],
    ['a presentation time', (t) => decodePresentationPayload(withField(encodePresentationPayload({ grantId: new Uint8Array(16), challenge: new Uint8Array(32), transport: 'ble', time: NOW, packages: [] }), 4, t))],
    ['a receipt relockedAt', (t) => decodeReceiptPayload(withField(encodeReceiptPayload({ hubId: 'h', grantId: new Uint8Array(16), visitId: new Uint8Array(16).fill(2), openedAt: NOW, decidedAt: NOW, outcome: 'locked', relockedAt: NOW, bolt: 'locked', door: 'closed', auditSeq: 1 }), 7, t))],
    ['a receipt openedAt', (t) => decodeReceiptPayload(withField(withField(withField(encodeReceiptPayload({ hubId: 'h', grantId: new Uint8Array(16), visitId: new Uint8Array(16).fill(2), openedAt: NOW, decidedAt: NOW, outcome: 'locked', relockedAt: NOW, bolt: 'locked', door: 'closed', auditSeq: 1 }), 7, t), 5, t), 4, t))],
    ['a keyring issuedAt', (t) => decodeKeyringPayload(withField(encodeKeyringPayload({ version: 1, issuedAt: NOW, issuers: [cert] }), 2, t))],
    ['a certificate notAfter', (t) => decodeKeyringPayload(encodeCanonical(new Map<number, CborValue>([[0, 1], [1, 1], [2, NOW], [3, [new Map<number, CborValue>([[0, 'a'], [1, cert.publicKey], [2, NOW], [3, t], [4, ['delivery']]])]]])))],
    ['a revocation list issuedAt', (t) => decodeRevocationsPayload(withField(encodeRevocationsPayload({ version: 1, issuedAt: NOW, grantIds: [], kids: [] }), 2, t))],
    ['a signed time', (t) => decodeSignedTimePayload(withField(encodeSignedTimePayload({ kid: 'a', time: NOW }), 2, t))],
    ['a root time', (t) => decodeRootTimePayload(withField(encodeRootTimePayload({ version: 1, hubId: 'h', time: NOW }), 3, t))],
    ['a command notAfter', (t) => decodeCommandPayload(withField(withField(encodeCommandPayload({ kid: 'a', id: new Uint8Array(16), hubId: 'h', action: 'lock', issuedAt: NOW, notAfter: NOW + 1 }), 5, t - 1), 6, t))],
  ];
  it.each(cases)('refuses %s after the last instant a Date can name, and takes that instant', (_what, decodeAt) => {
    expect(() => decodeAt(MAX_TIME_MS + 1)).toThrow(CborError);
    expect(() => decodeAt(MAX_TIME_MS)).not.toThrow();
  });

  it('refuses a grant whose window opens after the last instant a Date can name', () => {
    expect(() => decodeGrantPayload(withField(withField(grant, 9, MAX_TIME_MS + 2), 8, MAX_TIME_MS + 1))).toThrow('grant: field 8 must be an integer 0..8640000000000000');
  });

  it('refuses a NaN, an infinity or a fraction in a position: the encoding has no floats', () => {
    const payload = encodePresentationPayload({ grantId: new Uint8Array(16), challenge: new Uint8Array(32), transport: 'cloud', time: NOW, packages: [], position: { latE7: 1, lonE7: 2, accuracyM: 3 } });
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 0.5]) {
      const m = map(payload);
      m.set(6, [1, 2, bad]);
      expect(() => decodePresentationPayload(cborgEncode(m))).toThrow(CborError);
    }
  });
});
