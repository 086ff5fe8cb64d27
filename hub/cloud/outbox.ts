import { toHex, type ChainedRecord } from '../../protocols/audit/chain.js';
import type { Checkpoint } from '../../protocols/audit/checkpoint.js';
import { toWireCheckpoint, toWireEvent } from '../../protocols/audit/wire.js';
import { decodePayload, MAX_BATCH_EVENTS, type PayloadOf } from '../../protocols/mqtt/contract.js';
import type { Clock, Timer } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { CloudLink, IncomingMessage } from './link.js';

/** What the outbox needs of the audit log (hub/store/audit-log.ts implements it). */
export interface OutboxSource {
  readonly hubId: string;
  read(fromSeq: number, limit: number): ChainedRecord[];
  head(): { seq: number; hash: Uint8Array };
  state(): { ackedThrough: number };
  ack(throughSeq: number): boolean;
  unsentCheckpoints(afterSeq: number, limit: number): Checkpoint[];
  markCheckpointsSent(throughSeq: number): void;
}

/** What the outbox needs of the link. */
export type OutboxLink = Pick<CloudLink, 'connected' | 'on' | 'publish' | 'setState'>;

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
 * The durable audit outbox (issue 8, Cloud link 3). The database is the queue: entries leave in
 * batches (bounded by count and by time) at QoS 1, at most `maxInFlight` batches unacked, and
 * stay until the cloud's cumulative ack on `acks` covers them. After a reconnect or an ack timeout
 * the outbox goes back to the last ack and resends (the cloud dedupes by (hubId, seq)). It holds
 * at most maxInFlight × batchSize entries' worth of bookkeeping, never the backlog, so memory is
 * flat however long the cloud was away.
 */
export class Outbox implements Module {
  readonly name = 'cloud-outbox';
  readonly #o: Required<OutboxOptions>;
  #inFlight: InFlight[] = [];
  #sentThrough = 0;
  #checkpointsSentThrough = 0;
  #generation = 0;
  #pumping = false;
  #batchTimer: Timer | undefined;
  #poll: Timer | undefined;
  #unsubscribe: (() => void) | undefined;
  #published = 0;
  #resends = 0;

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
        const records = this.#o.source.read(this.#sentThrough + 1, this.#o.batchSize);
        const first = records[0];
        if (first === undefined) return;
        if (records.length < this.#o.batchSize && this.#inFlight.length > 0) {
          // A partial batch behind others: wait for company, at most batchDelayMs.
          this.#batchTimer ??= this.#o.clock.setTimeout(() => {
            this.#batchTimer = undefined;
            this.#sendPartial();
          }, this.#o.batchDelayMs);
          return;
        }
        this.#send(records);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #sendPartial(): void {
    if (!this.#o.link.connected || this.#inFlight.length >= this.#o.maxInFlight) return;
    const records = this.#o.source.read(this.#sentThrough + 1, this.#o.batchSize);
    if (records.length > 0) this.#send(records);
    this.#pump();
  }

  #send(records: ChainedRecord[]): void {
    const from = (records[0] as ChainedRecord).seq;
    const to = (records.at(-1) as ChainedRecord).seq;
    const checkpoints = this.#o.source
      .unsentCheckpoints(Math.max(this.#checkpointsSentThrough, this.#o.source.state().ackedThrough), 64)
      .filter((c) => c.seq <= to)
      .map(toWireCheckpoint);
    const payload: PayloadOf<'events'> = { hubId: this.#o.source.hubId, events: records.map(toWireEvent), checkpoints };
    const generation = this.#generation;
    this.#inFlight.push({ from, to, sentAt: this.#o.clock.monotonic() });
    this.#sentThrough = to;
    if (checkpoints.length > 0) this.#checkpointsSentThrough = Math.max(...checkpoints.map((c) => c.seq));
    this.#published += 1;
    this.#o.link.publish('events', payload).catch((err: unknown) => {
      if (generation !== this.#generation) return;
      // PUBACK never came (link dropped mid-send): the reconnect restarts from the last ack.
      this.#o.log.warn({ from, to, err: (err as Error).message }, 'events batch not acknowledged by the broker');
    });
  }

  #onMessage(message: IncomingMessage): void {
    if (message.name !== 'acks') return;
    const decoded = decodePayload('acks', message.payload);
    if (!decoded.ok) {
      this.#o.log.warn({ problem: decoded.problem }, 'malformed ack refused');
      return;
    }
    const { through, hash } = decoded.value;
    const [entry] = this.#o.source.read(through, 1);
    // An ack binds to this hub's chain by the acked entry's hash; anything else is forged or stale.
    if (entry === undefined || entry.seq !== through || toHex(entry.hash) !== hash) {
      this.#o.log.warn({ through }, 'ack for an entry this hub did not write (or with the wrong hash) refused');
      return;
    }
    if (this.#o.source.ack(through)) {
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
    const acked = this.#o.source.state().ackedThrough;
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
