import { MAX_CANONICAL_BYTES, Writer } from './canonical.js';
import { HASH_BYTES } from './chain.js';
import { SIGNATURE_BYTES, type Checkpoint } from './checkpoint.js';

/**
 * The cloud link's `events` payload: a batch of audit entries as one
 * canonical CBOR item (RFC 8949 §4.2.1: shortest heads, definite lengths), made of arrays only:
 *
 *   batch      = [1, hubId: tstr, prevHash: bstr .size 32, [* entry], [* checkpoint]]
 *   entry      = [seq, wallMs, monoMs, type: tstr, body: bstr, hash: bstr .size 32]
 *   checkpoint = [seq, headHash: bstr .size 32, wallMs, signature: bstr .size 64]
 *
 * `body` is the event body's canonical CBOR exactly as the hub stored and hashed it, wrapped in a
 * byte string (as COSE wraps a payload, RFC 9052 §4.1): the hub copies it from its table without
 * decoding it, and the cloud hashes it verbatim before looking inside (protocols/audit/
 * batch-verify.ts). `prevHash` is the first entry's previous hash; each later entry's is the hash of
 * the one before it, so entries must be consecutive. Checkpoints are for the batch's hub (their
 * signature covers the hub id) and come in ascending seq order.
 *
 * `decodeBatch` is a small strict reader for exactly this shape: it never throws, refuses any
 * non-canonical head, any other type, trailing bytes and anything over the caps, and returns the
 * byte strings as views into the payload (no copies). test/unit/audit-batch.test.ts holds it to
 * protocols/cbor's general strict decoder, fuzzed.
 */
export const BATCH_VERSION = 1;
/** Most audit entries per batch; the outbox bounds batches by this and by time. */
export const MAX_BATCH_EVENTS = 500;
export const MAX_BATCH_CHECKPOINTS = 64;
/** A body is at most what the audit's canonical decoder accepts. */
export const MAX_BODY_BYTES = MAX_CANONICAL_BYTES;
const MAX_HUB_ID = 128;
const MAX_TYPE = 64;

export interface BatchEntry {
  seq: number;
  wallMs: number;
  monoMs: number;
  type: string;
  /** The body's canonical CBOR, as stored and hashed. */
  body: Uint8Array;
  hash: Uint8Array;
}

export interface EventBatch {
  hubId: string;
  /** The previous hash of the first entry (the genesis hash before seq 1). */
  prevHash: Uint8Array;
  entries: BatchEntry[];
  checkpoints: Checkpoint[];
}

/**
 * An entry as the hub's store hands it over (a raw SQLite row in this column order: no object per
 * row). Body and hash are bytes, or hex as SQLite's hex() returns them: a string lives and dies in
 * the young generation, where a Buffer per row is an external backing store that piles up until a
 * full GC (the hub's RSS during a long drain).
 */
export type BatchRow = readonly [seq: number, wallMs: number, monoMs: number, type: string, body: Uint8Array | string, hash: Uint8Array | string];

/** Length in bytes of a row's bytes-or-hex field. */
function byteLength(field: Uint8Array | string): number {
  return typeof field === 'string' ? field.length >>> 1 : field.length;
}

export type BatchDecoded = { ok: true; value: EventBatch } | { ok: false; problem: string };

/**
 * Writes batches with one reusable buffer (the outbox keeps one). `maxBytes` bounds the payload:
 * entries are taken from the front while the batch fits (always at least one).
 */
export class BatchEncoder {
  readonly #w = new Writer();

  /** Encodes rows (consecutive seqs, from the store) and checkpoints; returns the bytes and how many rows went in. */
  encodeRows(hubId: string, prevHash: Uint8Array, rows: readonly BatchRow[], checkpoints: readonly Checkpoint[], maxBytes = Number.POSITIVE_INFINITY): { bytes: Uint8Array; count: number } {
    const { view, count } = this.encodeRowsView(hubId, prevHash, rows, checkpoints, maxBytes);
    return { bytes: new Uint8Array(view), count };
  }

