import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import { NOW } from '../support/grant-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { FakeLock, visitRig, type VisitRig, type VisitRigOptions } from '../support/visit-rig.js';

const rigs: VisitRig[] = [];
let dir: { path: string; cleanup(): void } | undefined;
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
  dir?.cleanup();
  dir = undefined;
});

async function hub(options: VisitRigOptions = {}): Promise<VisitRig> {
  const r = await visitRig(options);
  rigs.push(r);
  return r;
}

const ofType = <T extends AuditEvent['type']>(r: VisitRig, type: T) =>
  r.audit.read(1, 10_000).map((rec) => rec.event).filter((e): e is Extract<AuditEvent, { type: T }> => e.type === type);

/** A hub with its database in a file, and the same physical lock for the hub after it. */
async function firstHub(): Promise<{ r: VisitRig; path: string; lock: FakeLock }> {
  dir = tempDir('keyhub-visit-');
  const path = join(dir.path, 'keyhub.db');
  const clock = new FakeClock({ wallMs: NOW });
  const lock = new FakeLock(clock, 'front-door');
  return { r: await hub({ path, clock, lock }), path, lock };
}

async function restart(path: string, lock: FakeLock, options: VisitRigOptions = {}): Promise<VisitRig> {
  const clock = new FakeClock({ wallMs: NOW + 60_000 });
  lock.restartedHub(clock);
  return hub({ path, clock, lock, ...options });
}

async function openVisit(r: VisitRig) {
  const { grant, signed } = r.grant();
  const answer = await r.room.service.present({ transport: 'ble', grant: signed, presentation: r.presentation(grant), rssiDbm: -50 });
  if (!answer.ok) throw new Error(`refused: ${answer.codeName}`);
  return { grant, signed, visitId: answer.visitId };
}

describe('a hub that crashed mid-visit', () => {
  it('relocks the door at boot before it takes any request, then closes the visit aborted (boot-recovery)', async () => {
    const { r, path, lock } = await firstHub();
    const { grant, signed, visitId } = await openVisit(r);
    lock.openDoor();
    lock.closeDoor();
    r.crash();
    expect(lock.bolt).toBe('unlocked');

    const after = await restart(path, lock, { start: false });
    const starting = after.room.module.start(new AbortController().signal);
    // Right after start, before the relock settles: the door is held by the recovering visit.
    const answeredBeforeRelock = after.room.service.challenge('ble');
    await starting;
    await after.room.service.recovered();
    expect(answeredBeforeRelock).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS });
    expect(lock.bolt).toBe('locked');
    expect(lock.commands).toEqual(['unlock', 'lock']);
    const steps = after.room.service.journal.steps(visitId);
    expect(steps.map((s) => s.state).slice(4)).toEqual(['open', 'relocking', 'confirming', 'aborted']);
    expect(steps.at(-1)?.cause).toBe('boot-recovery');
    expect(ofType(after, 'bolt').at(-1)?.body).toMatchObject({ state: 'locked', by: 'boot-recovery', visitId });
    expect(after.notices).toContainEqual({ kind: 'recovered-after-crash', visitId, door: 'closed' });
    // The courier asking after the restart gets a receipt that says locked.
    expect(await after.room.service.relock(visitId)).toMatchObject({ ok: true, outcome: 'locked' });
    // The grant is used: not again, whatever happened.
    const again = await after.room.service.present({ transport: 'ble', grant: signed, presentation: after.presentation(grant), rssiDbm: -50 });
    expect(again).toMatchObject({ ok: false, code: ErrorCode.GRANT_USED_UP });
  });

  it('a door standing open at boot: the door-left-open alarm first, the bolt the moment it closes', async () => {
    const { r, path, lock } = await firstHub();
    const { visitId } = await openVisit(r);
    lock.openDoor();
    r.crash();
    const after = await restart(path, lock);
    await after.settle();
    expect(lock.commands).toEqual(['unlock']);
    expect(ofType(after, 'alarm').map((a) => a.body)).toEqual([{ kind: 'door-left-open', visitId }]);
    expect(after.room.service.challenge('ble')).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS });
    lock.closeDoor();
    await after.room.service.recovered();
    expect(lock.bolt).toBe('locked');
    expect(after.room.service.journal.get(visitId)).toMatchObject({ state: 'aborted', holdsLock: false, outcome: 'door-left-open' });
    expect(after.room.service.challenge('ble').ok).toBe(true);
  });

  it('crashed before the unlock was sent: nothing to relock, closed aborted, and the grant stays used', async () => {
    const { r, path, lock } = await firstHub();
    const { grant, signed } = r.grant();
    // Dies while the recorder is starting (camera-arming): the lock was never told anything.
    r.camera.hangStart = true;
    void r.room.service.present({ transport: 'ble', grant: signed, presentation: r.presentation(grant), rssiDbm: -50 });
    await r.settle();
    const visitId = r.room.service.currentVisit() as string;
    expect(r.room.service.journal.get(visitId)?.state).toBe('camera-arming');
    r.crash();
    const after = await restart(path, lock);
    await after.room.service.recovered();
    expect(lock.commands).toEqual([]);
    expect(after.room.service.journal.steps(visitId).map((s) => s.state)).toEqual(['requested', 'verifying', 'camera-arming', 'aborted']);
    const again = await after.room.service.present({ transport: 'ble', grant: signed, presentation: after.presentation(grant), rssiDbm: -50 });
    expect(again).toMatchObject({ ok: false, code: ErrorCode.GRANT_USED_UP });
  });

  it('a relock that failed before the crash is tried again at boot', async () => {
    const { r, path, lock } = await firstHub();
    const { visitId } = await openVisit(r);
    lock.lockOutcomes = [ErrorCode.LOCK_JAMMED];
    await r.room.service.relock(visitId);
    r.crash();
    const after = await restart(path, lock);
    await after.room.service.recovered();
    expect(lock.commands).toEqual(['unlock', 'lock', 'lock']);
    expect(after.room.service.journal.get(visitId)).toMatchObject({ state: 'aborted', outcome: 'relock-failed', holdsLock: false });
  });
});

