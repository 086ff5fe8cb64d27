/**
 * `npm run fuzz:audit [-- --cases N --seed S]`: the long mutation run (default 200,000 cases) over
 * the audit's parsers and verifier and the MQTT payload decoders. Each case mutates a valid export
 * (JSON lines or CBOR: byte flips, truncation, splices, duplicated or dropped records) or a valid
 * `events` batch (CBOR, test/fuzz/audit-batch-fuzz.ts) or `acks` payload. A case "crashes" if a
 * parser throws; it is "accepted" if a mutated export whose records differ from the original
 * verifies, or if a mutated batch breaks one of audit-batch-fuzz.ts's properties (the decoder
 * laxer than the canonical profile, or the cloud's verifier accepting an entry the hub did not write). Last line: one JSON object; exits 1 unless both
 * are 0 and the unmodified originals verify.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { chainRecord, GENESIS_HASH, type ChainedRecord } from '../../protocols/audit/chain.js';
import { signCheckpoint } from '../../protocols/audit/checkpoint.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { encodeRecord, parseExport, type ExportFormat } from '../../protocols/audit/export-file.js';
import { verifyExport } from '../../protocols/audit/verify.js';
import { toWireCheckpoint, toWireEvent, type WireRecord } from '../../protocols/audit/wire.js';
import { decodePayload, encodePayload } from '../../protocols/mqtt/contract.js';
import { batchFixture, checkBatchCase, mutate, mutation } from './audit-batch-fuzz.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const cases = arg('cases', 200_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const HUB = 'kh-00112233aabbccdd';

const events: AuditEvent[] = [
  { type: 'boot', body: { version: '0.1.0', uncleanBefore: 1 } },
  { type: 'decision', body: { outcome: 'allow', reason: 0, transport: 'ble', grantId: 'ab'.repeat(16) } },
  { type: 'bolt', body: { state: 'unlocked', by: 'grant' } },
  { type: 'door', body: { state: 'open' } },
  { type: 'door', body: { state: 'closed' } },
  { type: 'bolt', body: { state: 'locked', by: 'relock-timer' } },
];
const records: ChainedRecord[] = [];
let prev = GENESIS_HASH;
events.forEach((event, i) => {
  const r = chainRecord(prev, { seq: i + 1, wallMs: 1_764_061_200_000 + i, monoMs: 1000 + i, event });
  records.push(r);
  prev = r.hash;
});
const lines: WireRecord[] = [{ kind: 'header', format: 'keyhub-audit-export', v: 1, hubId: HUB, from: 1, to: 6, exportedAtMs: 0 }];
for (const r of records) {
  lines.push(toWireEvent(r));
  if (r.seq % 3 === 0) lines.push(toWireCheckpoint(signCheckpoint({ hubId: HUB, seq: r.seq, headHash: r.hash, wallMs: r.wallMs }, privateKey)));
}
const originals = (['jsonl', 'cbor'] as ExportFormat[]).map((f) => Buffer.concat(lines.map((l) => encodeRecord(l, f))));
const batches = batchFixture();
const ack = encodePayload('acks', { through: 6, hash: 'ab'.repeat(32) });

const signature = (bytes: Uint8Array): string => {
  const recs = parseExport(bytes).flatMap((p) => (p.kind === 'record' && p.record.kind !== 'header' ? [JSON.stringify(p.record)] : []));
  return recs.join('\n');
};
const originalSignatures = originals.map(signature);


const started = performance.now();
const batchOriginals = [batches.bytes, batches.tail];
const total = {
  tried: 0,
  accepted: 0,
  crashed: 0,
  batchesVerified: 0,
  originalsVerified: originals.filter((o) => verifyExport(parseExport(o), publicKey).ok).length + batchOriginals.filter((b) => checkBatchCase(batches, b) === 'verified').length,
  originals: originals.length + batchOriginals.length,
};
let firstProblem: string | undefined;
const samples = fc.sample(fc.tuple(fc.nat({ max: 4 }), mutation), { numRuns: cases, seed });
for (const [which, m] of samples) {
  total.tried += 1;
  try {
    if (which < 2) {
      const bytes = mutate(originals[which] as Uint8Array, m);
      const result = verifyExport(parseExport(bytes), publicKey);
      if (result.ok && signature(bytes) !== originalSignatures[which]) {
        total.accepted += 1;
        firstProblem ??= `accepted: ${Buffer.from(bytes).toString('hex').slice(0, 400)}`;
      }
    } else if (which < 4) {
      // A property failure of a batch is an acceptance of something forged or off the profile.
      let outcome: string;
      try {
        outcome = checkBatchCase(batches, mutate(batchOriginals[which - 2] as Uint8Array, m));
      } catch (err) {
        total.accepted += 1;
        firstProblem ??= `batch: ${(err as Error).message}`;
        continue;
      }
      if (outcome === 'verified') total.batchesVerified += 1;
    } else {
      decodePayload('acks', mutate(ack, m));
    }
  } catch (err) {
    total.crashed += 1;
    firstProblem ??= `crash: ${(err as Error).stack ?? String(err)}`;
  }
  if (total.tried % 50_000 === 0) console.log(`… ${total.tried} tried, ${total.accepted} accepted, ${total.crashed} crashed`);
}
const seconds = (performance.now() - started) / 1000;
console.log(`seed ${seed}: tried ${total.tried}, accepted ${total.accepted}, crashed ${total.crashed}; originals verified ${total.originalsVerified}/${total.originals}; ${seconds.toFixed(1)} s`);
if (firstProblem !== undefined) console.log(firstProblem);
console.log(JSON.stringify({ seed, ...total, seconds: Math.round(seconds * 10) / 10 }));
process.exit(total.accepted === 0 && total.crashed === 0 && total.originalsVerified === total.originals ? 0 : 1);
