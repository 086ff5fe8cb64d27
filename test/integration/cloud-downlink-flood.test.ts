/**
 * Flood control of refused downlink payloads (hub/cloud/refusal-flood.ts) through the downlink
 * intake, on a real store and audit log, time on a FakeClock: the first refusals of a kind in
 * full, then one `downlink.refusals` entry per interval, every refusal accounted for, the chain
 * still verifying.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseExport } from '../../protocols/audit/export-file.js';
import { verifyExport } from '../../protocols/audit/verify.js';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { signGrant } from '../../protocols/grant/issuer.js';
import type { DownlinkKind } from '../../protocols/mqtt/contract.js';
import { DownlinkIntake } from '../../hub/cloud/downlink.js';
import type { RefusalLimits } from '../../hub/cloud/refusal-flood.js';
import { exportAudit } from '../../hub/store/audit-export.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn } from '../support/audit-store.js';
import { deliveryGrant, makeWorld, NOW, type World } from '../support/grant-fixture.js';
import { RecordingLink } from '../support/recording-link.js';
import { refusalsOnRecord } from '../support/refusals.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

const LIMITS: RefusalLimits = { inFullPerKind: 3, inFullTotal: 8, intervalMs: 60_000 };
const garbage = (i: number) => new TextEncoder().encode(`garbage ${i}`);

describe('refusal flood control in the downlink intake', () => {
  let dir: ReturnType<typeof tempDir>;
  let world: World;
  let clock: FakeClock;
  let audit: AuditLog;
  let link: RecordingLink;
  let fatal: unknown[];
  let intake: DownlinkIntake;

  beforeEach(async () => {
    dir = tempDir('keyhub-flood-');
    world = await makeWorld(`${dir.path}/keyhub.db`);
    clock = new FakeClock({ wallMs: NOW });
    audit = auditLogOn(world.store, clock);
    link = new RecordingLink();
    fatal = [];
    const held = trustStore(world.store);
    intake = new DownlinkIntake({
      hubId: 'kh-0123456789abcdef',
      link,
      audit,
      store: world.store,
      clock,
      log: silentLog(),
      trust: {
        view: () => world.trust,
        installKeyring: (b) => world.trust.installKeyring(b),
        installRevocations: (b) => world.trust.installRevocations(b),
        held: (w) => held.held(w)?.signed,
        acceptSignedTime: (b) => world.acceptSignedTime(b),
      },
      refusals: LIMITS,
      onAuditFailure: (err) => fatal.push(err),
    });
    intake.start();
  });
  afterEach(async () => {
    await intake.stop();
    world.close();
    dir.cleanup();
  });

  const events = (afterSeq: number) => audit.read(afterSeq + 1, 10_000).map((r) => ({ seq: r.seq, ...r.event }));
  const flood = async (kind: DownlinkKind, n: number, from = 0) => {
    for (let i = from; i < from + n; i++) expect((await intake.handle(kind, garbage(i))).outcome).toBe('refused');
  };

  it('records the first refusals of a kind in full and counts the rest into one entry when the interval ends', async () => {
    const start = audit.head().seq;
    await flood('grants', 100);
    const inFull = events(start);
    expect(inFull).toHaveLength(LIMITS.inFullPerKind);
    expect(inFull.every((e) => e.type === 'downlink' && e.body.outcome === 'refused' && e.body.reason === ErrorCode.CLOUD_PAYLOAD_INVALID)).toBe(true);
    const lastInFull = audit.head().seq;

    await clock.advance(LIMITS.intervalMs);
    const after = events(lastInFull);
    expect(after).toEqual([
      {
        seq: lastInFull + 1,
        type: 'downlink.refusals',
        body: { count: 97, kinds: [{ kind: 'grants', reason: ErrorCode.CLOUD_PAYLOAD_INVALID, count: 97 }], firstSeq: lastInFull, lastSeq: lastInFull, firstAtMs: NOW, lastAtMs: NOW },
      },
    ]);
    expect(fatal).toEqual([]);
  });

  it('answers every message of a flood on replies, though only the first are on record in full', async () => {
    for (let i = 0; i < 50; i++) link.deliver({ name: 'grants', payload: garbage(i) });
    await new Promise((r) => setImmediate(r));
    expect(link.replies).toHaveLength(50);
    expect(link.replies.every((r) => r.value.outcome === 'refused')).toBe(true);
    expect(refusalsOnRecord(audit, 0).inFull).toBe(LIMITS.inFullPerKind);
  });

  it('opens a new interval after the last one ended: its first refusals are in full again', async () => {
    await flood('grants', 10);
    await clock.advance(LIMITS.intervalMs);
    const before = audit.head().seq;
    await flood('grants', 10, 10);
    expect(refusalsOnRecord(audit, before).inFull).toBe(LIMITS.inFullPerKind);
  });

  it('caps the refusals in full across kinds, and keeps each kind apart in the count', async () => {
    const start = audit.head().seq;
    // Four kinds of refusal (this intake takes no commands: 504 for those).
    for (const kind of ['grants', 'commands', 'time', 'keys'] as const) await flood(kind, 20);
    expect(refusalsOnRecord(audit, start).inFull).toBe(LIMITS.inFullTotal);
    await intake.stop();
    const tally = events(start).find((e) => e.type === 'downlink.refusals');
    expect(tally?.type === 'downlink.refusals' && tally.body.count).toBe(80 - LIMITS.inFullTotal);
    // grants and commands: 3 in full each; time: 2 (the total is reached); keys: none.
    expect(tally?.type === 'downlink.refusals' && tally.body.kinds).toEqual([
      { kind: 'grants', reason: ErrorCode.CLOUD_PAYLOAD_INVALID, count: 17 },
      { kind: 'commands', reason: ErrorCode.CLOUD_DOWNLINK_REFUSED, count: 17 },
      { kind: 'time', reason: ErrorCode.TRUST_UPDATE_INVALID, count: 18 },
      { kind: 'keys', reason: ErrorCode.TRUST_UPDATE_INVALID, count: 20 },
    ]);
    expect(refusalsOnRecord(audit, start).total).toBe(80);
  });

  it('records a refusal of another reason in full in the middle of a flood of garbage', async () => {
    await flood('grants', 50);
    const before = audit.head().seq;
    const forged = signGrant(deliveryGrant(world), generateSigningKey());
    expect(await intake.handle('grants', forged)).toMatchObject({ outcome: 'refused', code: ErrorCode.GRANT_SIGNATURE_INVALID });
    expect(events(before)).toEqual([expect.objectContaining({ type: 'downlink', body: expect.objectContaining({ reason: ErrorCode.GRANT_SIGNATURE_INVALID }) })]);
  });

  it('writes what it counted when the intake stops: no refusal goes unaccounted', async () => {
    const start = audit.head().seq;
    await flood('grants', 40);
    await intake.stop();
    expect(refusalsOnRecord(audit, start)).toEqual({ inFull: 3, counted: 37, aggregates: 1, total: 40 });
  });

  it('keeps the log bounded and verifiable under a flood of thousands spread over many intervals', async () => {
    const start = audit.head().seq;
    const kinds: DownlinkKind[] = ['grants', 'revocations', 'keys', 'commands', 'time'];
    const n = 4000;
    for (let i = 0; i < n; i++) {
      await intake.handle(kinds[i % kinds.length] as DownlinkKind, garbage(i));
      if (i % 400 === 399) await clock.advance(LIMITS.intervalMs); // ten intervals
    }
    await intake.stop();
    const tally = refusalsOnRecord(audit, start);
    expect(tally.total).toBe(n);
    // At most inFullTotal in full and one count per interval: 10 intervals.
    expect(tally.inFull).toBeLessThanOrEqual(10 * LIMITS.inFullTotal);
    expect(tally.aggregates).toBeLessThanOrEqual(10);
    // A refused keyring or revocation list in full also has its key.update entry.
    const keyUpdates = events(start).filter((e) => e.type === 'key.update').length;
    expect(keyUpdates).toBeLessThanOrEqual(tally.inFull);
    expect(audit.head().seq - start).toBe(tally.inFull + tally.aggregates + keyUpdates);
    const parts: Uint8Array[] = [];
    exportAudit(audit, { format: 'jsonl', nowMs: clock.now() }, (c) => parts.push(c));
    const verified = verifyExport(parseExport(Buffer.concat(parts)), loadOrCreateHubKey(world.store).publicKey);
    expect(verified).toMatchObject({ ok: true, broken: undefined, lastSeq: audit.head().seq });
  });

  it('lets an aggregate entry that cannot be written at the end of an interval surface', async () => {
    await flood('grants', 10);
    world.store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await clock.advance(LIMITS.intervalMs);
    expect(fatal).toEqual([expect.objectContaining({ code: ErrorCode.AUDIT_WRITE_FAILED })]);
  });
});
