import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseExport } from '../../protocols/audit/export-file.js';
import { verifyExport } from '../../protocols/audit/verify.js';
import { exportAudit } from '../../hub/store/audit-export.js';
import { auditRoom } from '../../hub/store/audit-module.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { openDaemonStore, storeRoom } from '../../hub/store/module.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

const DAY = 86_400_000;

describe('audit retention in the daemon', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir('keyhub-retention-')));
  afterEach(() => dir.cleanup());

  it('prunes acked entries past the retention on its timer, and what remains still verifies', async () => {
    const clock = new FakeClock();
    const log = silentLog();
    const store = await openDaemonStore({ stateDir: dir.path, busyTimeoutMs: 5000, log });
    const run = storeRoom({ store, clock, log, version: '0.1.0' });
    const audit = auditRoom({ store, hubKey: loadOrCreateHubKey(store), clock, log, version: '0.1.0', checkpointEvery: 1000, retention: { keepMs: 30 * DAY, everyMs: DAY }, onAuditFailure: (err) => {
      throw err;
    } });
    await run.module.start(new AbortController().signal);
    await audit.module.start(new AbortController().signal);
    const a = audit.service;
    for (let i = 0; i < 10; i++) a.append({ type: 'door', body: { state: 'open' } });
    await clock.advance(31 * DAY);
    expect(a.firstSeq()).toBe(1); // nothing acked: nothing goes, however old
    a.ack(8);
    for (let i = 0; i < 3; i++) a.append({ type: 'door', body: { state: 'closed' } });
    await clock.advance(DAY);
    expect(a.firstSeq()).toBe(9);
    expect(a.state().prunedThrough).toBe(8);
    const parts: Uint8Array[] = [];
    exportAudit(a, { format: 'jsonl', nowMs: clock.now() }, (c) => parts.push(c));
    expect(verifyExport(parseExport(Buffer.concat(parts)), loadOrCreateHubKey(store).publicKey)).toMatchObject({ ok: true, firstSeq: 9 });
    await audit.module.stop();
    expect(clock.pending()).toBe(0);
    await run.module.stop();
  });

  it('a prune that cannot write its checkpoint goes to onAuditFailure (the daemon then stops non-zero), not into an uncaught exception', async () => {
    const clock = new FakeClock();
    const log = silentLog();
    const failures: unknown[] = [];
    const store = await openDaemonStore({ stateDir: dir.path, busyTimeoutMs: 5000, log });
    const run = storeRoom({ store, clock, log, version: '0.1.0' });
    const audit = auditRoom({ store, hubKey: loadOrCreateHubKey(store), clock, log, version: '0.1.0', checkpointEvery: 1000, retention: { keepMs: DAY, everyMs: DAY }, onAuditFailure: (err) => failures.push(err) });
    await run.module.start(new AbortController().signal);
    await audit.module.start(new AbortController().signal);
    const a = audit.service;
    for (let i = 0; i < 5; i++) a.append({ type: 'door', body: { state: 'open' } });
    a.ack(5);
    store.db.exec("CREATE TRIGGER full BEFORE INSERT ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await clock.advance(2 * DAY);
    expect(failures.length).toBeGreaterThan(0);
    expect((failures[0] as Error).message).toMatch(/disk full/);
    expect(a.firstSeq()).toBe(1); // nothing went: the cut is never made without its checkpoint
    store.db.exec('DROP TRIGGER full');
    await audit.module.stop();
    await run.module.stop();
  });
});
