/**
 * Signed commands through the downlink intake (issue 8, Cloud link 4) on a real store and audit
 * log, with the production CommandActions (command-actions.ts) over a fake lock, outbox and link
 * handed in through their small interfaces. Time is a FakeClock.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../protocols/grant/command.js';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { newCommandId, signCommand } from '../../protocols/grant/issuer.js';
import { commandActionsFrom } from '../../hub/cloud/command-actions.js';
import { DownlinkIntake } from '../../hub/cloud/downlink.js';
import type { Lock, LockState } from '../../hub/lock/lock.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import { commandLog } from '../../hub/store/command-log.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn } from '../support/audit-store.js';
import { HUB_ID, makeWorld, NOW, type World } from '../support/grant-fixture.js';
import { RecordingLink } from '../support/recording-link.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { MAX_CLOCK_SKEW_S } from '../../hub/config/schema.js';

const SKEW = 300_000;

/** A lock behind the Lock interface: confirms, or fails as the test says. */
class FakeLock implements Pick<Lock, 'lock' | 'state'> {
  locks = 0;
  failWith: Error | undefined;
  /** Set to hold the bolt mid-travel until the test resolves it. */
  gate: Promise<void> | undefined;
  bolt: LockState['bolt'] = 'unlocked';
  async lock(): Promise<void> {
    this.locks += 1;
    await (this.gate ?? Promise.resolve());
    if (this.failWith !== undefined) throw this.failWith;
    this.bolt = 'locked';
  }
  state(): LockState {
    return { bolt: this.bolt, door: 'closed', batteryPercent: 80, updatedAtMs: NOW, connected: true };
  }
}

