/**
 * A delivery end to end on the real path: a grant minted by the sim cloud's issuer, presented by
 * the courier's handheld over the hub's own challenge, decided by AccessService.authorize, the
 * clip recorded by the hub's RTSP client and recorder from the sim camera, the door opened and
 * relocked by the Z-Wave driver on zwave-js's mock controller (Kwikset 916 behaviours), the receipt
 * checked by the handheld, the audit chain verified offline and the clip played by ffprobe.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExport } from '../../protocols/audit/export-file.js';
import { verifyExport } from '../../protocols/audit/verify.js';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { verifyReceipt } from '../../protocols/grant/handheld.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { exportAudit } from '../../hub/store/audit-export.js';
import { zwaveLockId } from '../../hub/lock/zwave/zwave-lock.js';
import { systemClock } from '../../hub/system/clock.js';
import { SimCamera } from '../../sim/camera/server.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { KwiksetLock, type KwiksetOptions } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { provisionHub, startDeliveryHub, type DeliveryHub } from '../support/delivery-hub.js';
import { seededKey } from '../support/grant-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';
import { TEST_KEYS, keyBytes } from '../support/zwave-lock-rig.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOME_ID = 0x7e570001;
const courier = seededKey(3);

async function home(kwikset: Omit<KwiksetOptions, 'clock'> = {}) {
  const stick = await MockStick.start({ homeId: HOME_ID, securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) } });
  cleanups.push(() => stick.stop());
  const sim = await KwiksetLock.attach(stick, { txDelayMs: 0, motorMs: 200, clock: systemClock(), ...kwikset });
  cleanups.push(() => sim.stop());
  const camera = new SimCamera({ clock: systemClock() });
  await camera.start();
  cleanups.push(() => camera.stop());
  const cloud = new SimIssuer({ now: Date.now() });
  const dir = tempDir('keyhub-delivery-');
  cleanups.push(() => dir.cleanup());
  const { hubId, hubPublicKey } = await provisionHub(dir.path, { rootPublicKey: cloud.rootPublicKey, keyring: cloud.keyring() });
  return { stick, sim, camera, cloud, dir, hubId, hubPublicKey };
}

type Home = Awaited<ReturnType<typeof home>>;

async function hubIn(h: Home, settings = {}): Promise<DeliveryHub> {
  const hub = await startDeliveryHub({ stateDir: h.dir.path, stickPath: h.stick.path, cameraUrl: h.camera.url, settings: { postRollMs: 1500, ...settings } });
  cleanups.push(() => hub.stop());
  await until(() => hub.camera.healthy() && hub.camera.preRoll().filter((f) => f.au.key).length >= 2, 'the camera streaming with a pre-roll', 20_000);
  return hub;
}

function grantFor(h: Home, maxEntryMs = 120_000) {
  const now = Date.now();
  return h.cloud.deliveryGrant({
    hubId: h.hubId,
    lockId: zwaveLockId(HOME_ID, 2),
    courierId: 'courier-7',
    courierKey: courier.publicKey,
    orderId: 'order-77',
    packageIds: ['pkg-1'],
    addressDigest: new Uint8Array(32).fill(3),
    notBefore: now - 60_000,
    notAfter: now + 3_600_000,
    maxEntryMs,
    issuedAt: now - 1000,
  });
}

async function present(hub: DeliveryHub, signedGrant: Uint8Array, grantId: Uint8Array) {
  const challenge = hub.service.challenge('ble');
  if (!challenge.ok) throw new Error(`no challenge: ${challenge.codeName}`);
  const presentation = signPresentation({ grantId, challenge: challenge.challenge, transport: 'ble', time: Date.now(), packages: ['pkg-1'] }, courier);
  return hub.service.present({ transport: 'ble', grant: signedGrant, presentation, rssiDbm: -55 });
}

function verifyChain(hub: DeliveryHub): ReturnType<typeof verifyExport> {
  const parts: Uint8Array[] = [];
  exportAudit(hub.audit, { format: 'cbor', nowMs: Date.now() }, (c) => parts.push(c));
  return verifyExport(parseExport(Buffer.concat(parts)), hub.hubKey.publicKey);
}

const events = (hub: DeliveryHub): AuditEvent[] => hub.audit.read(1, 100_000).map((r) => r.event);

describe('a delivery on the simulated home', () => {
  it('the courier gets in, asks to relock, and walks away with a receipt; the clip plays and the log verifies', async () => {
    const h = await home();
    const hub = await hubIn(h);
    const { grant, signed } = grantFor(h);
    const answer = await present(hub, signed, grant.id);
    expect(answer, JSON.stringify(answer)).toMatchObject({ ok: true });
    if (!answer.ok) return;
    expect(h.sim.bolt).toBe('unlocked');
    await h.sim.openDoor();
    await until(() => hub.lock.state().door === 'open', 'the door reported open');
    await h.sim.closeDoor();
    await until(() => hub.lock.state().door === 'closed', 'the door reported closed');
    const relock = await hub.service.relock(answer.visitId);
    expect(relock.ok).toBe(true);
    if (!relock.ok) return;
    expect(h.sim.bolt).toBe('locked');
    const check = verifyReceipt(relock.receipt, h.hubPublicKey, { hubId: h.hubId, grantId: grant.id });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.receipt).toMatchObject({ outcome: 'locked', bolt: 'locked', door: 'closed' });
    await until(() => hub.service.journal.get(answer.visitId)?.state === 'done', 'the post-roll and the end of the visit', 15_000);

    const visitId = answer.visitId;
    expect(hub.service.journal.steps(visitId).map((s) => s.state)).toEqual(['requested', 'verifying', 'camera-arming', 'unlocking', 'open', 'relocking', 'confirming', 'post-roll', 'done']);
    const all = events(hub);
    // The door, as the lock reported it, names the visit; the bolt moves are the visit's own entries.
    expect(all.filter((e) => e.type === 'door')).toEqual([
      { type: 'door', body: { state: 'open', visitId } },
      { type: 'door', body: { state: 'closed', visitId } },
    ]);
    expect(all.filter((e) => e.type === 'bolt').map((e) => e.type === 'bolt' && e.body.state)).toEqual(['unlocked', 'locked']);
    expect(verifyChain(hub)).toMatchObject({ ok: true });

    const clips = hub.service.clips?.byVisit(visitId) ?? [];
    expect(clips).toHaveLength(1);
    const clip = clips[0];
    if (clip === undefined || check.receipt.clip === undefined) throw new Error('no clip');
    const path = `${h.dir.path}/clips/${clip.file}`;
    const file = readFileSync(path);
    // The receipt vouched for the clip's beginning; the audit entry for all of it.
    expect(check.receipt.clip.id).toBe(clip.id);
    expect(createHash('sha256').update(file.subarray(0, check.receipt.clip.bytes)).digest('hex')).toBe(Buffer.from(check.receipt.clip.sha256).toString('hex'));
    expect(all.find((e) => e.type === 'clip' && e.body.state === 'finished')).toEqual({ type: 'clip', body: { clipId: clip.id, state: 'finished', visitId, sha256: clip.sha256, bytes: clip.bytes } });
    const probe = await ffprobe(path);
    expect(probe).toMatchObject({ codec: 'h264', errors: '' });
    expect(probe.frames).toBeGreaterThanOrEqual(60);
    expect(hub.auditFailures).toEqual([]);
  });

  it('a lock without a door sensor is relocked by its entry timer on the bolt alone, "door unknown"', async () => {
    const h = await home({ doorSensor: false });
    const hub = await hubIn(h);
    const { grant, signed } = grantFor(h, 2500);
    const answer = await present(hub, signed, grant.id);
    if (!answer.ok) throw new Error(answer.codeName);
    await h.sim.openDoor();
    await h.sim.closeDoor();
    // Nobody asks: the entry time runs out and the hub throws the bolt by itself.
    await until(() => hub.service.journal.get(answer.visitId)?.outcome !== undefined, 'the relock at the end of the entry time', 15_000);
    expect(hub.service.journal.steps(answer.visitId).find((s) => s.state === 'relocking')?.cause).toBe('entry-timer');
    const relock = await hub.service.relock(answer.visitId);
    if (!relock.ok) throw new Error(relock.codeName);
    const check = verifyReceipt(relock.receipt, h.hubPublicKey, { hubId: h.hubId, grantId: grant.id });
    expect(check).toMatchObject({ ok: true, receipt: { outcome: 'locked', door: 'unknown' } });
    expect(h.sim.bolt).toBe('locked');
    await until(() => hub.service.journal.get(answer.visitId)?.state === 'done', 'the end of the visit', 15_000);
    expect(events(hub).filter((e) => e.type === 'door')).toEqual([]);
    expect(hub.notices.at(-1)).toMatchObject({ kind: 'delivered', door: 'unknown' });
  });

  it('a jammed relock is on record as jammed while locking, and relock-failed; freed, the retry locks it', async () => {
    const h = await home();
    const hub = await hubIn(h, { relockRetry: { firstMs: 1000, maxMs: 1000, attempts: 5 } });
    const { grant, signed } = grantFor(h);
    const answer = await present(hub, signed, grant.id);
    if (!answer.ok) throw new Error(answer.codeName);
    h.sim.blocked = true;
    const relock = await hub.service.relock(answer.visitId);
    expect(relock).toMatchObject({ ok: true, outcome: 'relock-failed' });
    const jam = events(hub).find((e) => e.type === 'jam');
    expect(jam).toEqual({ type: 'jam', body: { during: 'lock', visitId: answer.visitId } });
    h.sim.blocked = false;
    await until(() => h.sim.bolt === 'locked', 'the retry throwing the bolt', 10_000);
    await until(() => hub.service.journal.get(answer.visitId)?.state === 'done', 'the end of the visit', 15_000);
    expect(hub.notices).toContainEqual({ kind: 'locked-after-all', visitId: answer.visitId, door: 'closed' });
    expect(verifyChain(hub)).toMatchObject({ ok: true });
  });

  it('the camera freezing with the door open (Wi-Fi deauthentication) relocks at once and ends the visit camera-stalled', async () => {
    const h = await home();
    const hub = await hubIn(h);
    const { grant, signed } = grantFor(h);
    const answer = await present(hub, signed, grant.id);
    if (!answer.ok) throw new Error(answer.codeName);
    h.camera.faults.freeze = true;
    await until(() => h.sim.bolt === 'locked', 'the relock at the stall', 15_000);
    h.camera.faults.freeze = false;
    await until(() => hub.service.journal.get(answer.visitId)?.state === 'camera-stalled', 'the end of the visit', 15_000);
    const all = events(hub);
    expect(all.find((e) => e.type === 'camera.stall')).toMatchObject({ body: { visitId: answer.visitId } });
    expect(all.filter((e) => e.type === 'bolt').at(-1)).toMatchObject({ body: { state: 'locked', by: 'camera-stall' } });
    expect(hub.notices).toContainEqual({ kind: 'camera-stalled', visitId: answer.visitId });
    const relock = await hub.service.relock(answer.visitId);
    expect(relock).toMatchObject({ ok: true, outcome: 'locked' });
  });

  it('a relock that times out and then completes: the late report is on record, and it confirms the visit', async () => {
    const h = await home({ motorMs: 200 });
    const hub = await hubIn(h, { relockRetry: { firstMs: 60_000, maxMs: 60_000, attempts: 1 } });
    const { grant, signed } = grantFor(h);
    const answer = await present(hub, signed, grant.id);
    if (!answer.ok) throw new Error(answer.codeName);
    // The motor now takes longer than the hub waits for a confirmed outcome (5 s).
    h.sim.motorMs = 6500;
    const relock = await hub.service.relock(answer.visitId);
    expect(relock).toMatchObject({ ok: true, outcome: 'relock-failed' });
    await until(() => events(hub).some((e) => e.type === 'bolt' && e.body.by === 'hub'), 'the late bolt report on record', 10_000);
    expect(events(hub).filter((e) => e.type === 'bolt').at(-1)).toEqual({ type: 'bolt', body: { state: 'locked', by: 'hub', visitId: answer.visitId } });
    await until(() => hub.service.journal.get(answer.visitId)?.state === 'done', 'the visit confirmed by the lock report', 15_000);
    expect(hub.service.journal.steps(answer.visitId).find((s) => s.state === 'confirming')?.cause).toBe('lock-report');
  });
});
