import type { KeyObject } from 'node:crypto';
import { canonicalRecord, chainHash, GENESIS_HASH, HASH_BYTES, toHex } from './chain.js';
import { sameBytes } from './canonical.js';
import { verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import type { ParsedItem } from './export-file.js';
import { checkRawBody, RawEntryHasher, sameDigest, type RawEntry } from './raw-entry.js';
import { fromWireCheckpoint, fromWireEvent, type WireEvent } from './wire.js';

/**
 * Verifies an audit chain as it goes, entry by entry: the offline verifier of exported files and
 * the cloud's check of arriving batches are the same code.
 *
 * What it detects, and the seq it names (the first place the chain breaks):
 * - `edit`: an entry whose recomputed hash is not the hash it claims (a changed field).
 * - `gap`: a missing seq (a deletion), or a signed checkpoint past the last entry (a cut tail).
 * - `duplicate`: a seq seen before (an inserted copy); `reorder`: a seq that comes later in the file.
 * - `link`: an entry that does not chain from the one before it (an entry deleted or inserted and
 *   the rest renumbered, with hashes recomputed up to there).
 * - `checkpoint`: a validly signed checkpoint whose head hash is not the recomputed one: someone
 *   recomputed every hash after an edit; the break lies between the last anchored seq and this
 *   checkpoint, and the first unanchored seq is named.
 * - `signature`: a checkpoint not signed by the hub key (or for another hub).
 * - `unanchored` (at finish): entries after the last checkpoint, which a forger could have rewritten.
 * - `malformed`: a line or item that is not a v1 record.
 */
export type BreakKind = 'edit' | 'gap' | 'duplicate' | 'reorder' | 'link' | 'checkpoint' | 'signature' | 'unanchored' | 'malformed';

export interface ChainBreak {
  seq: number;
  kind: BreakKind;
  detail: string;
}

export interface VerifierOptions {
  publicKey: KeyObject;
  /** When known (from the file header or the topic), checkpoints for another hub are refused. */
  hubId?: string;
  /** How many recent hashes to keep for checkpoints that arrive after later entries. */
  recentHashes?: number;
}

export class ChainVerifier {
  readonly #publicKey: KeyObject;
  readonly #hubId: string | undefined;
  readonly #recentLimit: number;
  /** Unbounded (the offline verifier): every hash by seq. */
  readonly #recent = new Map<number, Uint8Array>();
  /**
   * Bounded (the cloud): a ring indexed by seq modulo the limit, since remembered seqs are
   * consecutive. Not a Map with its oldest key evicted: V8 leaves deleted entries as holes that
   * `keys().next()` walks over, which made the eviction cost grow with the window.
   */
  #ringSeqs: number[] = [];
  #ringHashes: Uint8Array[] = [];
  readonly #pending = new Map<number, Checkpoint>();
  #firstSeq: number | undefined;
  #lastSeq = 0;
  #prevHash: Uint8Array = GENESIS_HASH;
  #beforePrev: Uint8Array | undefined;
  #anchoredThrough = 0;
  #events = 0;
  #checkpoints = 0;
  #broken: ChainBreak | undefined;

  constructor(options: VerifierOptions) {
    this.#publicKey = options.publicKey;
    this.#hubId = options.hubId;
    const limit = options.recentHashes ?? Number.POSITIVE_INFINITY;
    if (limit !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(limit) && limit >= 0)) throw new RangeError('recentHashes must be an integer ≥ 0 or Infinity');
    this.#recentLimit = limit;
  }

  get broken(): ChainBreak | undefined {
    return this.#broken;
  }
  get lastSeq(): number {
    return this.#lastSeq;
  }
  /** Every entry up to here is bound to a checkpoint the hub signed (or to the genesis). */
  get anchoredThrough(): number {
    return this.#anchoredThrough;
  }
  get headHash(): Uint8Array {
    return this.#prevHash;
  }
  get counts(): { events: number; checkpoints: number } {
    return { events: this.#events, checkpoints: this.#checkpoints };
  }

  /** The next entry in file or arrival order; returns the break once the chain is broken. */
  event(wire: WireEvent): ChainBreak | undefined {
    if (this.#broken !== undefined) return this.#broken;
    const out = this.#order(wire.seq);
    if (out !== undefined) return out;
    const parsed = fromWireEvent(wire);
    if (!parsed.ok) return this.#break(wire.seq, 'malformed', parsed.problem);
    const record = parsed.record;
    const unlinked = this.#firstSeq === undefined ? this.#first(record.seq, record.prevHash) : this.#linkTo(record.seq, record.prevHash);
    if (unlinked !== undefined) return unlinked;
    return this.#accept(record.seq, record.hash, chainHash(this.#prevHash, canonicalRecord(record)));
  }

  /**
   * The next entry with its body as the canonical bytes the hub stored (the cloud link's batches):
   * the hash is computed over those bytes verbatim, then the body must be a canonical v1 body of
   * its type. The break kinds are the same as `event`'s; a body that hashes right but is not a v1
   * body is `malformed`.
   */
  rawEvent(entry: RawEntry, prevHash: Uint8Array, hash: Uint8Array): ChainBreak | undefined {
    if (this.#broken !== undefined) return this.#broken;
    const out = this.#order(entry.seq);
    if (out !== undefined) return out;
    if (prevHash.length !== HASH_BYTES || hash.length !== HASH_BYTES) return this.#break(entry.seq, 'malformed', `seq ${entry.seq}: hashes must be ${HASH_BYTES} bytes`);
    const unlinked = this.#firstSeq === undefined ? this.#first(entry.seq, prevHash) : this.#linkTo(entry.seq, prevHash);
    if (unlinked !== undefined) return unlinked;
    let digest: string;
    try {
      digest = this.#hasher.digest(this.#prevHash, entry);
    } catch (err) {
      return this.#break(entry.seq, 'malformed', (err as Error).message);
    }
    if (!sameDigest(digest, hash)) return this.#edited(entry.seq, hash);
    const body = checkRawBody(entry.type, entry.body);
    if (!body.ok) return this.#break(entry.seq, 'malformed', body.problem);
    // The claimed hash is the computed one; kept as a copy (the caller's buffer may be reused).
    const computed = this.#keep(hash);
    return this.#accept(entry.seq, computed, computed);
  }

  readonly #hasher = new RawEntryHasher();
  /** Kept hashes are 32-byte views of shared slabs: a Buffer per hash costs more than hashing. */
  #slab = Buffer.allocUnsafeSlow(HASH_BYTES * 256);
  #slabUsed = 0;

  #keep(hash: Uint8Array): Uint8Array {
    if (this.#slabUsed === this.#slab.length) {
      // A full slab stays alive only through the views still held (recent hashes, the head).
      this.#slab = Buffer.allocUnsafeSlow(this.#slab.length);
      this.#slabUsed = 0;
    }
    const at = this.#slabUsed;
    this.#slab.set(hash, at);
    this.#slabUsed = at + HASH_BYTES;
    return this.#slab.subarray(at, at + HASH_BYTES);
  }

  /** Seq order: the next entry must be the one after the last (names a duplicate or a gap). */
  #order(seq: number): ChainBreak | undefined {
    const expected = this.#firstSeq === undefined ? undefined : this.#lastSeq + 1;
    if (expected === undefined || seq === expected) return undefined;
    if (seq <= this.#lastSeq) return this.#break(expected, 'duplicate', `seq ${seq} appears again after seq ${this.#lastSeq}`);
    return this.#break(expected, 'gap', `seq ${expected} is missing: seq ${seq} follows seq ${this.#lastSeq}`);
  }

  /** A checkpoint, wherever it sits among the entries. */
  checkpoint(checkpoint: Checkpoint): ChainBreak | undefined {
    if (this.#broken !== undefined) return this.#broken;
    if (this.#hubId !== undefined && checkpoint.hubId !== this.#hubId) {
      return this.#break(checkpoint.seq, 'signature', `checkpoint at seq ${checkpoint.seq} is for hub ${checkpoint.hubId}, not ${this.#hubId}`);
    }
    if (!verifyCheckpoint(checkpoint, this.#publicKey)) {
      return this.#break(checkpoint.seq, 'signature', `checkpoint at seq ${checkpoint.seq} is not signed by the hub key`);
    }
    this.#checkpoints += 1;
    if (this.#firstSeq === undefined || checkpoint.seq > this.#lastSeq) {
      this.#pending.set(checkpoint.seq, checkpoint);
      return undefined;
    }
    const computed = checkpoint.seq === this.#lastSeq ? this.#prevHash : this.#recall(checkpoint.seq);
    // Older than what we still hold (or before this file's range): nothing to compare it with.
    if (computed === undefined) return undefined;
    return this.#anchor(checkpoint, computed);
  }

  /** Checks the end: no signed checkpoint promised entries that are not here, nothing unanchored. */
  finish(): ChainBreak | undefined {
    if (this.#broken !== undefined) return this.#broken;
    const beyond = [...this.#pending.keys()].filter((seq) => seq > this.#lastSeq).sort((a, b) => a - b)[0];
    if (beyond !== undefined && this.#firstSeq !== undefined) {
      return this.#break(this.#lastSeq + 1, 'gap', `a checkpoint signs seq ${beyond} but the log ends at seq ${this.#lastSeq}`);
    }
    if (this.#firstSeq !== undefined && this.#anchoredThrough < this.#lastSeq) {
      return this.#break(this.#anchoredThrough + 1, 'unanchored', `entries ${this.#anchoredThrough + 1}..${this.#lastSeq} are not covered by a signed checkpoint`);
    }
    return undefined;
  }

  /** The first entry seen: where the chain starts, and what anchors it. */
  #first(seq: number, prevHash: Uint8Array): ChainBreak | undefined {
    this.#firstSeq = seq;
    const anchor = this.#pending.get(seq - 1);
    if (seq === 1) {
      if (!sameBytes(prevHash, GENESIS_HASH)) return this.#break(1, 'link', 'seq 1 does not start from the genesis hash');
      this.#anchoredThrough = 0;
    } else if (anchor !== undefined) {
      if (!sameBytes(prevHash, anchor.headHash)) {
        return this.#break(seq, 'link', `seq ${seq} does not follow the checkpoint at seq ${anchor.seq}`);
      }
      this.#anchoredThrough = anchor.seq;
    } else {
      // A range that starts mid-chain: its start is trusted only through a later checkpoint.
      this.#anchoredThrough = seq - 1;
      this.#unanchoredStart = true;
    }
    this.#prevHash = prevHash;
    return undefined;
  }

  #unanchoredStart = false;

  /** The entry claims to follow the last one: its previous hash must be the last one's hash. */
  #linkTo(seq: number, prevHash: Uint8Array): ChainBreak | undefined {
    if (sameBytes(prevHash, this.#prevHash)) return undefined;
    if (this.#beforePrev !== undefined && sameBytes(prevHash, this.#beforePrev)) {
      return this.#break(seq - 1, 'link', `seq ${seq - 1} was inserted: seq ${seq} chains from the entry before it`);
    }
    return this.#break(seq, 'link', `seq ${seq} does not chain from seq ${seq - 1} (an entry was deleted, inserted or moved)`);
  }

  #edited(seq: number, claimed: Uint8Array): ChainBreak {
    return this.#break(seq, 'edit', `seq ${seq} was altered: its content does not hash to ${toHex(claimed).slice(0, 16)}…`);
  }

  /** A linked entry whose recomputed hash is `computed`: it must be the hash it claims. */
  #accept(seq: number, claimed: Uint8Array, computed: Uint8Array): ChainBreak | undefined {
    if (!sameBytes(computed, claimed)) return this.#edited(seq, claimed);
    this.#beforePrev = this.#prevHash;
    this.#prevHash = computed;
    this.#lastSeq = seq;
    this.#events += 1;
    this.#remember(seq, computed);
    const due = this.#pending.get(seq);
    if (due !== undefined) {
      this.#pending.delete(seq);
      return this.#anchor(due, computed);
    }
    return undefined;
  }

  #anchor(checkpoint: Checkpoint, computed: Uint8Array): ChainBreak | undefined {
    if (!sameBytes(checkpoint.headHash, computed)) {
      const from = this.#anchoredThrough + 1;
      const where = this.#unanchoredStart && from === this.#firstSeq ? 'the start of the range' : `seq ${from}`;
      return this.#break(from, 'checkpoint', `the hub signed a different chain at seq ${checkpoint.seq}: entries from ${where} to ${checkpoint.seq} were rewritten`);
    }
    if (checkpoint.seq > this.#anchoredThrough) this.#anchoredThrough = checkpoint.seq;
    this.#unanchoredStart = false;
    return undefined;
  }

  #remember(seq: number, hash: Uint8Array): void {
    const limit = this.#recentLimit;
    if (limit <= 0) return;
    if (limit === Number.POSITIVE_INFINITY) {
      this.#recent.set(seq, hash);
      return;
    }
    const i = seq % limit;
    this.#ringSeqs[i] = seq;
    this.#ringHashes[i] = hash;
  }

  #recall(seq: number): Uint8Array | undefined {
    const limit = this.#recentLimit;
    if (limit <= 0) return undefined;
    if (limit === Number.POSITIVE_INFINITY) return this.#recent.get(seq);
    const i = seq % limit;
    return this.#ringSeqs[i] === seq ? this.#ringHashes[i] : undefined;
  }

  #break(seq: number, kind: BreakKind, detail: string): ChainBreak {
    this.#broken = { seq, kind, detail };
    return this.#broken;
  }
}

export interface FileVerification {
  ok: boolean;
  hubId: string | undefined;
  firstSeq: number | undefined;
  lastSeq: number;
  events: number;
  checkpoints: number;
  broken: ChainBreak | undefined;
}

/**
 * Verifies a parsed export offline against the hub's public key (the key comes from the person
 * verifying, never from the file). Reorders are told apart from deletions by looking ahead.
 */
export function verifyExport(items: readonly ParsedItem[], publicKey: KeyObject): FileVerification {
  const header = items.find((i) => i.kind === 'record' && i.record.kind === 'header');
  const hubId = header?.kind === 'record' && header.record.kind === 'header' ? header.record.hubId : undefined;
  const verifier = new ChainVerifier({ publicKey, hubId });
  const seqsAhead = new Map<number, number>();
  for (const item of items) if (item.kind === 'record' && item.record.kind === 'event') seqsAhead.set(item.record.seq, (seqsAhead.get(item.record.seq) ?? 0) + 1);
  let firstSeq: number | undefined;
  let broken: ChainBreak | undefined;
  for (const item of items) {
    if (item.kind === 'malformed') {
      broken = { seq: verifier.lastSeq + 1, kind: 'malformed', detail: `record ${item.index}: ${item.problem}` };
      break;
    }
    const r = item.record;
    if (r.kind === 'header') continue;
    if (r.kind === 'checkpoint') broken = verifier.checkpoint(fromWireCheckpoint(r));
    else {
      // The header says where the range starts: an entry cut from the front is a gap there.
      const start = header?.kind === 'record' && header.record.kind === 'header' ? header.record.from : undefined;
      if (firstSeq === undefined && start !== undefined && start >= 1 && r.seq !== start) {
        broken = { seq: start, kind: r.seq > start ? 'gap' : 'duplicate', detail: `the export starts at seq ${start} but its first entry is seq ${r.seq}` };
        break;
      }
      firstSeq ??= r.seq;
      const expected = verifier.lastSeq + 1;
      broken = verifier.event(r);
      if (broken?.kind === 'gap' && (seqsAhead.get(expected) ?? 0) > 0 && r.seq > expected) {
        broken = { seq: expected, kind: 'reorder', detail: `seq ${r.seq} comes before seq ${expected}: entries were moved` };
      }
      const left = (seqsAhead.get(r.seq) ?? 1) - 1;
      seqsAhead.set(r.seq, left);
    }
    if (broken !== undefined) break;
  }
  broken ??= verifier.finish();
  // The header's range is a promise too: a file cut short (or emptied) is a deletion.
  const range = header?.kind === 'record' && header.record.kind === 'header' ? header.record : undefined;
  if (broken === undefined && range === undefined) broken = { seq: firstSeq ?? 1, kind: 'malformed', detail: 'the file has no export header' };
  if (broken === undefined && range !== undefined && verifier.lastSeq !== range.to) {
    broken = { seq: verifier.lastSeq + 1, kind: 'gap', detail: `the export promises seq ${range.from}..${range.to} but ends at seq ${verifier.lastSeq}` };
  }
  const { events, checkpoints } = verifier.counts;
  return { ok: broken === undefined, hubId, firstSeq, lastSeq: verifier.lastSeq, events, checkpoints, broken };
}
