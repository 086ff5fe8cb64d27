import type { Statement } from 'better-sqlite3';
import { canonicalDecode } from '../../protocols/audit/canonical.js';
import type { BatchRow } from '../../protocols/audit/batch.js';
import { ChainEncoder, GENESIS_HASH, type ChainedRecord } from '../../protocols/audit/chain.js';
import { signCheckpoint, type Checkpoint } from '../../protocols/audit/checkpoint.js';
import { checkEvent, isSecurityEvent, type AuditEvent, type AuditEventType } from '../../protocols/audit/events.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import type { HubKey } from './hub-key.js';
import type { Durability, Store } from './store.js';

/** Checkpoint spacing when no configuration says otherwise. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

/** Rows per multi-row INSERT in a batch (7 parameters each, far below SQLite's 32766). */
const CHUNK_ROWS = 25;
const ROW = '(?, ?, ?, ?, ?, ?, ?)';

/** What other modules get: write an event, on disk before this returns. */
export interface AuditSink {
  append(event: AuditEvent): ChainedRecord;
}

export interface AuditLogOptions {
  store: Store;
  clock: Clock;
  hubId: string;
  hubKey: HubKey;
  /** Sign a checkpoint whenever seq crosses a multiple of this. */
  checkpointEvery: number;
  log: Logger;
}

interface Row {
  seq: number;
  wall_ms: number;
  mono_ms: number;
  type: string;
  body: Uint8Array;
  prev_hash: Uint8Array;
  hash: Uint8Array;
}

interface CheckpointRow {
  seq: number;
  head_hash: Uint8Array;
  wall_ms: number;
  signature: Uint8Array;
}

/**
 * The hash-chained audit log in SQLite (DESIGN.md, "Audit"). Appends run in one IMMEDIATE transaction
 * that reads the head, chains, inserts and (every N entries) signs a checkpoint, so the chain in
 * the table is always whole. A batch containing a security event commits with synchronous=FULL:
 * when `append` returns, the record survives a power cut, and only then may the caller report
 * the action done. A failed write throws AUDIT_WRITE_FAILED; callers must let it surface.
 */
export class AuditLog implements AuditSink {
  readonly hubId: string;
  readonly #o: AuditLogOptions;
  readonly #insert: Statement;
  /** CHUNK_ROWS rows in one statement: one bind-and-step per chunk instead of per row. */
  readonly #insertChunk: Statement;
  readonly #chunkParams: unknown[] = new Array<unknown>(CHUNK_ROWS * 7);
  readonly #insertCheckpoint: Statement;
  readonly #lastRow: Statement;
  readonly #readFrom: Statement;
  readonly #unsent: Statement;
  /** One reusable encode-and-hash buffer (appends run one at a time on this connection). */
  readonly #encoder = new ChainEncoder();
  /**
   * The head as this connection last committed it, and SQLite's data_version then: no head query
   * per append. data_version changes when another connection (another process) commits, which
   * may have appended or pruned, so then the head is read from the table again; a prune in
   * between would otherwise let a stale head write below the cut. Two logs on one connection
   * are caught by the primary key instead (see #commit). A nested or failed write forgets it.
   */
  #cachedHead: { seq: number; hash: Uint8Array; version: number } | undefined;
  readonly #dataVersion: Statement;

  constructor(options: AuditLogOptions) {
    if (!Number.isInteger(options.checkpointEvery) || options.checkpointEvery < 1) throw new RangeError('checkpointEvery must be an integer ≥ 1');
    this.#o = options;
    this.hubId = options.hubId;
    const db = options.store.db;
    this.#insert = db.prepare(`INSERT INTO audit_events (seq, wall_ms, mono_ms, type, body, prev_hash, hash) VALUES ${ROW}`);
    this.#insertChunk = db.prepare(`INSERT INTO audit_events (seq, wall_ms, mono_ms, type, body, prev_hash, hash) VALUES ${Array(CHUNK_ROWS).fill(ROW).join(', ')}`);
    this.#insertCheckpoint = db.prepare('INSERT OR IGNORE INTO audit_checkpoints (seq, head_hash, wall_ms, signature) VALUES (?, ?, ?, ?)');
    this.#lastRow = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1');
    this.#readFrom = db.prepare('SELECT seq, wall_ms, mono_ms, type, body, prev_hash, hash FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?');
    this.#unsent = db.prepare('SELECT seq, head_hash, wall_ms, signature FROM audit_checkpoints WHERE seq > ? AND sent = 0 ORDER BY seq LIMIT ?');
    this.#dataVersion = db.prepare('PRAGMA data_version').pluck(true);
  }

