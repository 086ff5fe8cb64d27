import { afterEach, describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../protocols/grant/handheld.js';
import { decodeReceiptPayload } from '../../protocols/grant/receipt.js';
import { openEnvelope } from '../../protocols/grant/envelope.js';
import { ErrorCode } from '../../hub/system/errors.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { HUB_ID, HOUR } from '../support/grant-fixture.js';
import { visitRig, type VisitRig } from '../support/visit-rig.js';

let rig: VisitRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const hubPublicKey = (r: VisitRig): Uint8Array => Uint8Array.from(Buffer.from(r.hubKey.publicHex, 'hex'));
const states = (r: VisitRig, visitId: string): string[] => r.room.service.journal.steps(visitId).map((s) => s.state);
const entries = (r: VisitRig): AuditEvent[] => r.audit.read(1, 10_000).map((rec) => rec.event);
const ofType = <T extends AuditEvent['type']>(r: VisitRig, type: T) => entries(r).filter((e): e is Extract<AuditEvent, { type: T }> => e.type === type);

/** A courier presents a fresh grant; resolves with the answer and the grant. */
async function arrive(r: VisitRig, over: Parameters<VisitRig['grant']>[0] = {}) {
  const { grant, signed } = r.grant(over);
  const answer = await r.room.service.present({ transport: 'ble', grant: signed, presentation: r.presentation(grant), rssiDbm: -50 });
  return { grant, signed, answer };
}

async function openVisit(r: VisitRig, over: Parameters<VisitRig['grant']>[0] = {}) {
  const arrived = await arrive(r, over);
  if (!arrived.answer.ok) throw new Error(`refused: ${arrived.answer.codeName}`);
  return { ...arrived, visitId: arrived.answer.visitId };
}

describe('a delivery, step by step', () => {
  it('lets the courier in, relocks on request, signs a receipt, and every step has its audit entry', async () => {
    rig = await visitRig();
    const r = rig;
    const { grant, visitId } = await openVisit(r);
    expect(r.lock.bolt).toBe('unlocked');
    r.lock.openDoor();
    r.lock.closeDoor();
    const relock = await r.room.service.relock(visitId);
    expect(relock.ok).toBe(true);
    if (!relock.ok) return;
    expect(r.lock.bolt).toBe('locked');
    const check = verifyReceipt(relock.receipt, hubPublicKey(r), { hubId: HUB_ID, grantId: grant.id, visitId: Uint8Array.from(Buffer.from(visitId, 'hex')) });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.receipt).toMatchObject({ outcome: 'locked', bolt: 'locked', door: 'closed', clip: { id: 'clip-1' } });
    // The receipt names the relock's own bolt entry.
    const relockEntry = r.audit.read(check.receipt.auditSeq, 1)[0]?.event;
    expect(relockEntry).toEqual({ type: 'bolt', body: { state: 'locked', by: 'grant', grantId: Buffer.from(grant.id).toString('hex'), visitId } });
    expect(r.receipts).toEqual([relock.receipt]);

    await r.clock.advance(10_000); // the post-roll
    await r.settle();
    expect(states(r, visitId)).toEqual(['requested', 'verifying', 'camera-arming', 'unlocking', 'open', 'relocking', 'confirming', 'post-roll', 'done']);
    for (const step of r.room.service.journal.steps(visitId)) {
      expect(r.audit.read(step.auditSeq, 1)[0]?.event).toMatchObject({ type: 'visit', body: { visitId, state: step.state } });
    }
    expect(ofType(r, 'decision')).toEqual([{ type: 'decision', body: { outcome: 'allow', reason: 0, transport: 'ble', grantId: Buffer.from(grant.id).toString('hex'), subject: 'courier-42', visitId } }]);
    expect(ofType(r, 'clip').map((e) => e.body)).toEqual([
      { clipId: 'clip-1', state: 'started', visitId },
      expect.objectContaining({ clipId: 'clip-1', state: 'finished', visitId, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    ]);
    expect(r.room.service.journal.get(visitId)).toMatchObject({ holdsLock: false, outcome: 'locked', state: 'done' });
    expect(r.notices.at(-1)).toEqual({ kind: 'delivered', visitId, door: 'closed', clipId: 'clip-1' });
    // Asked again: the same receipt, from the journal.
    expect(await r.room.service.relock(visitId)).toEqual(relock);
  });

  it('consumes the grant use and the challenge, and has the recorder writing, before the unlock command', async () => {
    rig = await visitRig();
    const r = rig;
    const seen: Array<{ uses: number; recording: number; allowOnRecord: boolean }> = [];
    const { grant, signed } = r.grant();
    r.lock.onUnlock = () =>
      seen.push({
        uses: r.world.stores.replay.usesOf(grant.kid, grant.id),
        recording: r.camera.started.length,
        allowOnRecord: ofType(r, 'decision').some((d) => d.body.outcome === 'allow'),
      });
    const presentation = r.presentation(grant);
    const answer = await r.room.service.present({ transport: 'ble', grant: signed, presentation, rssiDbm: -50 });
    expect(answer.ok).toBe(true);
    expect(seen).toEqual([{ uses: 1, recording: 1, allowOnRecord: true }]);
    // The challenge is spent too: the same presentation again is refused, and the door is not told twice.
    await r.room.service.relock((answer as { visitId: string }).visitId);
    await r.clock.advance(10_000);
    await r.settle();
    const again = await r.room.service.present({ transport: 'ble', grant: signed, presentation, rssiDbm: -50 });
    expect(again).toMatchObject({ ok: false, code: ErrorCode.GRANT_USED_UP, leaveOutside: false });
    expect(r.lock.commands).toEqual(['unlock', 'lock']);
  });

  it('relocks by itself when the entry time runs out, on the Clock', async () => {
    rig = await visitRig();
    const r = rig;
    const { visitId } = await openVisit(r, { maxEntryMs: 60_000 });
    await r.clock.advance(59_999);
    expect(r.lock.bolt).toBe('unlocked');
    await r.clock.advance(1);
    expect(r.lock.bolt).toBe('locked');
    expect(ofType(r, 'bolt').at(-1)?.body).toMatchObject({ state: 'locked', by: 'relock-timer' });
    expect(r.room.service.journal.steps(visitId).find((s) => s.state === 'relocking')?.cause).toBe('entry-timer');
  });

  it('throws the bolt only into a closed door: a relock asked with the door open waits, and happens the moment it closes', async () => {
    rig = await visitRig();
    const r = rig;
    const { visitId } = await openVisit(r);
    r.lock.openDoor();
    const relock = r.room.service.relock(visitId);
    await r.clock.advance(30_000);
    expect(r.lock.commands).toEqual(['unlock']);
    r.lock.closeDoor();
    await r.settle();
    expect(r.lock.commands).toEqual(['unlock', 'lock']);
    expect(await relock).toMatchObject({ ok: true, outcome: 'locked' });
  });

  it('a door still open when the entry time ends: door-left-open alarm, receipt and notice, then relocked the moment it closes', async () => {
    rig = await visitRig();
    const r = rig;
    const { visitId } = await openVisit(r, { maxEntryMs: 60_000 });
    r.lock.openDoor();
    await r.clock.advance(60_000);
    expect(r.lock.commands).toEqual(['unlock']);
    expect(ofType(r, 'alarm').map((a) => a.body)).toEqual([{ kind: 'door-left-open', visitId }]);
    expect(r.notices).toContainEqual({ kind: 'door-left-open', visitId });
    const decided = await r.room.service.relock(visitId);
    expect(decided).toMatchObject({ ok: true, outcome: 'door-left-open' });
    if (decided.ok) expect(decodeReceiptPayload(openEnvelope(decided.receipt, 512).payload)).toMatchObject({ outcome: 'door-left-open', door: 'open', bolt: 'unlocked' });
    // The lock is still held: no other visit while this door stands open.
    expect(r.room.service.challenge('ble')).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS });
    await r.clock.advance(HOUR);
    r.lock.closeDoor();
    await r.settle();
    expect(r.lock.bolt).toBe('locked');
    await r.clock.advance(10_000);
    await r.settle();
    expect(states(r, visitId).slice(4)).toEqual(['open', 'door-left-open', 'relocking', 'confirming', 'post-roll', 'done']);
    expect(r.notices).toContainEqual({ kind: 'locked-after-all', visitId, door: 'closed' });
    expect(r.room.service.journal.get(visitId)).toMatchObject({ outcome: 'door-left-open', holdsLock: false });
  });

  it('without a door sensor: relocks on the timer by the bolt alone and says "door unknown"', async () => {
    rig = await visitRig();
    const r = rig;
    r.lock.doorSensor = false;
    const { visitId } = await openVisit(r, { maxEntryMs: 60_000 });
    r.lock.openDoor(); // the door moves, the lock cannot tell
    await r.clock.advance(60_000);
    expect(r.lock.bolt).toBe('locked');
    const decided = await r.room.service.relock(visitId);
    if (!decided.ok) throw new Error('no receipt');
    expect(decodeReceiptPayload(openEnvelope(decided.receipt, 512).payload)).toMatchObject({ outcome: 'locked', door: 'unknown' });
    await r.clock.advance(10_000);
    await r.settle();
    expect(r.notices.at(-1)).toMatchObject({ kind: 'delivered', door: 'unknown' });
  });
});