describe('a hub that stops mid-visit', () => {
  it('relocks a closed door on the way down and closes the visit aborted (shutdown)', async () => {
    const { r, lock } = await firstHub();
    const { visitId } = await openVisit(r);
    await r.room.module.stop();
    expect(lock.bolt).toBe('locked');
    expect(r.room.service.journal.steps(visitId).map((s) => s.state).slice(4)).toEqual(['open', 'relocking', 'confirming', 'aborted']);
    expect(ofType(r, 'bolt').at(-1)?.body).toMatchObject({ by: 'shutdown' });
    expect(r.room.service.journal.get(visitId)?.holdsLock).toBe(false);
  });

  it('leaves a door standing open to the next boot, which relocks it once it closes', async () => {
    const { r, path, lock } = await firstHub();
    const { visitId } = await openVisit(r);
    lock.openDoor();
    await r.room.module.stop();
    expect(lock.bolt).toBe('unlocked');
    expect(r.room.service.journal.get(visitId)?.holdsLock).toBe(true);
    r.crash();
    lock.closeDoor();
    const after = await restart(path, lock);
    await after.room.service.recovered();
    expect(lock.bolt).toBe('locked');
  });
});

describe('failures that must surface', () => {
  it('a step that cannot be written stops the daemon (onAuditFailure); the visit stays on record for recovery', async () => {
    let failing = false;
    const r = await hub({
      auditFor: (audit: AuditLog) =>
        ({
          append: (event: AuditEvent) => {
            if (failing && event.type === 'visit' && event.body.state === 'relocking') throw new HubError(ErrorCode.AUDIT_WRITE_FAILED, 'disk I/O error');
            return audit.append(event);
          },
        }) as unknown as AuditLog,
    });
    const { visitId } = await openVisit(r);
    failing = true;
    void r.room.service.relock(visitId);
    await r.settle();
    expect(r.auditFailures).toHaveLength(1);
    expect((r.auditFailures[0] as HubError).code).toBe(ErrorCode.AUDIT_WRITE_FAILED);
    expect(r.room.service.journal.get(visitId)).toMatchObject({ state: 'open', holdsLock: true });
  });
});

describe('door alarms with no visit', () => {
  it('the door opening while the bolt reads locked is forced open', async () => {
    const r = await hub();
    r.lock.openDoor();
    expect(ofType(r, 'alarm').map((a) => a.body)).toEqual([{ kind: 'door-forced-open' }]);
    expect(r.notices).toContainEqual({ kind: 'door-forced-open' });
  });

  it('a door opened from inside and left open past the ajar time is ajar; closed in time, nothing', async () => {
    const r = await hub({ settings: { doorAjarMs: 300_000 } });
    r.lock.bolt = 'unlocked';
    r.lock.openDoor();
    await r.clock.advance(299_000);
    r.lock.closeDoor();
    await r.clock.advance(10_000);
    expect(ofType(r, 'alarm')).toEqual([]);
    r.lock.openDoor();
    await r.clock.advance(300_000);
    expect(ofType(r, 'alarm').map((a) => a.body)).toEqual([{ kind: 'door-ajar' }]);
    expect(r.notices).toContainEqual({ kind: 'door-ajar', openForMs: 300_000 });
  });

  it('raises nothing while a visit holds the door open', async () => {
    const r = await hub();
    await openVisit(r);
    r.lock.openDoor();
    await r.clock.advance(30_000);
    r.lock.closeDoor();
    expect(ofType(r, 'alarm')).toEqual([]);
  });
});
