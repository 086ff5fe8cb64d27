import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../protocols/audit/checkpoint.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { parseExport, type ExportFormat } from '../../protocols/audit/export-file.js';
import { verifyExport } from '../../protocols/audit/verify.js';
import { AuditLog } from '../../hub/store/audit-log.js';
import { exportAudit } from '../../hub/store/audit-export.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import type { Durability, Store } from '../../hub/store/store.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

const door = (state: 'open' | 'closed'): AuditEvent => ({ type: 'door', body: { state } });
const clip = (n: number): AuditEvent => ({ type: 'clip', body: { clipId: `clip-${n}`, state: 'finished' } });

describe('the audit log in the store', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: FakeClock;

  beforeEach(async () => {
    dir = tempDir('keyhub-audit-');
    store = await openAuditStore(dir.path);
    clock = new FakeClock();
  });
  afterEach(() => {
    store.close();
    dir.cleanup();
  });

  function exportTo(log: AuditLog, format: ExportFormat, range: { from?: number; to?: number } = {}): Uint8Array {
    const parts: Uint8Array[] = [];
    exportAudit(log, { ...range, format, nowMs: clock.now() }, (c) => parts.push(c));
    return Buffer.concat(parts);
  }

  it('chains appended events so that an export of them verifies against the hub key', async () => {
    const log = auditLogOn(store, clock, 3);
    for (let i = 0; i < 10; i++) {
      log.append(i % 2 === 0 ? door('open') : clip(i));
      await clock.advance(1000);
    }
    expect(log.head().seq).toBe(10);
    expect(log.checkpoints(1, 10).map((c) => c.seq)).toEqual([3, 6, 9]);
    const result = verifyExport(parseExport(exportTo(log, 'jsonl')), loadOrCreateHubKey(store).publicKey);
    expect(result).toMatchObject({ ok: true, firstSeq: 1, lastSeq: 10, events: 10 });
    // The export signed a checkpoint at its end on demand.
    expect(log.checkpoints(10, 10)).toHaveLength(1);
  });

  it('writes security events with synchronous FULL and others with NORMAL', () => {
    const seen: Durability[] = [];
    const watched: Store = { ...store, write: (d, fn) => (seen.push(d), store.write(d, fn)) };
    const log = new AuditLog({ store: watched, clock, hubId: 'kh-x', hubKey: loadOrCreateHubKey(store), checkpointEvery: 1000, log: silentLog() });
    log.append(clip(1));
    log.append({ type: 'bolt', body: { state: 'unlocked', by: 'grant' } });
    log.appendMany([clip(2), { type: 'decision', body: { outcome: 'refuse', reason: 201, transport: 'ble' } }]);
    expect(seen).toEqual(['normal', 'full', 'full']);
  });

  it('is append-only: the database refuses to change or delete an entry', () => {
    const log = auditLogOn(store, clock);
    log.append(door('open'));
    expect(() => store.db.prepare("UPDATE audit_events SET type = 'door' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => store.db.prepare('DELETE FROM audit_events WHERE seq = 1').run()).toThrow(/append-only/);
    expect(() => store.db.prepare('UPDATE audit_state SET pruned_through = 1').run()).toThrow(/acknowledged/);
  });

  it('refuses an event outside the closed set, and writes nothing', () => {
    const log = auditLogOn(store, clock);
    const bad = { type: 'door', body: { state: 'ajar' } } as unknown as AuditEvent;
    expect(() => log.appendMany([door('open'), bad])).toThrow(expect.objectContaining({ code: ErrorCode.AUDIT_EVENT_INVALID }));
    expect(log.head().seq).toBe(0);
  });

  it('surfaces a failed write as AUDIT_WRITE_FAILED instead of losing it', () => {
    const log = auditLogOn(store, clock);
    store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    let err: unknown;
    try {
      log.append({ type: 'bolt', body: { state: 'locked', by: 'relock-timer' } });
    } catch (e) {
      err = e;
    }
    expect(isHubError(err, ErrorCode.AUDIT_WRITE_FAILED)).toBe(true);
    expect((err as Error).message).toMatch(/disk full/);
  });

  it('keeps one chain when two connections (two processes) append to the same log in turn', async () => {
    const other = await openAuditStore(dir.path);
    try {
      const mine = auditLogOn(store, clock);
      const theirs = auditLogOn(other, clock);
      for (let i = 0; i < 30; i++) {
        (i % 3 === 0 ? theirs : mine).append(clip(i));
        if (i % 7 === 0) theirs.appendMany([clip(100 + i), door('open')]);
      }
      const head = mine.head();
      expect(head).toEqual(theirs.head());
      expect(head.seq).toBe(30 + 5 * 2);
      expect(verifyExport(parseExport(exportTo(mine, 'cbor')), loadOrCreateHubKey(store).publicKey).ok).toBe(true);
    } finally {
      other.close();
    }
  });

  it('a connection whose last append is older than another connection\'s append and prune chains from the head the table holds, never below the cut', async () => {
    const other = await openAuditStore(dir.path);
    try {
      const mine = auditLogOn(store, clock);
      const theirs = auditLogOn(other, clock);
      for (let i = 0; i < 10; i++) mine.append(door('open'));
      for (let i = 0; i < 90; i++) theirs.append(door('closed'));
      theirs.ack(100);
      await clock.advance(86_400_000);
      expect(theirs.prune(clock.now())).toBe(100);
      // seq 11 is free again (pruned): only data_version tells this connection the head moved.
      expect(mine.append(door('open')).seq).toBe(102);
      expect(theirs.append(door('closed')).seq).toBe(103);
      expect(store.db.prepare('SELECT seq FROM audit_events ORDER BY seq').pluck().all()).toEqual([101, 102, 103]);
    } finally {
      other.close();
    }
  });

  it('after a failed write, chains the next event from the head the table holds', () => {
    const log = auditLogOn(store, clock);
    log.append(door('open'));
    store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => log.append(door('closed'))).toThrow(/disk full/);
    store.db.exec('DROP TRIGGER fail');
    log.append(door('closed'));
    expect(log.head().seq).toBe(2);
    expect(verifyExport(parseExport(exportTo(log, 'cbor')), loadOrCreateHubKey(store).publicKey).ok).toBe(true);
  });

  it('keeps the chain across a restart of the store', async () => {
    auditLogOn(store, clock).append(door('open'));
    store.close();
    store = await openAuditStore(dir.path);
    const log = auditLogOn(store, clock);
    log.append(door('closed'));
    expect(verifyExport(parseExport(exportTo(log, 'cbor')), loadOrCreateHubKey(store).publicKey).ok).toBe(true);
  });

  it('only moves the acknowledged position forward and within the log', () => {
    const log = auditLogOn(store, clock);
    log.appendMany([door('open'), door('closed'), clip(1)]);
    expect(log.ack(5)).toBe(false);
    expect(log.ack(2)).toBe(true);
    expect(log.ack(1)).toBe(false);
    expect(log.backlog()).toBe(1);
  });

  it('prunes only acked entries older than the retention, keeping a checkpoint at the cut that anchors the rest', async () => {
    const log = auditLogOn(store, clock, 1000);
    for (let i = 0; i < 6; i++) log.append(clip(i));
    const cutoff = clock.now() + 1;
    await clock.advance(10_000);
    for (let i = 0; i < 4; i++) log.append(clip(10 + i));
    expect(log.prune(cutoff)).toBe(0); // nothing acked yet
    log.ack(4);
    expect(log.prune(cutoff)).toBe(4);
    expect(log.firstSeq()).toBe(5);
    expect(log.checkpoints(4, 4)).toHaveLength(1);
    const last = log.read(1, 100).at(-1);
    expect(last?.event).toEqual({ type: 'prune', body: { throughSeq: 4, count: 4 } });
    const result = verifyExport(parseExport(exportTo(log, 'jsonl')), loadOrCreateHubKey(store).publicKey);
    expect(result).toMatchObject({ ok: true, firstSeq: 5, lastSeq: 11 });
  });

  it('refuses an export range outside the log', () => {
    const log = auditLogOn(store, clock);
    expect(() => exportTo(log, 'jsonl')).toThrow(expect.objectContaining({ code: ErrorCode.AUDIT_RANGE_INVALID }));
    log.append(door('open'));
    expect(() => exportTo(log, 'jsonl', { from: 1, to: 2 })).toThrow(expect.objectContaining({ code: ErrorCode.AUDIT_RANGE_INVALID }));
  });

  it('exports a middle range anchored by its end checkpoint', () => {
    const log = auditLogOn(store, clock, 5);
    for (let i = 0; i < 12; i++) log.append(clip(i));
    const bytes = exportTo(log, 'jsonl', { from: 3, to: 8 });
    const key = ed25519PublicKey(Buffer.from(loadOrCreateHubKey(store).publicHex, 'hex'));
    expect(verifyExport(parseExport(bytes), key)).toMatchObject({ ok: true, firstSeq: 3, lastSeq: 8, events: 6 });
    writeFileSync(join(dir.path, 'mid.jsonl'), bytes);
    expect(readFileSync(join(dir.path, 'mid.jsonl'), 'utf8').split('\n')[0]).toContain('"from":3');
  });
});
