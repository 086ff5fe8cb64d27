/**
 * Mutation fuzzing of every grant decoder, and of decide() behind them. Starts from valid signed
 * originals (a delivery over BLE, a recurring guest, a service visit over the cloud path, and the
 * trust documents: keyring, revocation list, signed time, receipt) and mutates them:
 *   flip      1–4 random bit flips anywhere (payload, signature, CBOR headers)
 *   truncate  cut at a random length
 *   extend    random bytes appended
 *   swap      two fields of the payload swapped or one replaced by another's value (kept signature)
 *   wrongkey  the untouched payload re-signed with a key that is not the signer's
 *   noncanon  the same value re-encoded non-canonically (long-form ints and lengths, indefinite
 *             lengths, unsorted or repeated keys, floats for ints, an unknown field) and re-signed
 *             with the RIGHT key: only the decoder's strictness stands between it and acceptance
 *   domain    the payload re-signed with the right key under another message kind's prefix
 * A case is "accepted" when a mutant that differs from its original passes (decide() allows, or a
 * trust document opens, verifies and decodes); "crashed" when anything throws. Target: 0 and 0.
 */
import { PublicKeyCache } from '../../hub/access/key-cache.js';
import { LocalTimes } from '../../hub/access/local-time.js';
import { decide, type DecideContext, type DecideStores } from '../../hub/access/decide.js';
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { publicKeyObject, signingKeyFromSeed, type SigningKey } from '../../protocols/grant/ed25519.js';
import { Domain, openEnvelope, seal, verifyEnvelope, type Domain as DomainName } from '../../protocols/grant/envelope.js';
import { signPresentation, signReceipt } from '../../protocols/grant/handheld.js';
import { decodeReceiptPayload } from '../../protocols/grant/receipt.js';
import { decodeGrantPayload } from '../../protocols/grant/grant.js';
import { decodePresentationPayload } from '../../protocols/grant/presentation.js';
import { makeIssuerCertificate, signCommand, signGrant, signKeyring, signRevocations, signTime } from '../../protocols/grant/issuer.js';
import { COMMAND_MAX_BYTES, decodeCommandPayload } from '../../protocols/grant/command.js';
import { decodeKeyringPayload, decodeRevocationsPayload, decodeSignedTimePayload } from '../../protocols/grant/trust.js';
import type { Issuer } from '../../hub/access/trust.js';

export const MUTATIONS = ['flip', 'truncate', 'extend', 'swap', 'wrongkey', 'noncanon', 'domain'] as const;
type Mutation = (typeof MUTATIONS)[number];

export interface FuzzReport {
  tried: number;
  accepted: number;
  crashed: number;
  originalsAccepted: number;
  originals: number;
  byMutation: Record<Mutation, number>;
  firstCrash?: string;
  firstAccepted?: string;
}

