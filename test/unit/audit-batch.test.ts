import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchEncoder, decodeBatch, encodeBatch, MAX_BATCH_CHECKPOINTS, MAX_BATCH_EVENTS, type EventBatch } from '../../protocols/audit/batch.js';
import { canonicalEncode } from '../../protocols/audit/canonical.js';
import { canonicalRecord, chainHash, ChainEncoder, GENESIS_HASH } from '../../protocols/audit/chain.js';
import { signCheckpoint, type Checkpoint } from '../../protocols/audit/checkpoint.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { checkRawBody, RawEntryHasher } from '../../protocols/audit/raw-entry.js';
import { ChainVerifier, type ChainBreak } from '../../protocols/audit/verify.js';
import { decodeCanonical, encodeCanonical, type CborValue } from '../../protocols/cbor/canonical.js';
import { decodePayload, encodePayload, TOPICS } from '../../protocols/mqtt/contract.js';
import { batchFixture, checkBatchCase, mutate, mutation } from '../fuzz/audit-batch-fuzz.js';
import { FIXTURE_HUB_ID, VISIT_EVENTS } from '../support/audit-events.js';

/** A store row with its body and hash as bytes (the other form a BatchRow takes is hex). */
type ByteRow = [seq: number, wallMs: number, monoMs: number, type: string, body: Uint8Array, hash: Uint8Array];

const HUB = FIXTURE_HUB_ID;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const EVENTS = VISIT_EVENTS;

/** Rows as the store hands them over, chained from `prev`, with a checkpoint every `every`. */
function rowsOf(events: readonly AuditEvent[], startSeq = 1, prev: Uint8Array = GENESIS_HASH, every = 4): { rows: ByteRow[]; checkpoints: Checkpoint[]; prev: Uint8Array } {
  const encoder = new ChainEncoder();
  const rows: ByteRow[] = [];
  const checkpoints: Checkpoint[] = [];
  const first = prev;
  events.forEach((event, i) => {
    const seq = startSeq + i;
    const record = { seq, wallMs: 1_764_061_200_000 + i * 1000, monoMs: 5000 + i, event };
    const { hash, body } = encoder.chain(prev, record);
    rows.push([seq, record.wallMs, record.monoMs, event.type, new Uint8Array(body), new Uint8Array(hash)]);
    encoder.release();
    prev = new Uint8Array(hash);
    if (seq % every === 0) checkpoints.push(signCheckpoint({ hubId: HUB, seq, headHash: prev, wallMs: record.wallMs }, privateKey));
  });
  return { rows, checkpoints, prev: first };
}

function batchOf(events: readonly AuditEvent[] = EVENTS, startSeq = 1, prev: Uint8Array = GENESIS_HASH): EventBatch {
  const { rows, checkpoints } = rowsOf(events, startSeq, prev);
  return { hubId: HUB, prevHash: prev, entries: rows.map(([seq, wallMs, monoMs, type, body, hash]) => ({ seq, wallMs, monoMs, type, body, hash })), checkpoints };
}

