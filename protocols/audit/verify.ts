import type { KeyObject } from 'node:crypto';
import { canonicalRecord, chainHash, GENESIS_HASH, toHex, type ChainedRecord } from './chain.js';
import { sameBytes } from './canonical.js';
import { verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import type { ParsedItem } from './export-file.js';
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
  readonly #recent = new Map<number, Uint8Array>();
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
    this.#recentLimit = options.recentHashes ?? Number.POSITIVE_INFINITY;
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
    const expected = this.#firstSeq === undefined ? undefined : this.#lastSeq + 1;
    if (expected !== undefined && wire.seq !== expected) {
      if (wire.seq <= this.#lastSeq) return this.#break(expected, 'duplicate', `seq ${wire.seq} appears again after seq ${this.#lastSeq}`);
      return this.#break(expected, 'gap', `seq ${expected} is missing: seq ${wire.seq} follows seq ${this.#lastSeq}`);
    }
    const parsed = fromWireEvent(wire);
    if (!parsed.ok) return this.#break(wire.seq, 'malformed', parsed.problem);
    const record = parsed.record;
    if (this.#firstSeq === undefined) return this.#first(record);
    return this.#link(record);
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
    const computed = checkpoint.seq === this.#lastSeq ? this.#prevHash : this.#recent.get(checkpoint.seq);
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

  #first(record: ChainedRecord): ChainBreak | undefined {
    this.#firstSeq = record.seq;
    const anchor = this.#pending.get(record.seq - 1);
    if (record.seq === 1) {
      if (!sameBytes(record.prevHash, GENESIS_HASH)) return this.#break(1, 'link', 'seq 1 does not start from the genesis hash');
      this.#anchoredThrough = 0;
    } else if (anchor !== undefined) {
      if (!sameBytes(record.prevHash, anchor.headHash)) {
        return this.#break(record.seq, 'link', `seq ${record.seq} does not follow the checkpoint at seq ${anchor.seq}`);
      }
      this.#anchoredThrough = anchor.seq;
    } else {
      // A range that starts mid-chain: its start is trusted only through a later checkpoint.
      this.#anchoredThrough = record.seq - 1;
      this.#unanchoredStart = true;
    }
    this.#prevHash = record.prevHash;
    return this.#link(record);
  }

  #unanchoredStart = false;

  #link(record: ChainedRecord): ChainBreak | undefined {
    if (!sameBytes(record.prevHash, this.#prevHash)) {
      if (this.#beforePrev !== undefined && sameBytes(record.prevHash, this.#beforePrev)) {
        return this.#break(record.seq - 1, 'link', `seq ${record.seq - 1} was inserted: seq ${record.seq} chains from the entry before it`);
      }
      return this.#break(record.seq, 'link', `seq ${record.seq} does not chain from seq ${record.seq - 1} (an entry was deleted, inserted or moved)`);
    }
    const hash = chainHash(this.#prevHash, canonicalRecord(record));
    if (!sameBytes(hash, record.hash)) return this.#break(record.seq, 'edit', `seq ${record.seq} was altered: its content does not hash to ${toHex(record.hash).slice(0, 16)}…`);
    this.#beforePrev = this.#prevHash;
    this.#prevHash = hash;
    this.#lastSeq = record.seq;
    this.#events += 1;
    this.#remember(record.seq, hash);
    const due = this.#pending.get(record.seq);
    if (due !== undefined) {
      this.#pending.delete(record.seq);
      return this.#anchor(due, hash);
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
    if (this.#recentLimit <= 0) return;
    this.#recent.set(seq, hash);
    if (this.#recent.size > this.#recentLimit) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
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
