import { BatchEncoder, MAX_BATCH_CHECKPOINTS, rowsThatFit, type BatchRow } from '../../protocols/audit/batch.js';
import { toHex } from '../../protocols/audit/chain.js';
import type { Checkpoint } from '../../protocols/audit/checkpoint.js';
import { decodePayload, MAX_BATCH_EVENTS, TOPICS } from '../../protocols/mqtt/contract.js';
import type { Clock, Timer } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { CloudLink, IncomingMessage } from './link.js';

/** What the outbox needs of the audit log (hub/store/audit-log.ts implements it). */
export interface OutboxSource {
  readonly hubId: string;
  /** Up to `limit` entries from `fromSeq` as batch rows, and the first one's previous hash. */
  readBatch(fromSeq: number, limit: number): { prevHash: Uint8Array; rows: BatchRow[] } | undefined;
  /** The hash of the stored entry at `seq`, if any. */
  hashAt(seq: number): Uint8Array | undefined;
  head(): { seq: number; hash: Uint8Array };
  state(): { ackedThrough: number };
  ack(throughSeq: number): boolean;
  /** Checkpoints in (afterSeq, throughSeq] the cloud has not acknowledged, in seq order. */
  unsentCheckpointsThrough(afterSeq: number, throughSeq: number, limit: number): Checkpoint[];
  markCheckpointsSent(throughSeq: number): void;
}

/** What the outbox needs of the link. */
export type OutboxLink = Pick<CloudLink, 'connected' | 'on' | 'publishBytes' | 'setState'>;

export interface OutboxOptions {
  source: OutboxSource;
  link: OutboxLink;
  clock: Clock;
  log: Logger;
  version: string;
  /** Entries per batch (≤ MAX_BATCH_EVENTS). */
  batchSize?: number;
  /** A partial batch waits at most this long for company (monotonic ms). */
  batchDelayMs?: number;
  /** Batches sent and not yet acked by the cloud, at most. */
  maxInFlight?: number;
  /** No ack for the oldest batch within this: resend from the last ack (go-back-N). */
  ackTimeoutMs?: number;
  /** Poll for new entries this often when idle (appends also call `wake`). */
  pollMs?: number;
}

interface InFlight {
  from: number;
  to: number;
  sentAt: number;
}

/**
 * The durable audit outbox (DESIGN.md, "Cloud link"). The database is the queue: entries leave in
 * batches (bounded by count and by time) at QoS 1, at most `maxInFlight` batches unacked, and
 * stay until the cloud's cumulative ack on `acks` covers them. After a reconnect or an ack timeout
 * the outbox goes back to the last ack and resends (the cloud dedupes by (hubId, seq)). It holds
 * at most maxInFlight × batchSize entries' worth of bookkeeping, never the backlog, so memory is
 * flat however long the cloud was away.
 *
 * Batches are built straight from the stored rows (protocols/audit/batch.ts): each body's stored
 * canonical bytes and its hash go out as they are, so the outbox decodes nothing and validates
 * nothing it wrote itself (the batch's decoder is held to its encoder by tests instead).
 */
export class Outbox implements Module {
  readonly name = 'cloud-outbox';
  readonly #o: Required<OutboxOptions>;
  #inFlight: InFlight[] = [];
  #sentThrough = 0;
  #checkpointsSentThrough = 0;
  /** The store's ackedThrough, read at (re)start and kept as acks land (no read per batch). */
  #ackedThrough = 0;
  #generation = 0;
  #pumping = false;
  #batchTimer: Timer | undefined;
  #poll: Timer | undefined;
  #unsubscribe: (() => void) | undefined;
  #published = 0;
  #resends = 0;
  /** One reusable batch buffer. */
  readonly #encoder = new BatchEncoder();
  /**
   * Payload buffers handed to the link, taken back once the publish settles (PUBACK, or the
   * connection dropped and mqtt.js let go of it). A fresh ArrayBuffer per batch outlives a few
   * young-generation GCs while it waits for its PUBACK, gets promoted, and then waits for a full
   * GC, which a small heap rarely triggers: the hub's RSS grew with the backlog drained
   * (test/bench/audit.bench.ts, RSS_CURVE=1: arrayBuffers +10 MB per 100,000 entries).
   */
  readonly #freePayloads: Buffer[] = [];