describe('when the lock does not confirm', () => {
  it('a relock that fails: relock-failed alarm and receipt, retries with backoff, never reported as locked', async () => {
    rig = await visitRig();
    const r = rig;
    const { visitId } = await openVisit(r);
    r.lock.lockOutcomes = [ErrorCode.LOCK_JAMMED, ErrorCode.LOCK_TIMEOUT];
    const answer = await r.room.service.relock(visitId);
    expect(answer).toMatchObject({ ok: true, outcome: 'relock-failed' });
    if (answer.ok) expect(decodeReceiptPayload(openEnvelope(answer.receipt, 512).payload)).toMatchObject({ outcome: 'relock-failed', bolt: 'jammed' });
    expect(ofType(r, 'bolt.failed').map((e) => e.body.code)).toEqual([ErrorCode.LOCK_JAMMED]);
    expect(ofType(r, 'alarm').map((e) => e.body)).toEqual([{ kind: 'relock-failed', visitId, code: ErrorCode.LOCK_JAMMED }]);
    expect(r.notices).toContainEqual({ kind: 'relock-failed', visitId, code: ErrorCode.LOCK_JAMMED, codeName: 'LOCK_JAMMED' });
    await r.clock.advance(4_999);
    expect(r.lock.commands).toEqual(['unlock', 'lock']);
    await r.clock.advance(1); // first retry after 5 s: times out
    expect(r.lock.commands).toEqual(['unlock', 'lock', 'lock']);
    await r.clock.advance(10_000); // second retry after 10 s: confirms
    expect(r.lock.commands).toEqual(['unlock', 'lock', 'lock', 'lock']);
    expect(r.lock.bolt).toBe('locked');
    expect(ofType(r, 'bolt').filter((b) => b.body.state === 'locked')).toHaveLength(1);
    expect(r.notices).toContainEqual({ kind: 'locked-after-all', visitId, door: 'closed' });
    // The receipt the courier got still says what was true when it left.
    expect(await r.room.service.relock(visitId)).toEqual(answer);
    expect(states(r, visitId).slice(5)).toEqual(['relocking', 'relock-failed', 'relocking', 'relock-failed', 'relocking', 'confirming', 'post-roll']);
  });

  it('a lock that stays jammed: stops retrying, keeps the door held and refuses visits, until a hand on the thumb-turn locks it', async () => {
    rig = await visitRig();
    const r = rig;
    const { visitId } = await openVisit(r);
    r.lock.lockOutcomes = Array(10).fill(ErrorCode.LOCK_JAMMED);
    await r.room.service.relock(visitId);
    await r.clock.advance(HOUR);
    expect(r.lock.commands.filter((c) => c === 'lock')).toHaveLength(4); // the first and 3 retries
    expect(r.room.service.journal.get(visitId)).toMatchObject({ state: 'relock-failed', holdsLock: true });
    const { grant, signed } = r.grant();
    const stale = r.world.stores.replay.issueChallenge(r.clock.now());
    const answer = await r.room.service.present({ transport: 'ble', grant: signed, presentation: r.presentationOver(grant, stale), rssiDbm: -50 });
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS, leaveOutside: true });
    r.lock.manualLock();
    await r.settle();
    await r.clock.advance(10_000);
    await r.settle();
    expect(r.room.service.journal.steps(visitId).find((s) => s.state === 'confirming')?.cause).toBe('lock-report');
    expect(r.room.service.journal.get(visitId)).toMatchObject({ state: 'done', holdsLock: false, outcome: 'relock-failed' });
  });

  it('an unlock that fails: relocks to be sure, and the courier is told to leave the parcel outside with the lock\'s code', async () => {
    rig = await visitRig();
    const r = rig;
    r.lock.nextUnlock = ErrorCode.LOCK_TIMEOUT;
    const { answer } = await arrive(r);
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.LOCK_TIMEOUT, leaveOutside: true });
    await r.settle();
    expect(r.lock.commands).toEqual(['unlock', 'lock']);
    await r.clock.advance(10_000);
    await r.settle();
    const visitId = (answer as { visitId: string }).visitId;
    expect(states(r, visitId).slice(3)).toEqual(['unlocking', 'relocking', 'confirming', 'post-roll', 'left-outside']);
    expect(r.room.service.journal.get(visitId)?.receipt).toBeUndefined();
    expect(await r.room.service.relock(visitId)).toMatchObject({ ok: false, code: ErrorCode.LOCK_TIMEOUT });
  });
});