describe('signed commands from the cloud: verified, run at most once, answered and audited', () => {
  let dir: ReturnType<typeof tempDir>;
  let world: World;
  let clock: FakeClock;
  let audit: AuditLog;
  let link: RecordingLink;
  let lock: FakeLock;
  let wakes: number;
  let fatal: unknown[];
  let intake: DownlinkIntake;

  const open = async (options: { lock?: boolean } = {}) => {
    world = await makeWorld(`${dir.path}/keyhub.db`);
    audit = auditLogOn(world.store, clock);
    const held = trustStore(world.store);
    intake = new DownlinkIntake({
      hubId: HUB_ID,
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
      commands: {
        actions: commandActionsFrom({ audit, outbox: { wake: () => void (wakes += 1) }, link, ...(options.lock === false ? {} : { lock }), clock, version: '0.1.0' }),
        floorMs: () => world.floor.floorMs(),
        clockSkewMs: SKEW,
      },
      onAuditFailure: (err) => fatal.push(err),
    });
    intake.start();
  };
  const restart = async (options: { lock?: boolean } = {}) => {
    await intake.stop();
    world.close();
    await open(options);
  };

  beforeEach(async () => {
    dir = tempDir('keyhub-commands-');
    clock = new FakeClock({ wallMs: NOW });
    link = new RecordingLink();
    lock = new FakeLock();
    wakes = 0;
    fatal = [];
    await open();
  });
  afterEach(async () => {
    await intake.stop();
    world.close();
    dir.cleanup();
  });

  const command = (over: Partial<Command> = {}): Command => ({ kid: 'cloud-1', id: newCommandId(), hubId: HUB_ID, action: 'lock', issuedAt: NOW - 1000, notAfter: NOW + 120_000, ...over });
  const hex = (id: Uint8Array) => Buffer.from(id).toString('hex');
  const entries = (from: number) => audit.read(from, 100).map((r) => r.event);
  const settled = () => new Promise((r) => setImmediate(r));

  it('locks on a signed lock command, answers accepted with the correlation data, and audits the bolt and the command', async () => {
    const c = command();
    const before = audit.head().seq;
    link.deliver({ name: 'commands', payload: signCommand(c, world.issuer), correlationData: Uint8Array.from([0xc0, 0xff, 0xee]) });
    await settled();
    expect(lock.locks).toBe(1);
    expect(lock.bolt).toBe('locked');
    expect(link.replies).toHaveLength(1);
    expect(link.replies[0]?.value).toEqual({ id: hex(c.id), kind: 'commands', outcome: 'accepted', detail: 'lock', correlation: 'c0ffee' });
    expect(link.replies[0]?.correlationData).toEqual(Uint8Array.from([0xc0, 0xff, 0xee]));
    // The bolt is on record before the command's own entry says it was carried out.
    expect(entries(before + 1)).toEqual([
      { type: 'bolt', body: { state: 'locked', by: 'cloud-command' } },
      { type: 'downlink', body: { kind: 'commands', outcome: 'accepted', id: hex(c.id), detail: 'lock' } },
    ]);
    expect(fatal).toEqual([]);
  });

  it('on stop, takes no new commands but lets a lock command in flight finish, answered and on record', async () => {
    let release!: () => void;
    lock.gate = new Promise((r) => (release = r));
    const c = command();
    link.deliver({ name: 'commands', payload: signCommand(c, world.issuer) });
    await settled();
    let stopped = false;
    const stopping = intake.stop().then(() => (stopped = true));
    link.deliver({ name: 'commands', payload: signCommand(command(), world.issuer) });
    await settled();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(lock.locks).toBe(1);
    expect(link.replies.map((r) => r.value)).toEqual([expect.objectContaining({ id: hex(c.id), outcome: 'accepted' })]);
    expect(entries(audit.head().seq)[0]).toMatchObject({ type: 'downlink', body: { id: hex(c.id), outcome: 'accepted' } });
  });

  it('is idempotent by command id: a redelivered command is a duplicate and the lock is told once', async () => {
    const signed = signCommand(command(), world.issuer);
    expect(await intake.handle('commands', signed)).toMatchObject({ outcome: 'accepted' });
    expect(await intake.handle('commands', signed)).toMatchObject({ outcome: 'duplicate', detail: 'lock: already accepted; not run again' });
    expect(lock.locks).toBe(1);
    expect(entries(audit.head().seq)[0]).toMatchObject({ type: 'downlink', body: { outcome: 'duplicate' } });
  });

  it('two deliveries of one id at once run it once (the id is claimed before the lock is awaited)', async () => {
    const signed = signCommand(command(), world.issuer);
    const outcomes = await Promise.all([intake.handle('commands', signed), intake.handle('commands', signed)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['accepted', 'duplicate']);
    expect(lock.locks).toBe(1);
  });

  it('property: however deliveries, redeliveries and restarts interleave, each command id moves the bolt exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ pick: fc.nat(3), restart: fc.nat(3).map((n) => n === 0) }), { minLength: 1, maxLength: 12 }), async (steps) => {
        const pool = Array.from({ length: 4 }, () => signCommand(command(), world.issuer));
        const before = lock.locks;
        const seen = new Set<number>();
        for (const step of steps) {
          if (step.restart) await restart();
          const r = await intake.handle('commands', pool[step.pick] as Uint8Array);
          expect(r.outcome).toBe(seen.has(step.pick) ? 'duplicate' : 'accepted');
          seen.add(step.pick);
        }
        expect(lock.locks - before).toBe(seen.size);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a replay after a restart: executed ids are on disk', async () => {
    const signed = signCommand(command(), world.issuer);
    expect(await intake.handle('commands', signed)).toMatchObject({ outcome: 'accepted' });
    await restart();
    expect(await intake.handle('commands', signed)).toMatchObject({ outcome: 'duplicate' });
    expect(lock.locks).toBe(1);
  });

  it('puts a command the hub stopped in the middle of on record as interrupted, and never re-runs it', async () => {
    const c = command();
    // What a crash after the durable claim and before the outcome leaves behind.
    commandLog(world.store).claim({ id: c.id, kid: c.kid, action: c.action, notAfter: c.notAfter, now: NOW });
    await restart();
    expect(entries(audit.head().seq)[0]).toEqual({
      type: 'downlink',
      body: { kind: 'commands', outcome: 'refused', id: hex(c.id), reason: ErrorCode.COMMAND_INTERRUPTED, detail: 'lock: the hub stopped while running it; not re-run' },
    });
    expect(await intake.handle('commands', signCommand(c, world.issuer))).toMatchObject({ outcome: 'duplicate', detail: 'lock: already refused; not run again' });
    expect(lock.locks).toBe(0);
    const head = audit.head().seq;
    await restart();
    expect(audit.head().seq).toBe(head);
  });

  it("answers a lock that does not confirm with the lock's own code, puts bolt.failed on record, and does not retry the id", async () => {
    lock.failWith = new HubError(ErrorCode.LOCK_JAMMED, 'the lock reported its bolt blocked');
    const c = command();
    const before = audit.head().seq;
    link.deliver({ name: 'commands', payload: signCommand(c, world.issuer), correlationData: Uint8Array.from([1]) });
    await settled();
    expect(link.replies[0]?.value).toMatchObject({ id: hex(c.id), outcome: 'refused', reason: ErrorCode.LOCK_JAMMED, reasonName: 'LOCK_JAMMED', detail: 'lock: the lock reported its bolt blocked', correlation: '01' });
    expect(entries(before + 1)).toEqual([
      { type: 'bolt.failed', body: { wanted: 'locked', code: ErrorCode.LOCK_JAMMED, detail: 'the lock reported its bolt blocked' } },
      { type: 'downlink', body: { kind: 'commands', outcome: 'refused', id: hex(c.id), reason: ErrorCode.LOCK_JAMMED, detail: 'lock: the lock reported its bolt blocked' } },
    ]);
    lock.failWith = undefined;
    expect(await intake.handle('commands', signCommand(c, world.issuer))).toMatchObject({ outcome: 'duplicate', detail: 'lock: already refused; not run again' });
    expect(lock.locks).toBe(1);
  });

  it('treats a lock failure outside the Lock contract as an unconfirmed bolt, still refused and on record', async () => {
    lock.failWith = new TypeError('driver bug');
    expect(await intake.handle('commands', signCommand(command(), world.issuer))).toMatchObject({ outcome: 'refused', code: ErrorCode.LOCK_NOT_CONFIRMED });
    expect(entries(audit.head().seq - 1)[0]).toMatchObject({ type: 'bolt.failed', body: { code: ErrorCode.LOCK_NOT_CONFIRMED } });
  });

  it('refuses a lock command on a hub with no lock configured', async () => {
    await restart({ lock: false });
    expect(await intake.handle('commands', signCommand(command(), world.issuer))).toMatchObject({ outcome: 'refused', code: ErrorCode.COMMAND_UNAVAILABLE });
  });

  it("signs a checkpoint covering the command's own entry on a checkpoint command, and wakes the outbox to send it", async () => {
    audit.append({ type: 'door', body: { state: 'closed' } });
    audit.ack(audit.head().seq);
    expect(await intake.handle('commands', signCommand(command({ action: 'checkpoint' }), world.issuer))).toMatchObject({ outcome: 'accepted', detail: 'checkpoint' });
    const head = audit.head().seq;
    expect(entries(head)[0]).toMatchObject({ type: 'downlink', body: { outcome: 'accepted', detail: 'checkpoint' } });
    expect(audit.checkpoints(head, head)).toHaveLength(1);
    // Past the cloud's last ack, so the outbox ships it with the next batch.
    expect(audit.unsentCheckpoints(audit.state().ackedThrough, 10).map((cp) => cp.seq)).toEqual([head]);
    expect(wakes).toBe(1);
  });

  it('publishes the state (audit position and the lock) on a publish-state command, and refuses when the link is down', async () => {
    expect(await intake.handle('commands', signCommand(command({ action: 'publish-state' }), world.issuer))).toMatchObject({ outcome: 'accepted' });
    expect(link.published.at(-1)).toEqual({
      name: 'state',
      value: { hubId: audit.hubId, atMs: NOW, version: '0.1.0', audit: { headSeq: audit.head().seq - 1, ackedThrough: 0, backlog: audit.head().seq - 1 }, lock: { bolt: 'unlocked', door: 'closed' } },
    });
    link.failWith = new HubError(ErrorCode.CLOUD_NOT_CONNECTED, 'cannot publish state: not connected to the cloud');
    expect(await intake.handle('commands', signCommand(command({ action: 'publish-state' }), world.issuer))).toMatchObject({ outcome: 'refused', code: ErrorCode.CLOUD_NOT_CONNECTED });
    link.failWith = new TypeError('off contract');
    expect(await intake.handle('commands', signCommand(command({ action: 'publish-state' }), world.issuer))).toMatchObject({ outcome: 'refused', code: ErrorCode.CLOUD_PUBLISH_FAILED });
  });

  it("refuses a forged command on the hub's own topic, audits it, and runs nothing", async () => {
    const c = command();
    link.deliver({ name: 'commands', payload: signCommand(c, generateSigningKey()) });
    await settled();
    expect(link.replies[0]?.value).toMatchObject({ id: hex(c.id), outcome: 'refused', reason: ErrorCode.COMMAND_SIGNATURE_INVALID, reasonName: 'COMMAND_SIGNATURE_INVALID' });
    expect(entries(audit.head().seq)[0]).toMatchObject({ type: 'downlink', body: { kind: 'commands', outcome: 'refused', id: hex(c.id), reason: ErrorCode.COMMAND_SIGNATURE_INVALID } });
    expect(lock.locks).toBe(0);
    // A forged copy of an id does not burn it: the genuine command still runs.
    expect(await intake.handle('commands', signCommand(c, world.issuer))).toMatchObject({ outcome: 'accepted' });
  });

  it.each([
    ['expired', { issuedAt: NOW - 200_000, notAfter: NOW - 1 }, ErrorCode.COMMAND_EXPIRED],
    ['for another hub', { hubId: 'kh-ffffffffffffffff' }, ErrorCode.COMMAND_WRONG_HUB],
    ['from an unknown issuer', { kid: 'nobody' }, ErrorCode.COMMAND_ISSUER_UNKNOWN],
  ] as const)('refuses a command %s and audits the refusal with its code', async (_what, over, code) => {
    expect(await intake.handle('commands', signCommand(command(over), world.issuer))).toMatchObject({ outcome: 'refused', code });
    expect(entries(audit.head().seq)[0]).toMatchObject({ type: 'downlink', body: { kind: 'commands', outcome: 'refused', reason: code } });
    expect(lock.locks).toBe(0);
  });

  it('refuses every command while the wall clock is behind the clock floor', async () => {
    world.floor.raise(NOW + SKEW + 1, 'signed-time');
    expect(await intake.handle('commands', signCommand(command(), world.issuer))).toMatchObject({ outcome: 'refused', code: ErrorCode.COMMAND_CLOCK_UNTRUSTED });
  });

  it('refuses a command from an issuer the root has revoked', async () => {
    const { signRevocations } = await import('../../protocols/grant/issuer.js');
    world.trust.installRevocations(signRevocations({ version: 1, issuedAt: NOW, grantIds: [], kids: ['cloud-1'] }, world.root));
    expect(await intake.handle('commands', signCommand(command(), world.issuer))).toMatchObject({ outcome: 'refused', code: ErrorCode.COMMAND_ISSUER_REVOKED });
  });

  it('forgets executed ids only once their window is below the clock floor minus the largest skew the config allows; a replay is then refused as expired', async () => {
    const c = command({ notAfter: NOW + 60_000 });
    const signed = signCommand(c, world.issuer);
    expect(await intake.handle('commands', signed)).toMatchObject({ outcome: 'accepted' });
    const rows = () => (world.store.db.prepare('SELECT count(*) AS n FROM executed_commands').get() as { n: number }).n;
    // The wall clock alone moving past notAfter is not enough: it might step back within the skew.
    clock.setWall(NOW + 60_000 + SKEW + 1);
    await restart();
    expect(rows()).toBe(1);
    // Nor a trusted time past notAfter + today's skew: an installer may raise access.clockSkewS
    // later, and the window check would then take the id again.
    world.floor.raise(NOW + 60_000 + SKEW + 1, 'signed-time');
    await restart();
    expect(rows()).toBe(1);
    // Past notAfter + the most clockSkewS may ever be: from there on, nothing can accept that id again.
    world.floor.raise(NOW + 60_000 + MAX_CLOCK_SKEW_S * 1000 + 1, 'signed-time');
    clock.setWall(NOW + 60_000 + MAX_CLOCK_SKEW_S * 1000 + 2);
    await restart();
    expect(rows()).toBe(0);
    expect(await intake.handle('commands', signed)).toMatchObject({ outcome: 'refused', code: ErrorCode.COMMAND_EXPIRED });
    expect(lock.locks).toBe(1);
  });

  it('keeps a command\'s outcome on record and its claim finished together: when finishing fails, the outcome is not on record either, and the next start records one outcome, interrupted', async () => {
    const c = command();
    world.store.db.exec("CREATE TRIGGER fail BEFORE UPDATE ON executed_commands BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expect(intake.handle('commands', signCommand(c, world.issuer))).rejects.toThrow(/disk full/);
    world.store.db.exec('DROP TRIGGER fail');
    await restart();
    const outcomes = audit.read(1, 1000).filter((r) => r.event.type === 'downlink' && (r.event.body as { id?: string }).id === hex(c.id));
    expect(outcomes.map((r) => (r.event.body as { outcome: string; reason?: number }).reason)).toEqual([ErrorCode.COMMAND_INTERRUPTED]);
  });

  it('lets a failed audit write while running a command surface, with no reply', async () => {
    world.store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    link.deliver({ name: 'commands', payload: signCommand(command(), world.issuer) });
    await settled();
    expect(fatal).toEqual([expect.objectContaining({ code: ErrorCode.AUDIT_WRITE_FAILED })]);
    expect(link.replies).toEqual([]);
  });

  it('lets a checkpoint that cannot be signed into the store surface (an audit write failure is never a refusal)', async () => {
    world.store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    const c = command({ action: 'checkpoint' });
    await expect(intake.handle('commands', signCommand(c, world.issuer))).rejects.toThrow(/disk full/);
    // Its outcome never got on record: the next start says so, and it is not run again.
    world.store.db.exec('DROP TRIGGER fail');
    await restart();
    expect(entries(audit.head().seq)[0]).toMatchObject({ type: 'downlink', body: { id: hex(c.id), outcome: 'refused', reason: ErrorCode.COMMAND_INTERRUPTED } });
    expect(await intake.handle('commands', signCommand(c, world.issuer))).toMatchObject({ outcome: 'duplicate' });
  });

  it('fuzz: arbitrary and mutated bytes on `commands` are refused and audited, and never reach the lock', async () => {
    const valid = signCommand(command(), world.issuer);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 700 }),
          fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
            const b = Uint8Array.from(valid);
            b[at] = (b[at] as number) ^ xor;
            return b;
          }),
        ),
        async (bytes) => {
          const before = audit.head().seq;
          expect((await intake.handle('commands', bytes)).outcome).toBe('refused');
          expect(audit.head().seq).toBe(before + 1);
        },
      ),
      { numRuns: 300 },
    );
    expect(lock.locks).toBe(0);
  });
});