  append(event: AuditEvent): ChainedRecord {
    const c = checkEvent(event.type, event.body);
    if (!c.ok) throw new HubError(ErrorCode.AUDIT_EVENT_INVALID, c.problem);
    const [record] = this.#commit([c.event], isSecurityEvent(c.event.type) ? 'full' : 'normal');
    return record as ChainedRecord;
  }

  /** Appends in one transaction (FULL if any event is a security event); returns the records. */
  appendMany(events: readonly AuditEvent[]): ChainedRecord[] {
    const checked = events.map((e) => {
      const c = checkEvent(e.type, e.body);
      if (!c.ok) throw new HubError(ErrorCode.AUDIT_EVENT_INVALID, c.problem);
      return c.event;
    });
    if (checked.length === 0) return [];
    return this.#commit(checked, checked.some((e) => isSecurityEvent(e.type)) ? 'full' : 'normal');
  }

  #commit(checked: readonly AuditEvent[], durability: Durability): ChainedRecord[] {
    const wallMs = Math.floor(this.#o.clock.now());
    const monoMs = Math.floor(this.#o.clock.monotonic());
    // Inside someone else's transaction (a savepoint) an outer rollback could undo this append
    // behind the cache's back: then the cache is neither used nor kept.
    const outermost = !this.#o.store.db.inTransaction;
    if (!outermost) this.#cachedHead = undefined;
    let version = 0;
    try {
      const out = this.#o.store.write(durability, () => {
        // Inside the write lock: no other connection can commit until this one does.
        version = this.#dataVersion.get() as number;
        const cached = this.#cachedHead?.version === version ? this.#cachedHead : undefined;
        try {
          return this.#chainAndInsert(checked, wallMs, monoMs, cached ?? this.#head());
        } catch (err) {
          // The cached head's next seq is taken: another log on this connection appended since
          // (SQLite's primary key says so; nothing else adds rows). Statement-level rollback
          // keeps the transaction; chain again from the head as the table has it.
          if (cached === undefined || (err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
          this.#cachedHead = undefined;
          return this.#chainAndInsert(checked, wallMs, monoMs, this.#head());
        }
      });
      // Committed: the head is ours to remember (our own commits leave data_version as it was).
      const last = out[out.length - 1] as ChainedRecord;
      this.#cachedHead = outermost ? { seq: last.seq, hash: last.hash, version } : undefined;
      return out;
    } catch (err) {
      this.#cachedHead = undefined;
      if (err instanceof HubError) throw err;
      throw new HubError(ErrorCode.AUDIT_WRITE_FAILED, `audit write of ${checked.map((e) => e.type).join(', ')} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  #chainAndInsert(checked: readonly AuditEvent[], wallMs: number, monoMs: number, head: { seq: number; hash: Uint8Array }): ChainedRecord[] {
    let { seq, hash } = head;
    const startSeq = seq;
    const out: ChainedRecord[] = [];
    const params = this.#chunkParams;
    const encoder = this.#encoder;
    const whole = checked.length - (checked.length % CHUNK_ROWS);
    try {
      for (let i = 0; i < checked.length; i++) {
        const event = checked[i] as AuditEvent;
        seq += 1;
        const record: ChainedRecord = { seq, wallMs, monoMs, event, prevHash: hash, hash };
        // body is a view into the encoder's buffer, valid until release(); better-sqlite3
        // copies it when binding.
        const { hash: next, body } = encoder.chain(hash, record);
        if (i < whole) {
          const o = (i % CHUNK_ROWS) * 7;
          params[o] = seq;
          params[o + 1] = wallMs;
          params[o + 2] = monoMs;
          params[o + 3] = event.type;
          params[o + 4] = body;
          params[o + 5] = hash;
          params[o + 6] = next;
          if (i % CHUNK_ROWS === CHUNK_ROWS - 1) {
            this.#insertChunk.run(params);
            encoder.release();
          }
        } else {
          this.#insert.run(seq, wallMs, monoMs, event.type, body, hash, next);
          encoder.release();
        }
        record.hash = next;
        out.push(record);
        hash = next;
      }
    } finally {
      if (whole > 0) params.fill(undefined);
      encoder.release();
    }
    const every = this.#o.checkpointEvery;
    if (Math.floor(seq / every) > Math.floor(startSeq / every)) this.#sign(seq, hash, wallMs);
    return out;
  }

  /** The last seq and its hash (after a full prune, the checkpoint at the cut). */
  head(): { seq: number; hash: Uint8Array } {
    return this.#head();
  }

  /** Signs a checkpoint at the current head now (on demand); returns it. */
  checkpointNow(): Checkpoint {
    return this.#o.store.write('full', () => {
      const { seq, hash } = this.#head();
      return this.#sign(seq, hash, Math.floor(this.#o.clock.now()));
    });
  }

  /** Signs a checkpoint at an existing seq (export ends, retention cuts); returns it. */
  checkpointAt(seq: number): Checkpoint {
    return this.#o.store.write('full', () => this.#checkpointAtInTx(seq));
  }

  #checkpointAtInTx(seq: number): Checkpoint {
    const existing = this.#checkpointRow(seq);
    if (existing !== undefined) return this.#toCheckpoint(existing);
    const row = this.#o.store.db.prepare('SELECT hash FROM audit_events WHERE seq = ?').get(seq) as { hash: Uint8Array } | undefined;
    if (row === undefined) throw new HubError(ErrorCode.AUDIT_RANGE_INVALID, `no audit entry at seq ${seq} to checkpoint`);
    return this.#sign(seq, row.hash, Math.floor(this.#o.clock.now()));
  }

  /** Up to `limit` records from `fromSeq` on, in seq order. */
  read(fromSeq: number, limit: number): ChainedRecord[] {
    return (this.#readFrom.all(fromSeq, limit) as Row[]).map(toRecord);
  }

  checkpoints(from: number, to: number): Checkpoint[] {
    const rows = this.#o.store.db
      .prepare('SELECT seq, head_hash, wall_ms, signature FROM audit_checkpoints WHERE seq BETWEEN ? AND ? ORDER BY seq')
      .all(from, to) as CheckpointRow[];
    return rows.map((r) => this.#toCheckpoint(r));
  }

  /** Checkpoints after `afterSeq` the cloud has not yet acknowledged (the outbox sends them along). */
  unsentCheckpoints(afterSeq: number, limit: number): Checkpoint[] {
    return (this.#unsent.all(afterSeq, limit) as CheckpointRow[]).map((r) => this.#toCheckpoint(r));
  }

  markCheckpointsSent(throughSeq: number): void {
    this.#markSent ??= this.#o.store.db.prepare('UPDATE audit_checkpoints SET sent = 1 WHERE seq <= ? AND sent = 0');
    const stmt = this.#markSent;
    this.#o.store.write('normal', () => stmt.run(throughSeq));
  }

  /** The lowest seq still stored, or head + 1 when nothing is. */
  firstSeq(): number {
    const row = this.#o.store.db.prepare('SELECT min(seq) AS s FROM audit_events').get() as { s: number | null };
    return row.s ?? this.#head().seq + 1;
  }

  state(): { ackedThrough: number; prunedThrough: number } {
    this.#stateRow ??= this.#o.store.db.prepare('SELECT acked_through AS a, pruned_through AS p FROM audit_state WHERE id = 1');
    const row = this.#stateRow.get() as { a: number; p: number };
    return { ackedThrough: row.a, prunedThrough: row.p };
  }

  /** Records the cloud's cumulative ack; an ack beyond the head or backwards is ignored (returns false). */
  ack(throughSeq: number): boolean {
    this.#setAcked ??= this.#o.store.db.prepare('UPDATE audit_state SET acked_through = ? WHERE id = 1');
    const stmt = this.#setAcked;
    return this.#o.store.write('normal', () => {
      const { ackedThrough } = this.state();
      if (throughSeq <= ackedThrough || throughSeq > this.#head().seq) return false;
      stmt.run(throughSeq);
      return true;
    });
  }

  /** Entries not yet acknowledged by the cloud. */
  backlog(): number {
    return this.#head().seq - this.state().ackedThrough;
  }

  /**
   * Retention: removes entries acked by the cloud (which holds them from then on) and written before
   * `beforeWallMs`, after signing a checkpoint at the cut so the remaining chain still verifies
   * from a signed point. Records the prune itself as an audit event. Returns how many went.
   */
  prune(beforeWallMs: number): number {
    const { ackedThrough, prunedThrough } = this.state();
    const row = this.#o.store.db
      .prepare('SELECT max(seq) AS s FROM audit_events WHERE seq <= ? AND wall_ms < ?')
      .get(ackedThrough, beforeWallMs) as { s: number | null };
    const cut = row.s;
    if (cut === null || cut <= prunedThrough) return 0;
    const count = this.#o.store.write('full', (db) => {
      this.#checkpointAtInTx(cut);
      db.prepare('UPDATE audit_state SET pruned_through = ? WHERE id = 1').run(cut);
      return db.prepare('DELETE FROM audit_events WHERE seq <= ?').run(cut).changes;
    });
    this.#o.log.info({ throughSeq: cut, count }, 'audit log pruned');
    if (count > 0) this.append({ type: 'prune', body: { throughSeq: cut, count } });
    return count;
  }

  #head(): { seq: number; hash: Uint8Array } {
    const row = this.#lastRow.get() as { seq: number; hash: Uint8Array } | undefined;
    if (row !== undefined) return { seq: row.seq, hash: row.hash };
    const { prunedThrough } = this.state();
    if (prunedThrough === 0) return { seq: 0, hash: GENESIS_HASH };
    const cut = this.#checkpointRow(prunedThrough);
    if (cut === undefined) throw new HubError(ErrorCode.AUDIT_CHAIN_BROKEN, `audit log pruned through ${prunedThrough} but no checkpoint anchors the cut`);
    return { seq: cut.seq, hash: cut.head_hash };
  }

  #checkpointRow(seq: number): CheckpointRow | undefined {
    this.#checkpointAt ??= this.#o.store.db.prepare('SELECT seq, head_hash, wall_ms, signature FROM audit_checkpoints WHERE seq = ?');
    return this.#checkpointAt.get(seq) as CheckpointRow | undefined;
  }

  #sign(seq: number, headHash: Uint8Array, wallMs: number): Checkpoint {
    const cp = signCheckpoint({ hubId: this.hubId, seq, headHash: new Uint8Array(headHash), wallMs }, this.#o.hubKey.privateKey);
    this.#insertCheckpoint.run(cp.seq, cp.headHash, cp.wallMs, cp.signature);
    return cp;
  }

  #toCheckpoint(r: CheckpointRow): Checkpoint {
    return { hubId: this.hubId, seq: r.seq, headHash: new Uint8Array(r.head_hash), wallMs: r.wall_ms, signature: new Uint8Array(r.signature) };
  }

  // Statements the cloud link runs per batch or per ack, prepared on first use.
  #stateRow: Statement | undefined;
  #setAcked: Statement | undefined;
  #markSent: Statement | undefined;
  #checkpointAt: Statement | undefined;

  // Read side of the cloud link (hub/cloud/outbox.ts): entries as the wire carries them.
  #batchRows: Statement | undefined;
  #prevHashAt: Statement | undefined;
  #hashAt: Statement | undefined;

  /**
   * Up to `limit` entries from `fromSeq` on as batch rows (protocols/audit/batch.ts: seq, wall,
   * mono, type, body as stored, hash) and the first one's previous hash, or undefined when there is
   * none. No body is decoded and no object is made per row: the statement runs in raw (array)
   * mode, and body and hash come as hex strings from SQLite's hex(), which the batch encoder
   * decodes straight into its buffer — a Buffer per blob would be an external backing store per
   * row, which V8 collects lazily (the hub's RSS grew with the backlog drained).
   */
  readBatch(fromSeq: number, limit: number): { prevHash: Uint8Array; rows: BatchRow[] } | undefined {
    this.#batchRows ??= this.#o.store.db.prepare('SELECT seq, wall_ms, mono_ms, type, hex(body), hex(hash) FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?').raw(true);
    const rows = this.#batchRows.all(fromSeq, limit) as BatchRow[];
    const first = rows[0];
    if (first === undefined) return undefined;
    this.#prevHashAt ??= this.#o.store.db.prepare('SELECT prev_hash FROM audit_events WHERE seq = ?').pluck(true);
    return { prevHash: this.#prevHashAt.get(first[0]) as Uint8Array, rows };
  }

  /** The hash of the entry at `seq`, if it is still stored (the outbox checks acks against it). */
  hashAt(seq: number): Uint8Array | undefined {
    this.#hashAt ??= this.#o.store.db.prepare('SELECT hash FROM audit_events WHERE seq = ?').pluck(true);
    return this.#hashAt.get(seq) as Uint8Array | undefined;
  }

  #unsentThrough: Statement | undefined;

  /** Checkpoints in (afterSeq, throughSeq] not yet acknowledged by the cloud: those a batch ending at throughSeq carries. */
  unsentCheckpointsThrough(afterSeq: number, throughSeq: number, limit: number): Checkpoint[] {
    this.#unsentThrough ??= this.#o.store.db.prepare('SELECT seq, head_hash, wall_ms, signature FROM audit_checkpoints WHERE seq > ? AND seq <= ? AND sent = 0 ORDER BY seq LIMIT ?');
    return (this.#unsentThrough.all(afterSeq, throughSeq, limit) as CheckpointRow[]).map((r) => this.#toCheckpoint(r));
  }
}

function toRecord(row: Row): ChainedRecord {
  // Bodies were checked against the closed set when written; decoding is strict and canonical.
  const body = canonicalDecode(row.body) as Record<string, unknown>;
  return {
    seq: row.seq,
    wallMs: row.wall_ms,
    monoMs: row.mono_ms,
    event: { type: row.type as AuditEventType, body } as AuditEvent,
    // better-sqlite3 hands blobs back as Buffers, which are Uint8Arrays: no copy needed.
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
