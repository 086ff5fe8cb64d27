/**
 * Offline grants: how much a decision costs beyond its signatures, and how long a durable consume
 * takes. All figures in one run, on the same keys; the baseline is a bare Ed25519 verify.
 *   verifyRawPerSec        crypto.verify (node:crypto, Ed25519 KeyObject) on a 200-byte message
 *   tweetnaclVerifyPerSec  tweetnacl's nacl.sign.detached.verify on the same message
 *   decideValidPerSec      decide() of a valid delivery grant + presentation (stores on :memory: SQLite)
 *   decideInvalidPerSec    decide() of a mix of invalid ones: expired, wrong hub, revoked, malformed
 *   consumeP99Ms           durable consume (synchronous=FULL, file database) of 10,000 grants, p99
 *   ratioValid = decideValid / verifyRaw (goal ≥ 0.45) · ratioInvalid = decideInvalid / verifyRaw (goal ≥ 20)
 *   decodeGrant{Own,Cborg}PerSec  the canonical decode of a grant payload, own reader vs. cborg-based
 *   npx tsx test/bench/grant.bench.ts      (last line: JSON)
 */
import { sign, verify } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import nacl from 'tweetnacl';
import { decide } from '../../hub/access/decide.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { decodeCanonicalWithCborg } from '../../protocols/cbor/cborg-strict.js';
import { publicKeyObject } from '../../protocols/grant/ed25519.js';
import { Domain, openEnvelope, seal } from '../../protocols/grant/envelope.js';
import { signRevocations } from '../../protocols/grant/issuer.js';
import { NOW, bleContext, deliveryGrant, makeWorld, visit } from '../support/grant-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { percentile, round } from './support.js';

const SECONDS = Number(process.env.GRANT_BENCH_SECONDS ?? 4);
const ROUNDS = 20;

/**
 * Calls per second of each function, measured in ROUNDS interleaved slices (a, b, c, a, b, c…) so
 * that a change in machine load during the run weighs on the baseline and the decisions alike.
 */
function rates<K extends string>(fns: Record<K, () => void>): Record<K, number> {
  const names = Object.keys(fns) as K[];
  const calls = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  const spent = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  for (const n of names) for (let i = 0; i < 20; i++) fns[n](); // warm up (JIT, caches)
  const slice = (SECONDS * 1000) / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of names) {
      const fn = fns[n];
      const start = performance.now();
      let elapsed = 0;
      let done = 0;
      while (elapsed < slice) {
        for (let i = 0; i < 10; i++) fn();
        done += 10;
        elapsed = performance.now() - start;
      }
      calls[n] += done;
      spent[n] += elapsed;
    }
  }
  return Object.fromEntries(names.map((n) => [n, calls[n] / (spent[n] / 1000)])) as Record<K, number>;
}

const world = await makeWorld(':memory:');
const message = new Uint8Array(200).fill(0x5a);
const signature = sign(null, message, world.issuer.privateKey);
const issuerKey = publicKeyObject(world.issuer.publicKey);
const ctx = bleContext();

let sink = 0;
const verifyRaw = (): void => {
  if (verify(null, message, issuerKey, signature)) sink++;
};
const tweetnaclVerify = (): void => {
  if (nacl.sign.detached.verify(message, signature, world.issuer.publicKey)) sink++;
};

const valid = visit(world);
// The codec choice: the profile's own strict reader vs. the same checks on cborg's decoder.
const grantPayload = openEnvelope(valid.grantBytes, 1024).payload;
const decodeOwn = (): void => {
  if (decodeCanonical(grantPayload, { maxBytes: 1024 }) !== null) sink++;
};
const decodeCborg = (): void => {
  if (decodeCanonicalWithCborg(grantPayload, { maxBytes: 1024 }) !== null) sink++;
};
const check = decide(valid.grantBytes, valid.presentationBytes, ctx, world.stores);
if (!check.allow) throw new Error(`the valid visit is refused: ${check.code} ${check.reason}`);
const decideValid = (): void => {
  if (decide(valid.grantBytes, valid.presentationBytes, ctx, world.stores).allow) sink++;
};

