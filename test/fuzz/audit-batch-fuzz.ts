/**
 * Mutation fuzzing of the cloud link's `events` batches (protocols/audit/batch.ts), shared by the
 * short run in npm test (test/unit/audit-batch.test.ts) and the long one (`npm run fuzz:audit`).
 *
 * A case takes a real batch — entries chained and checkpoints signed by a hub key, encoded by the
 * outbox's encoder — mutates its bytes (flips, truncation, splices, copies) and checks:
 * - `decodePayload('events', …)` never throws;
 * - what it accepts is canonical CBOR to protocols/cbor's general strict decoder too, with the
 *   same structure (the dedicated reader is no laxer than the profile);
 * - fed to the cloud's verifier as sim/cloud does, it never throws, and every entry and checkpoint
 *   the verifier accepts is one the hub wrote (a change is never accepted as the original).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { BatchEncoder, type EventBatch } from '../../protocols/audit/batch.js';
import { ChainEncoder, GENESIS_HASH } from '../../protocols/audit/chain.js';
import { signCheckpoint, type Checkpoint } from '../../protocols/audit/checkpoint.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { ChainVerifier } from '../../protocols/audit/verify.js';
import { decodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { decodePayload } from '../../protocols/mqtt/contract.js';

/** A store row with its body and hash as bytes (the other form a BatchRow takes is hex). */
type ByteRow = [seq: number, wallMs: number, monoMs: number, type: string, body: Uint8Array, hash: Uint8Array];

export const FUZZ_HUB = 'kh-00112233aabbccdd';

const EVENTS: AuditEvent[] = [
  { type: 'boot', body: { version: '0.1.0', uncleanBefore: 1 } },
  { type: 'decision', body: { outcome: 'allow', reason: 0, transport: 'ble', grantId: 'ab'.repeat(16) } },
  { type: 'bolt', body: { state: 'unlocked', by: 'grant' } },
  { type: 'door', body: { state: 'open' } },
  { type: 'config.change', body: { paths: ['cloud.url', 'audit.checkpointEvery'], by: 'cli' } },
  { type: 'door', body: { state: 'closed' } },
  { type: 'bolt', body: { state: 'locked', by: 'relock-timer' } },
  { type: 'clip', body: { clipId: 'clip-000001', state: 'finished', visitId: 'cd'.repeat(8) } },
];

export interface BatchFixture {
  publicKey: KeyObject;
  /** The batch as the hub's outbox encodes it: seq 1..n from the genesis, checkpoints at 3 and 6. */
  bytes: Uint8Array;
  batch: EventBatch;
  /** The second half of the same chain as a batch of its own (a batch that starts mid-chain). */
  tail: Uint8Array;
}

export function batchFixture(): BatchFixture {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const encoder = new ChainEncoder();
  const rows: ByteRow[] = [];
  const checkpoints: Checkpoint[] = [];
  let prev: Uint8Array = GENESIS_HASH;
  const prevs: Uint8Array[] = [];
  EVENTS.forEach((event, i) => {
    const seq = i + 1;
    const record = { seq, wallMs: 1_764_061_200_000 + i * 1000, monoMs: 5000 + i, event };
    const { hash, body } = encoder.chain(prev, record);
    rows.push([seq, record.wallMs, record.monoMs, event.type, new Uint8Array(body), new Uint8Array(hash)]);
    encoder.release();
    prevs.push(prev);
    prev = new Uint8Array(hash);
    if (seq % 3 === 0) checkpoints.push(signCheckpoint({ hubId: FUZZ_HUB, seq, headHash: prev, wallMs: record.wallMs }, privateKey));
  });
  const batchEncoder = new BatchEncoder();
  const bytes = batchEncoder.encodeRows(FUZZ_HUB, GENESIS_HASH, rows, checkpoints).bytes;
  const tail = batchEncoder.encodeRows(FUZZ_HUB, prevs[4] as Uint8Array, rows.slice(4), checkpoints.filter((c) => c.seq > 4)).bytes;
  const batch: EventBatch = {
    hubId: FUZZ_HUB,
    prevHash: GENESIS_HASH,
    entries: rows.map(([seq, wallMs, monoMs, type, body, hash]) => ({ seq, wallMs, monoMs, type, body, hash })),
    checkpoints,
  };
  return { publicKey, bytes, batch, tail };
}

export const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('copy' as const), from: fc.nat(), len: fc.integer({ min: 1, max: 200 }), to: fc.nat() }),
);
export type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