  constructor(options: OutboxOptions) {
    this.#o = { batchSize: 200, batchDelayMs: 250, maxInFlight: 4, ackTimeoutMs: 15_000, pollMs: 1000, ...options };
    if (this.#o.batchSize < 1 || this.#o.batchSize > MAX_BATCH_EVENTS) throw new RangeError(`batchSize must be 1..${MAX_BATCH_EVENTS}`);
    if (this.#o.maxInFlight < 1) throw new RangeError('maxInFlight must be ≥ 1');
  }

  start(): void {
    this.#unsubscribe = this.#o.link.on({
      onConnect: () => this.#restart('connected'),
      onDisconnect: () => this.#reset(),
      onMessage: (m) => this.#onMessage(m),
    });
    this.#poll = this.#o.clock.setInterval(() => this.#tick(), this.#o.pollMs);
    if (this.#o.link.connected) this.#restart('started');
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#poll?.cancel();
    this.#batchTimer?.cancel();
    this.#reset();
  }

  /** New entries were appended: send them soon. */
  wake(): void {
    this.#pump();
  }

  status(): { backlog: number; inFlight: number; ackedThrough: number; sentThrough: number; published: number; resends: number } {
    const acked = this.#o.source.state().ackedThrough;
    return {
      backlog: this.#o.source.head().seq - acked,
      inFlight: this.#inFlight.length,
      ackedThrough: acked,
      sentThrough: this.#sentThrough,
      published: this.#published,
      resends: this.#resends,
    };
  }

  #reset(): void {
    this.#generation += 1;
    this.#inFlight = [];
    this.#batchTimer?.cancel();
    this.#batchTimer = undefined;
  }

  #restart(why: string): void {
    this.#reset();
    const acked = this.#o.source.state().ackedThrough;
    this.#ackedThrough = acked;
    if (this.#sentThrough > acked) this.#resends += 1;
    this.#sentThrough = acked;
    this.#checkpointsSentThrough = 0;
    this.#o.log.info({ why, from: acked + 1, backlog: this.#o.source.head().seq - acked }, 'outbox (re)starting from the last ack');
    this.#publishState();
    this.#pump();
  }