describe('camera first: no camera, no entry', () => {
  it('a camera that is not healthy: refused before the door opens, leave outside, the grant still usable', async () => {
    rig = await visitRig();
    const r = rig;
    r.camera.healthy = false;
    const { grant, signed, answer } = await arrive(r);
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.CAMERA_UNHEALTHY, leaveOutside: true });
    expect(r.lock.commands).toEqual([]);
    expect(r.world.stores.replay.usesOf(grant.kid, grant.id)).toBe(0);
    r.camera.healthy = true;
    const later = await r.room.service.present({ transport: 'ble', grant: signed, presentation: r.presentation(grant), rssiDbm: -50 });
    expect(later.ok).toBe(true);
  });

  it('a recorder that cannot start: the door stays shut and the courier leaves the parcel outside', async () => {
    rig = await visitRig();
    const r = rig;
    r.camera.failStart = ErrorCode.CAMERA_NOT_STREAMING;
    const { answer } = await arrive(r);
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.CAMERA_NOT_STREAMING, leaveOutside: true });
    expect(r.lock.commands).toEqual([]);
    expect(states(r, (answer as { visitId: string }).visitId)).toEqual(['requested', 'verifying', 'camera-arming', 'left-outside']);
  });

  it('a hub without a camera refuses deliveries before any grant is used', async () => {
    rig = await visitRig({ camera: false });
    const { answer } = await arrive(rig);
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.CAMERA_UNHEALTHY });
    expect(rig.lock.commands).toEqual([]);
  });

  it('a camera stall with the door open relocks at once and ends the visit camera-stalled', async () => {
    rig = await visitRig();
    const r = rig;
    const { visitId } = await openVisit(r);
    r.camera.stall();
    await r.settle();
    expect(r.lock.bolt).toBe('locked');
    expect(ofType(r, 'bolt').at(-1)?.body.by).toBe('camera-stall');
    expect(ofType(r, 'alarm').map((a) => a.body)).toEqual([{ kind: 'camera-stalled', visitId }]);
    await r.clock.advance(10_000);
    await r.settle();
    expect(r.room.service.journal.get(visitId)).toMatchObject({ state: 'camera-stalled', outcome: 'locked', holdsLock: false });
    expect(r.notices).toContainEqual({ kind: 'camera-stalled', visitId });
  });
});

