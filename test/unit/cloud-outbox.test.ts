import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_BATCH_CHECKPOINTS } from '../../protocols/audit/batch.js';
import { toHex } from '../../protocols/audit/chain.js';
import { decodePayload, encodePayload, TOPICS, type PayloadOf } from '../../protocols/mqtt/contract.js';
import type { LinkEvents } from '../../hub/cloud/link.js';
import { Outbox, type OutboxSource } from '../../hub/cloud/outbox.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import type { Store } from '../../hub/store/store.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

/** A link under the test's control: publishes are recorded, the broker is the test. */
class FakeLink {
  connected = false;
  readonly batches: PayloadOf<'events'>[] = [];
  readonly sizes: number[] = [];
  readonly states: PayloadOf<'state'>[] = [];
  #handlers: LinkEvents[] = [];
  on(h: LinkEvents): () => void {
    this.#handlers.push(h);
    return () => (this.#handlers = this.#handlers.filter((x) => x !== h));
  }
  async publishBytes(name: string, payload: Uint8Array): Promise<void> {
    if (!this.connected) throw new Error('not connected');
    if (name !== 'events') return;
    this.sizes.push(payload.length);
    // What the cloud would do: decode by the contract (a batch off contract fails the test).
    const decoded = decodePayload('events', payload);
    if (!decoded.ok) throw new Error(`batch off contract: ${decoded.problem}`);
    this.batches.push(decoded.value);
  }
  setState(value: PayloadOf<'state'>): void {
    this.states.push(value);
  }
  up(): void {
    this.connected = true;
    for (const h of this.#handlers) h.onConnect?.();
  }
  down(): void {
    this.connected = false;
    for (const h of this.#handlers) h.onDisconnect?.();
  }
  ack(through: number, hash: string): void {
    for (const h of this.#handlers) h.onMessage?.({ name: 'acks', payload: encodePayload('acks', { through, hash }) });
  }
}

describe('the audit outbox', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: FakeClock;
  let audit: AuditLog;
  let link: FakeLink;
  let outbox: Outbox;
  let largestRead = 0;

  beforeEach(async () => {
    dir = tempDir('keyhub-outbox-');
    store = await openAuditStore(dir.path);
    clock = new FakeClock();
    audit = auditLogOn(store, clock, 50);
    link = new FakeLink();
    largestRead = 0;
    outbox = new Outbox({ source: outboxSource(), link, clock, log: silentLog(), version: 'test', batchSize: 10, maxInFlight: 3, batchDelayMs: 200, ackTimeoutMs: 5000, pollMs: 100 });
    outbox.start();
  });
  afterEach(() => {
    outbox.stop();
    store.close();
    dir.cleanup();
  });

  function outboxSource(): OutboxSource {
    return {
      hubId: audit.hubId,
      readBatch: (from, limit) => {
        largestRead = Math.max(largestRead, limit);
        return audit.readBatch(from, limit);
      },
      hashAt: (seq) => audit.hashAt(seq),
      head: () => audit.head(),
      state: () => audit.state(),
      ack: (n) => audit.ack(n),
      unsentCheckpointsThrough: (after, through, n) => audit.unsentCheckpointsThrough(after, through, n),
      markCheckpointsSent: (n) => audit.markCheckpointsSent(n),
    };
  }

  const append = (n: number) => audit.appendMany(Array.from({ length: n }, (_, i) => ({ type: 'clip' as const, body: { clipId: `c${i}`, state: 'finished' as const } })));
  const hashOf = (seq: number) => toHex(audit.read(seq, 1)[0]!.hash);
  const ranges = () => link.batches.map((b) => [b.entries[0]?.seq, b.entries.at(-1)?.seq]);

  it('with a checkpoint every entry, every checkpoint reaches the cloud: a batch ends at the last checkpoint it can carry', async () => {
    const busy = auditLogOn(store, clock, 1);
    const source: OutboxSource = { ...outboxSource(), unsentCheckpointsThrough: (after, through, n) => busy.unsentCheckpointsThrough(after, through, n) };
    const wide = new Outbox({ source, link, clock, log: silentLog(), version: 'test', batchSize: 200, maxInFlight: 1, pollMs: 100 });
    outbox.stop();
    wide.start();
    for (let i = 0; i < 150; i++) busy.append({ type: 'clip', body: { clipId: `c${i}`, state: 'finished' } });
    link.up();
    for (let round = 0; round < 10 && (link.batches.at(-1)?.entries.at(-1)?.seq ?? 0) < 150; round++) {
      const last = link.batches.at(-1)?.entries.at(-1)?.seq ?? 0;
      link.ack(last, toHex(busy.read(last, 1)[0]!.hash));
    }
    wide.stop();
    expect(link.batches.every((b) => b.checkpoints.length <= MAX_BATCH_CHECKPOINTS)).toBe(true);
    const sent = link.batches.flatMap((b) => b.checkpoints.map((c) => c.seq));
    expect(new Set(sent)).toEqual(new Set(Array.from({ length: 150 }, (_, i) => i + 1)));
  });

  it('keeps everything while offline and sends nothing', async () => {
    append(25);
    await clock.advance(10_000);
    expect(link.batches).toHaveLength(0);
    expect(outbox.status().backlog).toBe(25);
  });

  it('sends at most maxInFlight batches until the cloud acks, and never reads more than a batch', async () => {
    append(100);
    link.up();
    expect(ranges()).toEqual([[1, 10], [11, 20], [21, 30]]);
    link.ack(20, hashOf(20));
    expect(ranges().slice(3)).toEqual([[31, 40], [41, 50]]);
    expect(audit.state().ackedThrough).toBe(20);
    expect(largestRead).toBeLessThanOrEqual(10);
  });

  it('sends the first entries at once, and holds a partial batch behind others for at most batchDelayMs', async () => {
    link.up();
    append(3);
    outbox.wake();
    expect(ranges()).toEqual([[1, 3]]);
    append(2);
    outbox.wake();
    await clock.advance(100);
    expect(ranges()).toEqual([[1, 3]]);
    await clock.advance(150);
    expect(ranges()).toEqual([[1, 3], [4, 5]]);
  });

  it('goes back to the last ack and resends when an ack does not come in time', async () => {
    append(30);
    link.up();
    link.ack(10, hashOf(10));
    const before = link.batches.length;
    await clock.advance(5200);
    expect(ranges().slice(before)[0]).toEqual([11, 20]);
    expect(outbox.status().resends).toBe(1);
  });

  it('restarts from the last ack after a reconnect', async () => {
    append(30);
    link.up();
    link.ack(10, hashOf(10));
    link.down();
    link.up();
    expect(ranges().slice(-2)).toEqual([[11, 20], [21, 30]]);
  });

  it('refuses an ack whose hash is not the hash of that entry (forged or for another chain)', () => {
    append(30);
    link.up();
    link.ack(20, '00'.repeat(32));
    link.ack(999, hashOf(20));
    expect(audit.state().ackedThrough).toBe(0);
    link.ack(20, hashOf(20));
    expect(audit.state().ackedThrough).toBe(20);
  });

  it('sends fewer entries per batch when their bodies are large, each batch under the contract cap', async () => {
    outbox.stop();
    const big = new Outbox({ source: outboxSource(), link, clock, log: silentLog(), version: 'test', batchSize: 200, maxInFlight: 50, ackTimeoutMs: 5000, pollMs: 100 });
    big.start();
    // config.change bodies of ~8 KiB: 200 of them would be 1.6 MB, over the 512 KiB cap.
    audit.appendMany(Array.from({ length: 200 }, (_, i) => ({ type: 'config.change' as const, body: { paths: Array.from({ length: 64 }, (_, j) => `${i}.${j}.`.padEnd(128, 'x')), by: 'cli' } })));
    link.up();
    // Batches full by bytes go at once; the short rest waits for company as any partial batch does.
    expect(link.batches.length).toBeGreaterThanOrEqual(3);
    await clock.advance(300);
    big.stop();
    const sizes = link.sizes;
    expect(Math.max(...sizes)).toBeLessThanOrEqual(TOPICS.events.payload.maxBytes);
    expect(link.batches.length).toBeGreaterThan(3);
    expect(link.batches.flatMap((b) => b.entries.map((e) => e.seq))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('carries the checkpoints with the batch that reaches them, and the backlog in the retained state', () => {
    append(60);
    link.up();
    const withCheckpoints = link.batches.flatMap((b) => b.checkpoints.map((c) => c.seq));
    expect(withCheckpoints).toEqual([]);
    link.ack(30, hashOf(30));
    link.ack(50, hashOf(50));
    // One appendMany of 60 crosses the multiple of 50 once: one checkpoint, at its end.
    expect(link.batches.flatMap((b) => b.checkpoints.map((c) => c.seq))).toEqual([60]);
    expect(link.states.at(-1)?.audit).toMatchObject({ headSeq: 60 });
    link.ack(60, hashOf(60));
    expect(link.states.at(-1)?.audit).toEqual({ headSeq: 60, ackedThrough: 60, backlog: 0 });
  });
});