  #tick(): void {
    const oldest = this.#inFlight[0];
    if (oldest !== undefined && this.#o.clock.monotonic() - oldest.sentAt > this.#o.ackTimeoutMs) {
      this.#o.log.warn({ from: oldest.from, to: oldest.to }, 'no ack in time: resending from the last ack');
      if (this.#o.link.connected) this.#restart('ack timeout');
      return;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#pumping || !this.#o.link.connected) return;
    this.#pumping = true;
    try {
      while (this.#inFlight.length < this.#o.maxInFlight) {
        const batch = this.#o.source.readBatch(this.#sentThrough + 1, this.#o.batchSize);
        if (batch === undefined) return;
        const partial = batch.rows.length < this.#o.batchSize && rowsThatFit(this.#o.source.hubId, batch.rows, [], TOPICS.events.payload.maxBytes) === batch.rows.length;
        if (partial && this.#inFlight.length > 0) {
          // A partial batch (short of entries and of bytes) behind others: wait for company, at most batchDelayMs.
          this.#batchTimer ??= this.#o.clock.setTimeout(() => {
            this.#batchTimer = undefined;
            this.#sendPartial();
          }, this.#o.batchDelayMs);
          return;
        }
        this.#send(batch.prevHash, batch.rows);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #sendPartial(): void {
    if (!this.#o.link.connected || this.#inFlight.length >= this.#o.maxInFlight) return;
    const batch = this.#o.source.readBatch(this.#sentThrough + 1, this.#o.batchSize);
    if (batch !== undefined) this.#send(batch.prevHash, batch.rows);
    this.#pump();
  }

  #send(prevHash: Uint8Array, rows: BatchRow[]): void {
    const from = (rows[0] as BatchRow)[0];
    let checkpoints = this.#o.source.unsentCheckpointsThrough(Math.max(this.#checkpointsSentThrough, this.#ackedThrough), (rows.at(-1) as BatchRow)[0], MAX_BATCH_CHECKPOINTS + 1);
    if (checkpoints.length > MAX_BATCH_CHECKPOINTS) {
      // More checkpoints than a batch carries (checkpointEvery far below the batch size): the batch
      // ends at the last one it carries, so an ack, which marks the checkpoints it covers as
      // received, never covers one that was not sent.
      checkpoints = checkpoints.slice(0, MAX_BATCH_CHECKPOINTS);
      const last = (checkpoints.at(-1) as Checkpoint).seq;
      rows = rows.filter((r) => r[0] <= last);
    }
    const hubId = this.#o.source.hubId;
    const maxBytes = TOPICS.events.payload.maxBytes;
    let { view, count } = this.#encoder.encodeRowsView(hubId, prevHash, rows, checkpoints, maxBytes);
    if (count < rows.length) {
      // Large bodies: fewer entries fit under the cap, and only the checkpoints they reach go along.
      checkpoints = checkpoints.filter((c) => c.seq <= (rows[count - 1] as BatchRow)[0]);
      ({ view, count } = this.#encoder.encodeRowsView(hubId, prevHash, rows.slice(0, count), checkpoints, maxBytes));
    }
    const buffer = this.#takePayload(view.length);
    buffer.set(view, 0);
    const bytes = buffer.subarray(0, view.length);
    const to = (rows[count - 1] as BatchRow)[0];
    const generation = this.#generation;
    this.#inFlight.push({ from, to, sentAt: this.#o.clock.monotonic() });
    this.#sentThrough = to;
    if (checkpoints.length > 0) this.#checkpointsSentThrough = Math.max(...checkpoints.map((c) => c.seq));
    this.#published += 1;
    this.#o.link
      .publishBytes('events', bytes)
      .catch((err: unknown) => {
        if (generation !== this.#generation) return;
        // PUBACK never came (link dropped mid-send): the reconnect restarts from the last ack.
        this.#o.log.warn({ from, to, err: (err as Error).message }, 'events batch not acknowledged by the broker');
      })
      .finally(() => this.#givePayload(buffer));
  }

  #takePayload(length: number): Buffer {
    const i = this.#freePayloads.findIndex((b) => b.length >= length);
    if (i >= 0) return this.#freePayloads.splice(i, 1)[0] as Buffer;
    // Room for a typical batch to grow into; a batch is at most the contract's cap.
    return Buffer.allocUnsafeSlow(Math.min(TOPICS.events.payload.maxBytes, Math.max(2 * length, 64 * 1024)));
  }

  #givePayload(buffer: Buffer): void {
    if (this.#freePayloads.length < this.#o.maxInFlight + 1) this.#freePayloads.push(buffer);
  }

  #onMessage(message: IncomingMessage): void {
    if (message.name !== 'acks') return;
    const decoded = decodePayload('acks', message.payload);
    if (!decoded.ok) {
      this.#o.log.warn({ problem: decoded.problem }, 'malformed ack refused');
      return;
    }
    const { through, hash } = decoded.value;
    const stored = this.#o.source.hashAt(through);
    // An ack binds to this hub's chain by the acked entry's hash; anything else is forged or stale.
    if (stored === undefined || toHex(stored) !== hash) {
      this.#o.log.warn({ through }, 'ack for an entry this hub did not write (or with the wrong hash) refused');
      return;
    }
    if (this.#o.source.ack(through)) {
      this.#ackedThrough = through;
      this.#o.source.markCheckpointsSent(through);
      this.#inFlight = this.#inFlight.filter((b) => b.to > through);
      if (through > this.#sentThrough) this.#sentThrough = through;
      this.#publishState();
    }
    this.#pump();
  }

  #lastStateAt = Number.NEGATIVE_INFINITY;

  #publishState(): void {
    const now = this.#o.clock.monotonic();
    const { seq } = this.#o.source.head();
    const acked = this.#ackedThrough;
    // The backlog is in the retained state; at most once a second, and always when it empties.
    if (now - this.#lastStateAt < 1000 && seq !== acked) return;
    this.#lastStateAt = now;
    this.#o.link.setState({
      hubId: this.#o.source.hubId,
      atMs: Math.floor(this.#o.clock.now()),
      version: this.#o.version,
      audit: { headSeq: seq, ackedThrough: acked, backlog: seq - acked },
    });
  }
}