  /** As encodeRows, but the bytes are a view of the encoder's buffer, valid until its next use (no copy). */
  encodeRowsView(hubId: string, prevHash: Uint8Array, rows: readonly BatchRow[], checkpoints: readonly Checkpoint[], maxBytes = Number.POSITIVE_INFINITY): { view: Uint8Array; count: number } {
    if (prevHash.length !== HASH_BYTES) throw new RangeError(`prev hash must be ${HASH_BYTES} bytes`);
    if (rows.length > MAX_BATCH_EVENTS) throw new RangeError(`at most ${MAX_BATCH_EVENTS} entries per batch`);
    if (checkpoints.length > MAX_BATCH_CHECKPOINTS) throw new RangeError(`at most ${MAX_BATCH_CHECKPOINTS} checkpoints per batch`);
    const w = this.#w;
    w.reset();
    w.arrayHeader(5);
    w.value(BATCH_VERSION);
    w.text(hubId);
    w.bytes(prevHash);
    const count = rowsThatFit(hubId, rows, checkpoints, maxBytes);
    w.arrayHeader(count);
    for (let i = 0; i < count; i++) {
      const [seq, wallMs, monoMs, type, body, hash] = rows[i] as BatchRow;
      if (byteLength(hash) !== HASH_BYTES) throw new RangeError(`hash of seq ${seq} must be ${HASH_BYTES} bytes`);
      w.arrayHeader(6);
      if (!(w.value(seq) && w.value(wallMs) && w.value(monoMs))) throw new RangeError(`seq ${seq}: times and seq must be safe integers`);
      w.text(type);
      if (typeof body === 'string') w.bytesHex(body);
      else w.bytes(body);
      if (typeof hash === 'string') w.bytesHex(hash);
      else w.bytes(hash);
    }
    w.arrayHeader(checkpoints.length);
    for (const c of checkpoints) {
      if (c.headHash.length !== HASH_BYTES || c.signature.length !== SIGNATURE_BYTES) throw new RangeError(`checkpoint at seq ${c.seq} is malformed`);
      w.arrayHeader(4);
      w.value(c.seq);
      w.bytes(c.headHash);
      w.value(c.wallMs);
      w.bytes(c.signature);
    }
    return { view: w.view(), count };
  }

  encode(batch: EventBatch): Uint8Array {
    const rows = batch.entries.map((e): BatchRow => [e.seq, e.wallMs, e.monoMs, e.type, e.body, e.hash]);
    return this.encodeRows(batch.hubId, batch.prevHash, rows, batch.checkpoints).bytes;
  }
}

export function encodeBatch(batch: EventBatch): Uint8Array {
  return new BatchEncoder().encode(batch);
}

/** How many rows, from the front, a batch with these checkpoints holds within maxBytes (always ≥ 1 of them). */
export function rowsThatFit(hubId: string, rows: readonly BatchRow[], checkpoints: readonly Checkpoint[], maxBytes: number): number {
  if (maxBytes === Number.POSITIVE_INFINITY) return rows.length;
  const hubIdBytes = Buffer.byteLength(hubId, 'utf8');
  // Fixed overhead: array head, version, hub id, prevHash, the checkpoints, and the head of the
  // entries array (≤ 3 bytes for ≤ 500 entries).
  let budget = maxBytes - (2 + headBytes(hubIdBytes) + hubIdBytes + 2 + HASH_BYTES) - 3 - checkpointsBytes(checkpoints);
  let count = 0;
  for (; count < rows.length; count++) {
    const size = rowBytes(rows[count] as BatchRow);
    if (count > 0 && size > budget) break;
    budget -= size;
  }
  return count;
}