export function mutate(src: Uint8Array, m: Mutation): Uint8Array {
  const b = Buffer.from(src);
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(b);
      const i = m.at % out.length;
      out[i] = (out[i] as number) ^ m.xor;
      return out;
    }
    case 'truncate':
      return b.subarray(0, m.at % b.length);
    case 'splice': {
      const i = m.at % b.length;
      return Buffer.concat([b.subarray(0, i), m.bytes, b.subarray(i)]);
    }
    case 'copy': {
      const from = m.from % b.length;
      const piece = b.subarray(from, from + m.len);
      const to = m.to % b.length;
      return Buffer.concat([b.subarray(0, to), piece, b.subarray(to)]);
    }
  }
}

export type CaseOutcome = 'refused' | 'decoded' | 'verified';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * One case: throws (with the reason) if a property above fails; otherwise says how far the bytes got.
 * `fixture.batch` is the original, the only content the verifier may accept.
 */
export function checkBatchCase(fixture: BatchFixture, bytes: Uint8Array): CaseOutcome {
  const decoded = decodePayload('events', bytes);
  if (!decoded.ok) {
    if (typeof decoded.problem !== 'string' || decoded.problem.length === 0) throw new Error('a refusal without a problem');
    return 'refused';
  }
  const batch = decoded.value;
  let general: CborValue;
  try {
    general = decodeCanonical(bytes, { maxBytes: 1 << 20, maxDepth: 4 });
  } catch (err) {
    throw new Error(`decodeBatch accepted bytes the strict general decoder refuses: ${(err as Error).message}`, { cause: err });
  }
  const [v, hubId, prevHash, entries, checkpoints] = general as [number, string, Uint8Array, CborValue[][], CborValue[][]];
  const same =
    v === 1 &&
    hubId === batch.hubId &&
    hex(prevHash) === hex(batch.prevHash) &&
    entries.length === batch.entries.length &&
    entries.every((e, i) => {
      const d = batch.entries[i]!;
      return e[0] === d.seq && e[1] === d.wallMs && e[2] === d.monoMs && e[3] === d.type && hex(e[4] as Uint8Array) === hex(d.body) && hex(e[5] as Uint8Array) === hex(d.hash);
    }) &&
    checkpoints.length === batch.checkpoints.length &&
    checkpoints.every((c, i) => {
      const d = batch.checkpoints[i]!;
      return c[0] === d.seq && hex(c[1] as Uint8Array) === hex(d.headHash) && c[2] === d.wallMs && hex(c[3] as Uint8Array) === hex(d.signature);
    });
  if (!same) throw new Error('decodeBatch and the general decoder read different structures');

  // The cloud's verification, as sim/cloud/cloud.ts runs it.
  const verifier = new ChainVerifier({ publicKey: fixture.publicKey, hubId: FUZZ_HUB });
  const originals = new Map(fixture.batch.entries.map((e) => [e.seq, e]));
  const originalCheckpoints = new Map(fixture.batch.checkpoints.map((c) => [c.seq, c]));
  let prev = batch.prevHash;
  let accepted = 0;
  const pending = [...batch.checkpoints];
  for (const entry of batch.entries) {
    const implied = prev;
    prev = entry.hash;
    if (verifier.rawEvent(entry, implied, entry.hash) !== undefined) break;
    const o = originals.get(entry.seq);
    if (o === undefined || o.wallMs !== entry.wallMs || o.monoMs !== entry.monoMs || o.type !== entry.type || hex(o.body) !== hex(entry.body) || hex(o.hash) !== hex(entry.hash)) {
      // Only a forgery with a recomputed SHA-256 could get here: no mutation of bytes makes one.
      throw new Error(`the verifier accepted an entry the hub did not write: seq ${entry.seq}`);
    }
    accepted += 1;
    while (pending[0] !== undefined && pending[0].seq <= verifier.lastSeq) {
      const cp = pending.shift()!;
      if (verifier.checkpoint(cp) === undefined) {
        const o2 = originalCheckpoints.get(cp.seq);
        if (o2 === undefined || hex(o2.headHash) !== hex(cp.headHash) || o2.wallMs !== cp.wallMs || cp.hubId !== FUZZ_HUB) throw new Error(`a forged checkpoint at seq ${cp.seq} verified`);
      }
    }
  }
  return accepted > 0 ? 'verified' : 'decoded';
}