/** The batch through the general canonical encoder: what the fast one must write, byte for byte. */
function generalEncoding(b: EventBatch): Uint8Array {
  return encodeCanonical([
    1,
    b.hubId,
    b.prevHash,
    b.entries.map((e) => [e.seq, e.wallMs, e.monoMs, e.type, e.body, e.hash]),
    b.checkpoints.map((c) => [c.seq, c.headHash, c.wallMs, c.signature]),
  ]);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Runs a decoded batch through the verifier as sim/cloud does; the first break, if any. */
function verifyBatch(batch: EventBatch, verifier = new ChainVerifier({ publicKey, hubId: HUB })): ChainBreak | undefined {
  let prev = batch.prevHash;
  const pending = [...batch.checkpoints];
  for (const entry of batch.entries) {
    const implied = prev;
    prev = entry.hash;
    const broken = verifier.rawEvent(entry, implied, entry.hash);
    if (broken !== undefined) return broken;
    while (pending[0] !== undefined && pending[0].seq <= verifier.lastSeq) {
      const b = verifier.checkpoint(pending.shift()!);
      if (b !== undefined) return b;
    }
  }
  return undefined;
}

describe('the audit batch format (the events payload)', () => {
  it('round-trips a batch of entries and checkpoints through the contract', () => {
    const batch = batchOf();
    const decoded = decodePayload('events', encodePayload('events', batch));
    expect(decoded).toEqual({ ok: true, value: batch });
  });

  it('property: the fast encoder writes exactly what the general canonical encoder writes, and the decoder reads it back', () => {
    const entry = fc.record({
      wallMs: fc.maxSafeNat(),
      monoMs: fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
      type: fc.string({ maxLength: 64, unit: 'grapheme-ascii' }),
      body: fc.uint8Array({ minLength: 1, maxLength: 300 }),
      hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    });
    const checkpoint = fc.record({ wallMs: fc.maxSafeNat(), headHash: fc.uint8Array({ minLength: 32, maxLength: 32 }), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.array(entry, { maxLength: 30 }),
        fc.uniqueArray(fc.nat({ max: 1_000_000 }), { maxLength: 5 }),
        fc.array(checkpoint, { minLength: 5, maxLength: 5 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (first, entries, cpSeqs, cps, prevHash) => {
          const batch: EventBatch = {
            hubId: HUB,
            prevHash,
            entries: entries.map((e, i) => ({ ...e, seq: first + i })),
            checkpoints: [...cpSeqs].sort((a, b) => a - b).map((seq, i) => ({ ...(cps[i] as (typeof cps)[number]), seq, hubId: HUB })),
          };
          const bytes = encodeBatch(batch);
          expect(hex(bytes)).toBe(hex(generalEncoding(batch)));
          expect(decodeBatch(bytes)).toEqual({ ok: true, value: batch });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes the same bytes from rows whose body and hash come as SQLite hex, and refuses broken hex', () => {
    const { rows, checkpoints, prev } = rowsOf(EVENTS);
    const encoder = new BatchEncoder();
    const fromBytes = encoder.encodeRows(HUB, prev, rows, checkpoints).bytes;
    const hexRows = rows.map(([seq, w, m, type, body, hash]) => [seq, w, m, type, hex(body).toUpperCase(), hex(hash)] as const);
    expect(hex(encoder.encodeRows(HUB, prev, hexRows, checkpoints).bytes)).toBe(hex(fromBytes));
    const [seq, w, m, type, body, hash] = hexRows[0]!;
    expect(() => encoder.encodeRows(HUB, prev, [[seq, w, m, type, `${body.slice(0, -2)}zz`, hash]], [])).toThrow(RangeError);
    expect(() => encoder.encodeRows(HUB, prev, [[seq, w, m, type, `${body}0`, hash]], [])).toThrow(RangeError);
    expect(() => encoder.encodeRows(HUB, prev, [[seq, w, m, type, body, hash.slice(2)]], [])).toThrow(/32 bytes/);
  });

  it('returns byte strings as views into the payload, not copies', () => {
    const bytes = encodeBatch(batchOf());
    const d = decodeBatch(bytes);
    if (!d.ok) throw new Error(d.problem);
    expect(d.value.entries[0]!.body.buffer).toBe(bytes.buffer);
  });

  it('takes entries from the front while the batch fits under a byte cap, and always at least one', () => {
    const { rows, checkpoints, prev } = rowsOf(EVENTS);
    const encoder = new BatchEncoder();
    const whole = encoder.encodeRows(HUB, prev, rows, checkpoints).bytes.length;
    const cut = encoder.encodeRows(HUB, prev, rows, checkpoints, whole - 1);
    expect(cut.count).toBe(rows.length - 1);
    expect(cut.bytes.length).toBeLessThanOrEqual(whole - 1);
    expect(encoder.encodeRows(HUB, prev, rows, [], 10).count).toBe(1);
    for (let max = 60; max < whole + 10; max += 7) {
      const r = encoder.encodeRows(HUB, prev, rows, [], max);
      expect(r.count === 1 || r.bytes.length <= max).toBe(true);
      const d = decodeBatch(r.bytes);
      expect(d.ok && d.value.entries.length).toBe(r.count);
    }
  });

  describe('refuses, with a problem and without throwing', () => {
    const good = batchOf(EVENTS.slice(0, 2));
    const general = (): [number, string, Uint8Array, CborValue[][], CborValue[][]] => [
      1,
      good.hubId,
      good.prevHash,
      good.entries.map((e) => [e.seq, e.wallMs, e.monoMs, e.type, e.body, e.hash]),
      good.checkpoints.map((c) => [c.seq, c.headHash, c.wallMs, c.signature]),
    ];
    const refuses = (value: CborValue, pattern: RegExp): void => {
      const d = decodeBatch(encodeCanonical(value));
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.problem).toMatch(pattern);
    };

    it('another version, a map, an empty hub id, a short hash', () => {
      const b = general();
      refuses([2, ...b.slice(1)] as CborValue, /not a v1 batch/);
      refuses(new Map([[1, 1]]), /major type 5, not 4/);
      refuses([1, '', ...b.slice(2)] as CborValue, /empty hubId/);
      refuses([1, HUB, new Uint8Array(31), b[3], b[4]], /prevHash must be 32 bytes/);
      const e = b[3];
      e[1]![5] = new Uint8Array(33);
      refuses(b, /hash must be 32 bytes/);
    });

    it('entries that do not follow one another, and checkpoints out of order', () => {
      const b = general();
      b[3][1]![0] = 3;
      refuses(b, /seq 3 does not follow seq 1/);
      const c = general();
      const cp = [5, new Uint8Array(32), 1, new Uint8Array(64)];
      c[4] = [cp, cp];
      refuses(c, /checkpoint seq 5 is not after 5/);
      const z = general();
      z[3][0]![0] = 0;
      refuses(z, /seq 0 is not an entry/);
    });

    it('more entries or checkpoints than the caps, an empty body', () => {
      const b = general();
      const entry = b[3][0]!;
      refuses([1, HUB, good.prevHash, Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => [i + 1, ...entry.slice(1)]), []], /over the cap of 500/);
      refuses([1, HUB, good.prevHash, [], Array.from({ length: MAX_BATCH_CHECKPOINTS + 1 }, (_, i) => [i, new Uint8Array(32), 0, new Uint8Array(64)])], /over the cap of 64/);
      entry[4] = new Uint8Array(0);
      refuses(b, /body of 0 bytes/);
    });

    it('non-shortest heads, indefinite lengths, trailing bytes, truncation, bad UTF-8, an oversized payload', () => {
      const bytes = Buffer.from(encodeBatch(good));
      // 0x85 (array of 5) spelled 0x98 0x05: the same value in a longer form (RFC 8949 §4.2.1).
      expect(decodeBatch(Buffer.concat([Buffer.from([0x98, 0x05]), bytes.subarray(1)])).ok).toBe(false);
      expect(decodeBatch(Buffer.concat([Buffer.from([0x9f]), bytes.subarray(1)])).ok).toBe(false);
      expect(decodeBatch(Buffer.concat([bytes, Buffer.from([0])]))).toMatchObject({ ok: false, problem: expect.stringMatching(/trailing/) });
      for (const n of [0, 1, 10, bytes.length - 1]) expect(decodeBatch(bytes.subarray(0, n)).ok).toBe(false);
      const badText = general();
      badText[3][0]![3] = 'x';
      const encoded = Buffer.from(encodeCanonical(badText));
      encoded[encoded.indexOf(Buffer.from('x'))] = 0xff;
      expect(decodeBatch(encoded)).toMatchObject({ ok: false, problem: expect.stringMatching(/UTF-8/) });
      expect(decodePayload('events', new Uint8Array(TOPICS.events.payload.maxBytes + 1))).toMatchObject({ ok: false, problem: expect.stringMatching(/cap/) });
    });
  });

  it('fuzz: arbitrary bytes never make the decoder throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const d = decodeBatch(bytes);
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: a mutated real batch is refused, or canonical to the general decoder and never verified as something the hub did not write', () => {
    const fixture = batchFixture();
    expect(checkBatchCase(fixture, fixture.bytes)).toBe('verified');
    expect(checkBatchCase(fixture, fixture.tail)).toBe('verified');
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.boolean(), mutation, (tail, m) => {
        seen.add(checkBatchCase(fixture, mutate(tail ? fixture.tail : fixture.bytes, m)));
      }),
      { numRuns: 3000 },
    );
    expect(seen).toContain('refused');
  });
});

describe('verifying entries by their stored body bytes (the cloud side)', () => {
  it('property: hashes the stored body verbatim to the very hash the hub chained', () => {
    const hasher = new RawEntryHasher();
    fc.assert(
      fc.property(fc.constantFrom(...EVENTS), fc.maxSafeNat(), fc.maxSafeNat(), fc.integer({ min: 1, max: 2 ** 40 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (event, wallMs, monoMs, seq, prev) => {
        const record = { seq, wallMs, monoMs, event };
        const expected = chainHash(prev, canonicalRecord(record));
        const raw = { seq, wallMs, monoMs, type: event.type, body: canonicalEncode(event.body) };
        expect(hex(hasher.hash(prev, raw))).toBe(hex(expected));
      }),
      { numRuns: 500 },
    );
  });

  it('verifies a batch, then one that continues it, with its checkpoints', () => {
    const verifier = new ChainVerifier({ publicKey, hubId: HUB, recentHashes: 3 });
    const first = batchOf(EVENTS.slice(0, 5));
    expect(verifyBatch(first, verifier)).toBeUndefined();
    const next = batchOf(EVENTS.slice(5), 6, first.entries[4]!.hash);
    expect(verifyBatch(next, verifier)).toBeUndefined();
    expect(verifier.counts).toEqual({ events: 8, checkpoints: 2 });
    expect(verifier.anchoredThrough).toBe(8);
  });

  it('checks a late checkpoint against the ring of recent hashes, and skips one older than the ring', () => {
    const { rows, checkpoints } = rowsOf(EVENTS, 1, GENESIS_HASH, 2);
    const batch: EventBatch = { hubId: HUB, prevHash: GENESIS_HASH, entries: rows.map(([seq, wallMs, monoMs, type, body, hash]) => ({ seq, wallMs, monoMs, type, body, hash })), checkpoints: [] };
    const verifier = new ChainVerifier({ publicKey, hubId: HUB, recentHashes: 3 });
    expect(verifyBatch(batch, verifier)).toBeUndefined();
    const at6 = checkpoints.find((c) => c.seq === 6)!;
    expect(verifier.checkpoint(at6)).toBeUndefined();
    expect(verifier.anchoredThrough).toBe(6);
    // Seq 2 has left a ring of 3: nothing to compare with, so no anchor and no break.
    expect(verifier.checkpoint(checkpoints.find((c) => c.seq === 2)!)).toBeUndefined();
    expect(verifier.anchoredThrough).toBe(6);
    // A validly signed checkpoint for a different chain at a seq still in the ring: caught.
    const forged = signCheckpoint({ hubId: HUB, seq: 7, headHash: new Uint8Array(32).fill(9), wallMs: 1 }, privateKey);
    expect(verifier.checkpoint(forged)).toMatchObject({ kind: 'checkpoint', seq: 7 });
  });

  describe('names the first break, by kind', () => {
    const tamper = (f: (b: EventBatch) => void): ChainBreak | undefined => {
      const b = batchOf();
      f(b);
      // Through the wire: what the cloud sees is what was encoded.
      const d = decodeBatch(encodeBatch(b));
      if (!d.ok) throw new Error(d.problem);
      return verifyBatch(d.value);
    };

    it('an edited body, type, time or hash: edit', () => {
      expect(tamper((b) => (b.entries[2]!.body = canonicalEncode({ state: 'unlocked', by: 'owner', grantId: 'aa'.repeat(16) })))).toMatchObject({ kind: 'edit', seq: 3 });
      expect(tamper((b) => (b.entries[3]!.type = 'jam'))).toMatchObject({ kind: 'edit', seq: 4 });
      expect(tamper((b) => (b.entries[4]!.wallMs += 1))).toMatchObject({ kind: 'edit', seq: 5 });
      expect(tamper((b) => (b.entries[1]!.hash = new Uint8Array(32).fill(1)))).toMatchObject({ kind: 'edit', seq: 2 });
    });

    it('a batch that does not start from the genesis or the last entry: link', () => {
      expect(tamper((b) => (b.prevHash = new Uint8Array(32).fill(7)))).toMatchObject({ kind: 'link', seq: 1 });
      const verifier = new ChainVerifier({ publicKey, hubId: HUB });
      const first = batchOf(EVENTS.slice(0, 4));
      expect(verifyBatch(first, verifier)).toBeUndefined();
      expect(verifyBatch(batchOf(EVENTS.slice(4), 5, first.entries[2]!.hash), verifier)).toMatchObject({ kind: 'link', seq: 4 });
    });

    it('a missing or repeated seq across batches: gap, duplicate', () => {
      const first = batchOf(EVENTS.slice(0, 3));
      const gap = new ChainVerifier({ publicKey, hubId: HUB });
      verifyBatch(first, gap);
      expect(verifyBatch(batchOf(EVENTS.slice(4), 5, first.entries[2]!.hash), gap)).toMatchObject({ kind: 'gap', seq: 4 });
      const dup = new ChainVerifier({ publicKey, hubId: HUB });
      verifyBatch(first, dup);
      expect(verifyBatch(batchOf(EVENTS.slice(2), 3, first.entries[1]!.hash), dup)).toMatchObject({ kind: 'duplicate', seq: 4 });
    });

    it('a checkpoint not signed by the hub, or signing another chain: signature, checkpoint', () => {
      expect(tamper((b) => (b.checkpoints[0]!.signature = new Uint8Array(64)))).toMatchObject({ kind: 'signature', seq: 4 });
      const { privateKey: other } = generateKeyPairSync('ed25519');
      expect(tamper((b) => (b.checkpoints[0] = signCheckpoint({ ...b.checkpoints[0]!, hubId: HUB }, other)))).toMatchObject({ kind: 'signature' });
      expect(tamper((b) => (b.checkpoints[1] = signCheckpoint({ ...b.checkpoints[1]!, headHash: new Uint8Array(32) }, privateKey)))).toMatchObject({ kind: 'checkpoint', seq: 5 });
    });

    it('a body that hashes right but is not a canonical v1 body of its type: malformed', () => {
      const hasher = new RawEntryHasher();
      const forge = (type: string, body: Uint8Array): ChainBreak | undefined => {
        const entry = { seq: 1, wallMs: 1, monoMs: 1, type, body };
        const hash = hasher.hash(GENESIS_HASH, entry);
        return verifyBatch({ hubId: HUB, prevHash: GENESIS_HASH, entries: [{ ...entry, hash }], checkpoints: [] });
      };
      // Keys out of canonical order (state before by would be bytewise, but "by" is shorter).
      const unsorted = Uint8Array.from([0xa2, 0x65, ...Buffer.from('state'), 0x64, ...Buffer.from('open'), 0x62, ...Buffer.from('by'), 0x64, ...Buffer.from('cli')]);
      expect(forge('door', unsorted)).toMatchObject({ kind: 'malformed', seq: 1 });
      expect(forge('door', canonicalEncode({ state: 'ajar' }))).toMatchObject({ kind: 'malformed', detail: expect.stringMatching(/door body/) });
      expect(forge('teleport', canonicalEncode({ state: 'open' }))).toMatchObject({ kind: 'malformed', detail: expect.stringMatching(/unknown audit event type/) });
      expect(forge('door', Uint8Array.from([0xf6]))).toMatchObject({ kind: 'malformed' });
      expect(forge('door', Uint8Array.from([...canonicalEncode({ state: 'open' }), 0]))).toMatchObject({ kind: 'malformed', detail: expect.stringMatching(/trailing/) });
      expect(forge('door', canonicalEncode({ state: 'open' }))).toBeUndefined();
    });

    it('reads a "__proto__" key in a body as data, which the strict schema then refuses', () => {
      const body = encodeCanonical(new Map<string, CborValue>([['state', 'open'], ['__proto__', new Map([['polluted', true]])]]));
      const checked = checkRawBody('door', body);
      expect(checked.ok).toBe(false);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(decodeCanonical(body, { maxBytes: 100 })).toBeInstanceOf(Map);
    });
  });
});