/** mulberry32: a seeded PRNG, so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);
const HOUR = 3_600_000;
const key = (b: number): SigningKey => signingKeyFromSeed(new Uint8Array(32).fill(b));

interface DecideTarget {
  kind: 'decide';
  grant: Uint8Array;
  presentation: Uint8Array;
  ctx: DecideContext;
  grantKey: SigningKey;
  presenterKey: SigningKey;
}
interface DocTarget {
  kind: 'doc';
  bytes: Uint8Array;
  domain: DomainName;
  signer: SigningKey;
  decode: (payload: Uint8Array) => unknown;
  maxBytes: number;
}

/** The originals and the in-memory stores decide() reads (no SQLite: decide only reads). */
function setUp() {
  const root = key(1);
  const issuer = key(2);
  const courier = key(3);
  const hub = key(4);
  const challenge = new Uint8Array(32).fill(0xcc);
  const { certificate } = makeIssuerCertificate({ kid: 'cloud-1', key: issuer, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery', 'guest', 'service'] });
  const issuers = new Map<string, Issuer>([['cloud-1', { certificate, key: publicKeyObject(issuer.publicKey) }]]);
  const stores: DecideStores = {
    trust: { issuer: (kid) => issuers.get(kid), isGrantRevoked: () => false, isIssuerRevoked: () => false },
    replay: { usesOf: () => 0, challengeState: (nonce) => (Buffer.compare(nonce, challenge) === 0 ? 'fresh' : 'unknown') },
    floor: { floorMs: () => NOW - HOUR },
    localTimes: new LocalTimes(),
    subjectKeys: new PublicKeyCache(),
  };
  const policy = { clockSkewMs: 300_000, rssiFloorDbm: -70, home: { latE7: 525_200_000, lonE7: 134_050_000, radiusM: 50 } };
  const ctx = (transport: 'ble' | 'cloud'): DecideContext => ({
    now: NOW, hubId: 'kh-1', lockId: 'front', transport, rssiDbm: -50, deliveriesPaused: false, cameraHealthy: true, policy,
  });
  const base = { kid: 'cloud-1', hubId: 'kh-1', lockId: 'front', subjectId: 'c-1', subjectKey: courier.publicKey, notBefore: NOW - HOUR, notAfter: NOW + HOUR, maxEntryMs: 60_000, issuedAt: NOW - HOUR };
  const delivery = { ...base, id: new Uint8Array(16).fill(1), kind: 'delivery' as const, uses: 1, delivery: { orderId: 'o-1', packageIds: ['p-1', 'p-2'], addressDigest: new Uint8Array(32).fill(9) } };
  const guest = { ...base, id: new Uint8Array(16).fill(2), kind: 'guest' as const, uses: 3, recurring: { weekly: [{ day: 3, startMin: 0, endMin: 1440 }], tz: 'Europe/Berlin' } };
  const service = { ...base, id: new Uint8Array(16).fill(3), kind: 'service' as const, uses: 2 };
  const present = (id: Uint8Array, transport: 'ble' | 'cloud', packages: string[]) =>
    signPresentation({ grantId: id, challenge, transport, time: NOW, packages, ...(transport === 'cloud' ? { position: { latE7: 525_200_100, lonE7: 134_050_100, accuracyM: 5 } } : {}) }, courier);
  const decideTargets: DecideTarget[] = [
    { kind: 'decide', grant: signGrant(delivery, issuer), presentation: present(delivery.id, 'ble', ['p-1']), ctx: ctx('ble'), grantKey: issuer, presenterKey: courier },
    { kind: 'decide', grant: signGrant(guest, issuer), presentation: present(guest.id, 'ble', []), ctx: ctx('ble'), grantKey: issuer, presenterKey: courier },
    { kind: 'decide', grant: signGrant(service, issuer), presentation: present(service.id, 'cloud', []), ctx: ctx('cloud'), grantKey: issuer, presenterKey: courier },
  ];
  const docTargets: DocTarget[] = [
    { kind: 'doc', bytes: signKeyring({ version: 2, issuedAt: NOW, issuers: [certificate] }, root), domain: Domain.keyring, signer: root, decode: decodeKeyringPayload, maxBytes: 16384 },
    { kind: 'doc', bytes: signRevocations({ version: 2, issuedAt: NOW, grantIds: [delivery.id], kids: ['old'] }, root), domain: Domain.revocations, signer: root, decode: decodeRevocationsPayload, maxBytes: 65536 },
    { kind: 'doc', bytes: signTime({ kid: 'cloud-1', time: NOW }, issuer), domain: Domain.time, signer: issuer, decode: decodeSignedTimePayload, maxBytes: 256 },
    {
      kind: 'doc',
      bytes: signCommand({ kid: 'cloud-1', id: new Uint8Array(16).fill(5), hubId: 'kh-1', action: 'lock', issuedAt: NOW, notAfter: NOW + 120_000 }, issuer),
      domain: Domain.command,
      signer: issuer,
      decode: decodeCommandPayload,
      maxBytes: COMMAND_MAX_BYTES,
    },
    { kind: 'doc', bytes: signReceipt({ hubId: 'kh-1', grantId: delivery.id, visitId: new Uint8Array(16).fill(6), openedAt: NOW, decidedAt: NOW + 1, outcome: 'locked', relockedAt: NOW + 1, bolt: 'locked', door: 'closed', clip: { id: 'c', sha256: new Uint8Array(32).fill(2), bytes: 9 }, auditSeq: 3 }, hub), domain: Domain.receipt, signer: hub, decode: decodeReceiptPayload, maxBytes: 512 },
  ];
  return { stores, decideTargets, docTargets };
}

export function runGrantFuzz(options: { cases: number; seed: number }): FuzzReport {
  const rand = prng(options.seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const { stores, decideTargets, docTargets } = setUp();
  const wrongKeys = [key(66), key(67), key(68)];
  const report: FuzzReport = { tried: 0, accepted: 0, crashed: 0, originalsAccepted: 0, originals: 0, byMutation: Object.fromEntries(MUTATIONS.map((m) => [m, 0])) as Record<Mutation, number> };

  for (const t of decideTargets) {
    report.originals++;
    if (decide(t.grant, t.presentation, t.ctx, stores).allow) report.originalsAccepted++;
  }
  for (const t of docTargets) {
    report.originals++;
    if (docAccepts(t, t.bytes)) report.originalsAccepted++;
  }

  const mutate = (bytes: Uint8Array, domain: DomainName, signer: SigningKey, m: Mutation): Uint8Array => {
    switch (m) {
      case 'flip': {
        const out = Uint8Array.from(bytes);
        for (let i = 0, n = 1 + int(4); i < n; i++) {
          const at = int(out.length);
          out[at] = (out[at] as number) ^ (1 << int(8));
        }
        return out;
      }
      case 'truncate':
        return bytes.subarray(0, int(bytes.length));
      case 'extend':
        return Uint8Array.from([...bytes, ...Array.from({ length: 1 + int(8) }, () => int(256))]);
      case 'swap': {
        const env = openEnvelope(bytes, 1 << 16);
        const map = decodeCanonical(env.payload, { maxBytes: 1 << 16, maxDepth: 8 }) as Map<number, CborValue>;
        const keys = [...map.keys()];
        const a = keys[int(keys.length)] as number;
        const b = keys[int(keys.length)] as number;
        const copy = new Map(map);
        copy.set(a, map.get(b) as CborValue);
        if (rand() < 0.5) copy.set(b, map.get(a) as CborValue);
        return encodeCanonical([encodeCanonical(copy), env.signature]);
      }
      case 'wrongkey':
        return seal(domain, openEnvelope(bytes, 1 << 16).payload, wrongKeys[int(wrongKeys.length)] as SigningKey);
      case 'noncanon': {
        const value = decodeCanonical(openEnvelope(bytes, 1 << 16).payload, { maxBytes: 1 << 16, maxDepth: 8 });
        return seal(domain, nonCanonical(value, rand, true), signer);
      }
      case 'domain': {
        const others = Object.values(Domain).filter((d) => d !== domain);
        return seal(others[int(others.length)] as DomainName, openEnvelope(bytes, 1 << 16).payload, signer);
      }
    }
  };

  while (report.tried < options.cases) {
    const m = MUTATIONS[int(MUTATIONS.length)] as Mutation;
    // Counted once the mutant is known to differ from its original (a no-op mutation is not a case).
    const count = (): void => {
      report.byMutation[m]++;
      report.tried++;
    };
    try {
      if (rand() < 0.8) {
        const t = decideTargets[int(decideTargets.length)] as DecideTarget;
        const onGrant = rand() < 0.5;
        const target = onGrant ? t.grant : t.presentation;
        const mutant = onGrant
          ? mutate(target, Domain.grant, t.grantKey, m)
          : mutate(target, Domain.presentation, t.presenterKey, m);
        if (Buffer.compare(mutant, target) === 0) continue;
        count();
        // The decoders on their own first: decide() turns any decoding exception into a refusal
        // (fail secure), so a decoder bug would hide there; here anything but CborError is a crash.
        decodesOrRefuses(mutant, onGrant ? decodeGrantPayload : decodePresentationPayload);
        const d = onGrant ? decide(mutant, t.presentation, t.ctx, stores) : decide(t.grant, mutant, t.ctx, stores);
        if (d.allow) {
          report.accepted++;
          report.firstAccepted ??= `${m} on ${onGrant ? 'grant' : 'presentation'}: ${Buffer.from(mutant).toString('hex')}`;
        }
      } else {
        const t = docTargets[int(docTargets.length)] as DocTarget;
        const mutant = mutate(t.bytes, t.domain, t.signer, m);
        if (Buffer.compare(mutant, t.bytes) === 0) continue;
        count();
        if (docAccepts(t, mutant)) {
          report.accepted++;
          report.firstAccepted ??= `${m} on ${t.domain}: ${Buffer.from(mutant).toString('hex')}`;
        }
      }
    } catch (err) {
      count();
      report.crashed++;
      report.firstCrash ??= `${m}: ${(err as Error).stack ?? String(err)}`;
    }
  }
  return report;
}

function decodesOrRefuses(bytes: Uint8Array, decodePayload: (payload: Uint8Array) => unknown): void {
  try {
    decodePayload(openEnvelope(bytes, 1024).payload);
  } catch (err) {
    if (!(err instanceof CborError)) throw err;
  }
}

function docAccepts(t: DocTarget, bytes: Uint8Array): boolean {
  try {
    const env = openEnvelope(bytes, t.maxBytes);
    if (!verifyEnvelope(t.domain, env, publicKeyObject(t.signer.publicKey))) return false;
    t.decode(env.payload);
    return true;
  } catch (err) {
    if (err instanceof CborError) return false;
    throw err;
  }
}

/**
 * Encodes `value` with at least one deliberate deviation from the canonical form (RFC 8949 §4.2.1):
 * every header may be widened, containers may use indefinite lengths, map keys may be shuffled or
 * repeated, integers may become floats, and an unknown field may be added.
 */
export function nonCanonical(value: CborValue, rand: () => number, top = false): Uint8Array {
  const out: number[] = [];
  let deviated = false;
  const head = (major: number, n: number): void => {
    // The shortest form's size class (RFC 8949 §3: argument in the initial byte, or 1, 2, 4, 8
    // following bytes); widening moves to the next class, which is well-formed but not canonical.
    let size = n < 24 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000 ? 3 : 4;
    if (size < 4 && rand() < 0.15) {
      size++;
      deviated = true;
    }
    if (size === 0) out.push((major << 5) | n);
    else if (size === 1) out.push((major << 5) | 24, n);
    else if (size === 2) out.push((major << 5) | 25, n >> 8, n & 0xff);
    else if (size === 3) out.push((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    else {
      const hi = Math.floor(n / 0x100000000);
      out.push((major << 5) | 27, (hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    }
  };
  const walk = (v: CborValue): void => {
    if (typeof v === 'number') {
      if (rand() < 0.05) {
        deviated = true;
        const f = Buffer.alloc(9);
        f[0] = 0xfb;
        f.writeDoubleBE(v, 1);
        out.push(...f);
      } else if (v >= 0) head(0, v);
      else head(1, -1 - v);
    } else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      head(3, b.length);
      out.push(...b);
    } else if (v instanceof Uint8Array) {
      if (rand() < 0.05) {
        deviated = true;
        out.push(0x5f);
        head(2, v.length);
        out.push(...v, 0xff);
      } else {
        head(2, v.length);
        out.push(...v);
      }
    } else if (Array.isArray(v)) {
      const indefinite = rand() < 0.05;
      if (indefinite) {
        deviated = true;
        out.push(0x9f);
      } else head(4, v.length);
      for (const x of v as CborValue[]) walk(x);
      if (indefinite) out.push(0xff);
    } else if (v instanceof Map) {
      const entries = [...v.entries()];
      if (rand() < 0.1 && entries.length > 1) {
        deviated = true;
        entries.reverse();
      }
      if (rand() < 0.05 && entries.length > 0) {
        deviated = true;
        entries.push(entries[0] as [number, CborValue]);
      }
      if (top && rand() < 0.1) {
        deviated = true;
        entries.push([99, 0]);
      }
      head(5, entries.length);
      for (const [k, x] of entries) {
        walk(k);
        walk(x);
      }
    } else if (v === true) out.push(0xf5);
    else if (v === false) out.push(0xf4);
    else out.push(0xf6);
  };
  walk(value);
  // Guarantee at least one deviation: widen the outermost header.
  if (!deviated) return Uint8Array.from([...widenFirst(Uint8Array.from(out))]);
  return Uint8Array.from(out);
}

/** The same value with its first header in a longer form than needed. */
function widenFirst(bytes: Uint8Array): Uint8Array {
  const first = bytes[0] as number;
  const minor = first & 31;
  if (minor < 24) return Uint8Array.from([(first & 0xe0) | 24, minor, ...bytes.subarray(1)]);
  if (minor === 24) return Uint8Array.from([(first & 0xe0) | 25, 0, bytes[1] as number, ...bytes.subarray(2)]);
  return Uint8Array.from([...bytes, 0]); // trailing byte: also not canonical
}
