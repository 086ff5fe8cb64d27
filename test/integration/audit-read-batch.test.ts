import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalEncode } from '../../protocols/audit/canonical.js';
import { GENESIS_HASH } from '../../protocols/audit/chain.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import type { Store } from '../../hub/store/store.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { tempDir } from '../support/temp-dir.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The outbox's read side of the audit log: entries as the wire carries them, straight from SQLite. */
describe('the audit log read for the cloud link', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let audit: AuditLog;

  beforeEach(async () => {
    dir = tempDir('keyhub-audit-batch-');
    store = await openAuditStore(dir.path);
    audit = auditLogOn(store, new FakeClock(), 50);
  });
  afterEach(() => {
    store.close();
    dir.cleanup();
  });

  const events = (n: number): AuditEvent[] =>
    Array.from({ length: n }, (_, i): AuditEvent => (i % 2 === 0 ? { type: 'clip', body: { clipId: `clip-${i}`, state: 'finished' } } : { type: 'config.change', body: { paths: ['a'.repeat(i % 100)], by: 'cli' } }));

  it('hands over each entry with its stored body bytes and hash, exactly as read() sees them', () => {
    audit.appendMany(events(300));
    audit.appendMany(events(300));
    for (const from of [1, 2, 250, 599]) {
      const batch = audit.readBatch(from, 100)!;
      const records = audit.read(from, 100);
      expect(batch.rows.map((r) => r[0])).toEqual(records.map((r) => r.seq));
      expect(hex(batch.prevHash)).toBe(hex(records[0]!.prevHash));
      batch.rows.forEach(([seq, wallMs, monoMs, type, body, hash], i) => {
        const r = records[i]!;
        expect({ seq, wallMs, monoMs, type }).toEqual({ seq: r.seq, wallMs: r.wallMs, monoMs: r.monoMs, type: r.event.type });
        // SQLite's hex() of the stored blobs: uppercase, exactly the bytes.
        expect(body).toBe(hex(canonicalEncode(r.event.body)).toUpperCase());
        expect(hash).toBe(hex(r.hash).toUpperCase());
      });
    }
    expect(hex(audit.readBatch(1, 1)!.prevHash)).toBe(hex(GENESIS_HASH));
    expect(audit.readBatch(601, 10)).toBeUndefined();
  });

  it('looks up the hash of one stored entry, or nothing', () => {
    audit.appendMany(events(10));
    expect(hex(audit.hashAt(7)!)).toBe(hex(audit.read(7, 1)[0]!.hash));
    expect(audit.hashAt(11)).toBeUndefined();
    expect(audit.hashAt(0)).toBeUndefined();
  });

  it('lists the unacknowledged checkpoints a batch reaches, and no later ones', () => {
    for (let i = 0; i < 4; i++) audit.appendMany(events(50));
    expect(audit.unsentCheckpointsThrough(0, 120, 64).map((c) => c.seq)).toEqual([50, 100]);
    expect(audit.unsentCheckpointsThrough(50, 200, 64).map((c) => c.seq)).toEqual([100, 150, 200]);
    expect(audit.unsentCheckpointsThrough(0, 200, 2).map((c) => c.seq)).toEqual([50, 100]);
    audit.ack(100);
    audit.markCheckpointsSent(100);
    expect(audit.unsentCheckpointsThrough(0, 200, 64).map((c) => c.seq)).toEqual([150, 200]);
  });
});