const expired = visit(world, { grant: { notBefore: NOW - 10_000_000, notAfter: NOW - 1 } });
const wrongHub = visit(world, { grant: { hubId: 'kh-elsewhere' } });
const revoked = visit(world);
world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [revoked.grant.id], kids: [] }, world.root));
// Malformed: the grant's payload with one field of the wrong type (the kind as an integer), re-signed.
const payload = new Map(decodeCanonical(openEnvelope(valid.grantBytes, 1024).payload, { maxBytes: 1024 }) as Map<number, CborValue>);
payload.set(5, 0);
const malformed = seal(Domain.grant, encodeCanonical(payload), world.issuer);
const invalid = [
  { ...expired, code: ErrorCode.GRANT_EXPIRED },
  { ...wrongHub, code: ErrorCode.WRONG_HUB },
  { ...revoked, code: ErrorCode.GRANT_REVOKED },
  { grantBytes: malformed, presentationBytes: valid.presentationBytes, code: ErrorCode.GRANT_MALFORMED },
];
for (const v of invalid) {
  const d = decide(v.grantBytes, v.presentationBytes, ctx, world.stores);
  if (d.allow || d.code !== v.code) throw new Error(`expected refusal ${v.code}, got ${d.allow ? 'allow' : d.code}`);
}
let k = 0;
const decideInvalid = (): void => {
  const v = invalid[k++ & 3] as (typeof invalid)[number];
  if (!decide(v.grantBytes, v.presentationBytes, ctx, world.stores).allow) sink++;
};
const measured = rates({ verifyRaw, decideValid, decideInvalid, tweetnaclVerify, decodeOwn, decodeCborg });
const { verifyRaw: verifyRawPerSec, decideValid: decideValidPerSec, decideInvalid: decideInvalidPerSec } = measured;
const { tweetnaclVerify: tweetnaclVerifyPerSec, decodeOwn: decodeOwnPerSec, decodeCborg: decodeCborgPerSec } = measured;

// Durable consume: a file database, synchronous=FULL at each commit, 10,000 distinct grants.
const dir = tempDir();
const fileWorld = await makeWorld(join(dir.path, 'keyhub.db'));
const CONSUMES = Number(process.env.GRANT_BENCH_CONSUMES ?? 10_000);
const requests = Array.from({ length: CONSUMES }, () => {
  const g = deliveryGrant(fileWorld);
  return { kid: g.kid, grantId: g.id, maxUses: 1, notAfter: g.notAfter, challenge: fileWorld.stores.replay.issueChallenge(NOW), now: NOW };
});
const latencies: number[] = [];
for (const req of requests) {
  const t0 = performance.now();
  const outcome = fileWorld.stores.replay.consume(req);
  latencies.push(performance.now() - t0);
  if (!outcome.ok) throw new Error('a fresh grant was refused');
}
fileWorld.close();
dir.cleanup();
world.close();

const result = {
  verifyRawPerSec: Math.round(verifyRawPerSec),
  tweetnaclVerifyPerSec: Math.round(tweetnaclVerifyPerSec),
  decideValidPerSec: Math.round(decideValidPerSec),
  decideInvalidPerSec: Math.round(decideInvalidPerSec),
  consumeP50Ms: round(percentile(latencies, 50), 3),
  consumeP99Ms: round(percentile(latencies, 99), 3),
  consumes: CONSUMES,
  ratioValid: round(decideValidPerSec / verifyRawPerSec, 3),
  ratioInvalid: round(decideInvalidPerSec / verifyRawPerSec, 2),
  decodeGrantOwnPerSec: Math.round(decodeOwnPerSec),
  decodeGrantCborgPerSec: Math.round(decodeCborgPerSec),
};
console.log(`Ed25519 verify, 200 B      node:crypto ${result.verifyRawPerSec}/s · tweetnacl ${result.tweetnaclVerifyPerSec}/s`);
console.log(`decide, valid delivery     ${result.decideValidPerSec}/s  (ratio to one verify ${result.ratioValid}, goal ≥ 0.45)`);
console.log(`decide, invalid mix        ${result.decideInvalidPerSec}/s  (ratio to one verify ${result.ratioInvalid}, goal ≥ 20)`);
console.log(`canonical decode of a grant ${result.decodeGrantOwnPerSec}/s own reader · ${result.decodeGrantCborgPerSec}/s on cborg's decoder`);
console.log(`durable consume (FULL)     p50 ${result.consumeP50Ms} ms · p99 ${result.consumeP99Ms} ms over ${CONSUMES} grants (goal p99 ≤ 20 ms)`);
if (sink < 0) console.log(sink);
console.log(JSON.stringify(result));