describe('one visit at a time, and the home\'s say', () => {
  it('a second presentation while a visit is open is refused before its grant is looked at', async () => {
    rig = await visitRig();
    const r = rig;
    await openVisit(r);
    const { grant, signed } = r.grant();
    // No challenge while the door is busy, and a presentation over an older one is refused unread.
    expect(r.room.service.challenge('ble')).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS });
    const presentation = r.presentationOver(grant, r.world.stores.replay.issueChallenge(r.clock.now()));
    const answer = await r.room.service.present({ transport: 'ble', grant: signed, presentation, rssiDbm: -50 });
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS });
    expect(r.world.stores.replay.usesOf(grant.kid, grant.id)).toBe(0);
    expect(ofType(r, 'decision').at(-1)?.body).toEqual({ outcome: 'refuse', reason: ErrorCode.VISIT_IN_PROGRESS, reasonName: 'VISIT_IN_PROGRESS', transport: 'ble' });
  });

  it('deliveries paused, pets inside: told before the door opens, each switch on record as config.change', async () => {
    rig = await visitRig();
    const r = rig;
    const policy = r.room.service.policy;
    expect(policy.set('petsInside', true, 'cli', r.clock.now(), r.audit)).toBe(true);
    expect(policy.set('petsInside', true, 'cli', r.clock.now(), r.audit)).toBe(false);
    expect((await arrive(r)).answer).toMatchObject({ ok: false, code: ErrorCode.PETS_INSIDE, leaveOutside: true });
    policy.set('deliveriesPaused', true, 'cli', r.clock.now(), r.audit);
    expect((await arrive(r)).answer).toMatchObject({ ok: false, code: ErrorCode.DELIVERIES_PAUSED, leaveOutside: true });
    policy.set('deliveriesPaused', false, 'cli', r.clock.now(), r.audit);
    policy.set('petsInside', false, 'cli', r.clock.now(), r.audit);
    expect((await arrive(r)).answer.ok).toBe(true);
    expect(ofType(r, 'config.change').map((e) => e.body)).toEqual([
      { paths: ['home.petsInside'], by: 'cli' },
      { paths: ['home.deliveriesPaused'], by: 'cli' },
      { paths: ['home.deliveriesPaused'], by: 'cli' },
      { paths: ['home.petsInside'], by: 'cli' },
    ]);
    expect(r.lock.commands).toEqual(['unlock']);
  });

  it('a forged grant is refused and holds nothing: the next courier gets in', async () => {
    rig = await visitRig();
    const r = rig;
    const { grant, signed } = r.grant();
    const forged = Uint8Array.from(signed);
    forged[forged.length - 1] = (forged.at(-1) as number) ^ 1;
    const answer = await r.room.service.present({ transport: 'ble', grant: forged, presentation: r.presentation(grant), rssiDbm: -50 });
    expect(answer).toMatchObject({ ok: false, code: ErrorCode.GRANT_SIGNATURE_INVALID, leaveOutside: false });
    expect(states(r, (answer as { visitId: string }).visitId)).toEqual(['requested', 'verifying', 'refused']);
    expect(r.notices.at(-1)).toMatchObject({ kind: 'refused', code: ErrorCode.GRANT_SIGNATURE_INVALID });
    expect((await arrive(r)).answer.ok).toBe(true);
  });

  it('answers a relock for a visit it does not know, or for no visit id at all, with VISIT_UNKNOWN', async () => {
    rig = await visitRig();
    expect(await rig.room.service.relock('00'.repeat(16))).toMatchObject({ ok: false, code: ErrorCode.VISIT_UNKNOWN });
    expect(await rig.room.service.relock("'; DROP TABLE visits; --")).toMatchObject({ ok: false, code: ErrorCode.VISIT_UNKNOWN });
  });

  it('a lock that is not paired or does not answer: refused before any grant is used, the lock id on record once known', async () => {
    rig = await visitRig({ lockId: undefined });
    expect(rig.room.service.challenge('ble')).toMatchObject({ ok: false, code: ErrorCode.LOCK_NOT_PAIRED, leaveOutside: true });
    await rig.close();
    rig = await visitRig();
    rig.lock.connected = false;
    expect(rig.room.service.challenge('ble')).toMatchObject({ ok: false, code: ErrorCode.LOCK_UNREACHABLE });
    expect(ofType(rig, 'pairing')).toEqual([{ type: 'pairing', body: { device: 'front-door', kind: 'lock', outcome: 'paired' } }]);
  });
});