/** The encoded size of a head with argument n (RFC 8949 §3). */
function headBytes(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

function rowBytes(row: BatchRow): number {
  const [seq, wallMs, monoMs, type, body] = row;
  // Text length in UTF-8: types are ASCII, but count exactly for any.
  const typeBytes = Buffer.byteLength(type, 'utf8');
  const bodyBytes = byteLength(body);
  return 1 + headBytes(seq) + headBytes(wallMs) + headBytes(monoMs) + headBytes(typeBytes) + typeBytes + headBytes(bodyBytes) + bodyBytes + 2 + HASH_BYTES;
}

function checkpointsBytes(checkpoints: readonly Checkpoint[]): number {
  let n = headBytes(checkpoints.length);
  for (const c of checkpoints) n += 1 + headBytes(c.seq) + 2 + HASH_BYTES + headBytes(c.wallMs) + 2 + SIGNATURE_BYTES;
  return n;
}

/** Why a payload is not a batch; thrown inside the reader only, never out of decodeBatch. */
class BatchProblem {
  constructor(readonly message: string) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes a batch strictly; never throws. `maxBytes` is the payload cap (the contract's). */
export function decodeBatch(bytes: Uint8Array, maxBytes = Number.POSITIVE_INFINITY): BatchDecoded {
  if (bytes.length > maxBytes) return { ok: false, problem: `${bytes.length} bytes is over the ${maxBytes}-byte cap` };
  const r = new BatchReader(bytes);
  try {
    const value = r.batch();
    if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes after the batch`);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof BatchProblem) return { ok: false, problem: err.message };
    // Anything else is a bug in the reader; still never thrown at a caller handling hostile input.
    return { ok: false, problem: `unreadable batch: ${(err as Error).message}` };
  }
}

class BatchReader {
  pos = 0;
  readonly #b: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  fail(message: string): never {
    throw new BatchProblem(`${message} (at byte ${this.pos})`);
  }

  batch(): EventBatch {
    this.#array(5, 'the batch');
    if (this.#uint('version') !== BATCH_VERSION) this.fail(`not a v${BATCH_VERSION} batch`);
    const hubId = this.#text(MAX_HUB_ID, 'hubId');
    if (hubId.length === 0) this.fail('empty hubId');
    const prevHash = this.#bytes(HASH_BYTES, HASH_BYTES, 'prevHash');
    const n = this.#arrayOf(MAX_BATCH_EVENTS, 'entries');
    const entries: BatchEntry[] = new Array<BatchEntry>(n);
    for (let i = 0; i < n; i++) {
      this.#array(6, 'an entry');
      const seq = this.#uint('seq');
      if (seq < 1) this.fail('seq 0 is not an entry');
      const prev = i > 0 ? (entries[i - 1] as BatchEntry).seq : undefined;
      // Later entries' previous hashes are implied by the chain: they must follow one another.
      if (prev !== undefined && seq !== prev + 1) this.fail(`seq ${seq} does not follow seq ${prev}`);
      entries[i] = {
        seq,
        wallMs: this.#uint('wallMs'),
        monoMs: this.#uint('monoMs'),
        type: this.#text(MAX_TYPE, 'type'),
        body: this.#bytes(1, MAX_BODY_BYTES, 'body'),
        hash: this.#bytes(HASH_BYTES, HASH_BYTES, 'hash'),
      };
    }
    const m = this.#arrayOf(MAX_BATCH_CHECKPOINTS, 'checkpoints');
    const checkpoints: Checkpoint[] = new Array<Checkpoint>(m);
    for (let i = 0; i < m; i++) {
      this.#array(4, 'a checkpoint');
      const seq = this.#uint('checkpoint seq');
      const prev = i > 0 ? (checkpoints[i - 1] as Checkpoint).seq : -1;
      if (seq <= prev) this.fail(`checkpoint seq ${seq} is not after ${prev}`);
      checkpoints[i] = {
        hubId,
        seq,
        headHash: this.#bytes(HASH_BYTES, HASH_BYTES, 'headHash'),
        wallMs: this.#uint('checkpoint wallMs'),
        signature: this.#bytes(SIGNATURE_BYTES, SIGNATURE_BYTES, 'signature'),
      };
    }
    return { hubId, prevHash, entries, checkpoints };
  }

  #array(n: number, what: string): void {
    if (this.#head(4, what) !== n) this.fail(`${what} must be an array of ${n}`);
  }

  #arrayOf(max: number, what: string): number {
    const n = this.#head(4, what);
    if (n > max) this.fail(`${n} ${what} is over the cap of ${max}`);
    // Each item takes at least one byte: a count the rest cannot hold is refused before allocating.
    if (n > this.#b.length - this.pos) this.fail(`${what} claims more items than bytes left`);
    return n;
  }

  #uint(what: string): number {
    return this.#head(0, what);
  }

  #bytes(min: number, max: number, what: string): Uint8Array {
    const n = this.#head(2, what);
    if (n < min || n > max) this.fail(min === max ? `${what} must be ${min} bytes, not ${n}` : `${what} of ${n} bytes is outside ${min}..${max}`);
    return this.#take(n, what);
  }

  #text(max: number, what: string): string {
    const n = this.#head(3, what);
    if (n > max) this.fail(`${what} of ${n} bytes is over the cap of ${max}`);
    const view = this.#take(n, what);
    try {
      return utf8.decode(view);
    } catch {
      return this.fail(`${what} is not well-formed UTF-8`);
    }
  }

  #take(n: number, what: string): Uint8Array {
    const b = this.#b;
    if (n > b.length - this.pos) this.fail(`${what} runs past the end of the payload`);
    const start = this.pos;
    this.pos += n;
    return b.subarray(start, start + n);
  }

  /** A head of the wanted major type; its argument in shortest form (RFC 8949 §4.2.1), definite. */
  #head(major: number, what: string): number {
    const b = this.#b;
    const at = this.pos;
    if (at >= b.length) this.fail(`the payload ends where ${what} should start`);
    const initial = b[at] as number;
    if (initial >> 5 !== major) this.fail(`${what} has CBOR major type ${initial >> 5}, not ${major}`);
    const info = initial & 31;
    this.pos = at + 1;
    if (info < 24) return info;
    const len = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (len === 0) this.fail(`${what}: indefinite length or reserved additional information ${info}`);
    if (len > b.length - this.pos) this.fail(`the payload ends inside the head of ${what}`);
    let n = 0;
    for (let i = 0; i < len; i++) n = n * 256 + (b[this.pos + i] as number);
    this.pos += len;
    if (n > Number.MAX_SAFE_INTEGER) this.fail(`${what} is beyond 2^53 − 1`);
    const min = len === 1 ? 24 : len === 2 ? 0x100 : len === 4 ? 0x10000 : 0x100000000;
    if (n < min) this.fail(`${what} is not in its shortest form`);
    return n;
  }
}
