/**
 * kill -9 mid-visit, in each state after the unlock was sent. The hub runs in a child process on
 * this process's simulated home (Z-Wave stick and Kwikset over tcp://, sim camera over RTSP); it is
 * killed once its journal shows the state, and restarted here on the same state directory. After
 * the restart: the door is relocked (or, standing open, the alarm raised and the bolt thrown once
 * it closes) before any request is taken, the visit is closed aborted (boot-recovery), the grant
 * cannot be used again, the audit chain verifies with every journal step's entry in it, and the
 * clip cut short plays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { VisitState } from '../../protocols/audit/events.js';
import { parseExport } from '../../protocols/audit/export-file.js';
import { verifyExport } from '../../protocols/audit/verify.js';
import { signingKeyFromSeed } from '../../protocols/grant/ed25519.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import type { DeliverySettings } from '../../hub/delivery/context.js';
import { zwaveLockId } from '../../hub/lock/zwave/zwave-lock.js';
import { exportAudit } from '../../hub/store/audit-export.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { SimCamera } from '../../sim/camera/server.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { provisionHub, startDeliveryHub } from '../support/delivery-hub.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';
import { TEST_KEYS, keyBytes } from '../support/zwave-lock-rig.js';

const CHILD = fileURLToPath(new URL('./delivery-crash-child.ts', import.meta.url));
const HOME_ID = 0x7e570001;
const COURIER_SEED = new Uint8Array(32).fill(3);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


interface Home {
  sim: KwiksetLock;
  stick: MockStick;
  camera: SimCamera;
  dir: string;
}

interface Case {
  state: VisitState;
  motorMs: number;
  maxEntryMs: number;
  settings: Partial<DeliverySettings>;
  /** Takes the visit from "present" to the state it is killed in. */
  drive(home: Home, say: (line: string) => void, state: () => string | undefined): Promise<void>;
  /** The physical world between the kill and the restart. */
  meanwhile?(home: Home): Promise<void>;
}

const present = (say: (line: string) => void) => say('present');
const reach = (state: () => string | undefined, want: string) => until(() => state() === want, `the journal at ${want}`, 20_000);

const CASES: Case[] = [
  {
    state: 'unlocking',
    motorMs: 1500,
    maxEntryMs: 120_000,
    settings: {},
    drive: async (h, say, state) => {
      present(say);
      await reach(state, 'unlocking');
      // Killed once the lock has the command: its motor goes on after the hub is gone.
      await until(() => h.sim.received.includes('DoorLockCCOperationSet'), 'the unlock command at the lock');
    },
    // The motor finishes on its own after the hub died: the door stands unlocked.
    meanwhile: (h) => until(() => h.sim.bolt === 'unlocked', 'the bolt retracted after the kill', 10_000),
  },
  {
    state: 'open',
    motorMs: 100,
    maxEntryMs: 120_000,
    settings: {},
    drive: async (h, say, state) => {
      present(say);
      await reach(state, 'open');
      await h.sim.openDoor();
      await h.sim.closeDoor();
    },
  },
  {
    state: 'relocking',
    motorMs: 1500,
    maxEntryMs: 120_000,
    settings: {},
    drive: async (_h, say, state) => {
      present(say);
      await reach(state, 'open');
      say('relock');
      await reach(state, 'relocking');
    },
  },
  {
    state: 'post-roll',
    motorMs: 100,
    maxEntryMs: 120_000,
    settings: { postRollMs: 60_000 },
    drive: async (_h, say, state) => {
      present(say);
      await reach(state, 'open');
      say('relock');
      await reach(state, 'post-roll');
    },
  },
  {
    state: 'door-left-open',
    motorMs: 100,
    maxEntryMs: 1500,
    settings: {},
    drive: async (h, say, state) => {
      present(say);
      await reach(state, 'open');
      await h.sim.openDoor();
      await reach(state, 'door-left-open');
    },
  },
  {
    state: 'relock-failed',
    motorMs: 100,
    maxEntryMs: 120_000,
    settings: { relockRetry: { firstMs: 60_000, maxMs: 60_000, attempts: 3 } },
    drive: async (h, say, state) => {
      present(say);
      await reach(state, 'open');
      h.sim.blocked = true;
      say('relock');
      await reach(state, 'relock-failed');
    },
    meanwhile: async (h) => {
      h.sim.blocked = false; // someone freed the bolt
    },
  },
];

describe('a hub killed mid-visit', () => {
  for (const c of CASES) {
    it(`killed at ${c.state}: at the restart the door is secured before anything else, the visit closed aborted, the grant spent, the log and the clip whole`, async () => {
      const stick = await MockStick.start({ homeId: HOME_ID, securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) } });
      cleanups.push(() => stick.stop());
      const sim = await KwiksetLock.attach(stick, { txDelayMs: 0, motorMs: c.motorMs, clock: systemClock() });
      cleanups.push(() => sim.stop());
      const camera = new SimCamera({ clock: systemClock() });
      await camera.start();
      cleanups.push(() => camera.stop());
      const dir = tempDir('keyhub-crash-visit-');
      cleanups.push(() => dir.cleanup());
      const cloud = new SimIssuer({ now: Date.now() });
      const { hubId } = await provisionHub(dir.path, { rootPublicKey: cloud.rootPublicKey, keyring: cloud.keyring() });
      const now = Date.now();
      const { grant, signed } = cloud.deliveryGrant({
        hubId,
        lockId: zwaveLockId(HOME_ID, 2),
        courierId: 'courier-9',
        courierKey: signingKeyFromSeed(COURIER_SEED).publicKey,
        orderId: 'order-9',
        packageIds: ['pkg-9'],
        addressDigest: new Uint8Array(32),
        notBefore: now - 60_000,
        notAfter: now + 3_600_000,
        maxEntryMs: c.maxEntryMs,
        issuedAt: now - 1000,
      });
      const home: Home = { sim, stick, camera, dir: dir.path };

      // The hub in a child process, driven like a courier's handheld.
      const child = spawnChild(dir.path, stick.path, camera.url, { postRollMs: 2000, ...c.settings }, signed);
      cleanups.push(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      await child.ready;
      const db = () => new BetterSqlite3(join(dir.path, 'keyhub.db'), { readonly: true, fileMustExist: true });
      const state = (): string | undefined => {
        const conn = db();
        try {
          return (conn.prepare('SELECT state FROM visits ORDER BY requested_at_ms DESC, rowid DESC LIMIT 1').get() as { state: string } | undefined)?.state;
        } finally {
          conn.close();
        }
      };
      await c.drive(home, child.say, state);
      await child.powerCut();
      expect(state()).toBe(c.state);
      await c.meanwhile?.(home);

      // The restart: this process is the hub now.
      const hub = await startDeliveryHub({ stateDir: dir.path, stickPath: stick.path, cameraUrl: camera.url });
      cleanups.push(() => hub.stop());
      const [visit] = hub.service.journal.recent(1);
      if (visit === undefined) throw new Error('no visit in the journal');
      // Before the relock settles, the door is held: nothing else can unlock. (A visit killed in its
      // post-roll was secured already: only its record is closed, at once.)
      if (c.state !== 'post-roll') expect(hub.service.challenge('ble')).toMatchObject({ ok: false, code: ErrorCode.VISIT_IN_PROGRESS });
      if (c.state === 'door-left-open') {
        // The door still stands open: the restarted hub alarms it, waits, and relocks once it closes.
        await until(() => hub.audit.read(1, 10_000).filter((r) => r.event.type === 'alarm').length === 2, 'the alarm of the hub that found the door open', 20_000);
        expect(sim.bolt).toBe('unlocked');
        await sim.closeDoor();
      }
      await hub.service.recovered();
      expect(sim.bolt).toBe('locked');
      const record = hub.service.journal.get(visit.visitId);
      expect(record).toMatchObject({ state: 'aborted', holdsLock: false });
      const steps = hub.service.journal.steps(visit.visitId);
      expect(steps.at(-1)).toMatchObject({ state: 'aborted', cause: 'boot-recovery' });
      if (c.state !== 'post-roll') {
        // Relocked by the recovery: at once, or (the door standing open) the moment it closed.
        const killedAt = steps.findIndex((s) => s.state === c.state);
        expect(steps.slice(killedAt + 1).some((s) => s.state === 'relocking' && (s.cause === 'boot-recovery' || s.cause === 'door-closed'))).toBe(true);
        expect(hub.audit.read(1, 10_000).filter((r) => r.event.type === 'bolt').at(-1)?.event).toMatchObject({ body: { state: 'locked', by: 'boot-recovery' } });
      }
      // A door found open at boot is alarmed again, by the hub that found it.
      if (c.state === 'door-left-open') expect(hub.audit.read(1, 10_000).filter((r) => r.event.type === 'alarm')).toHaveLength(2);

      // Every step has its entry, and the chain verifies.
      for (const step of steps) expect(hub.audit.read(step.auditSeq, 1)[0]?.event).toMatchObject({ type: 'visit', body: { visitId: visit.visitId, state: step.state } });
      const parts: Uint8Array[] = [];
      exportAudit(hub.audit, { format: 'cbor', nowMs: Date.now() }, (b) => parts.push(b));
      expect(verifyExport(parseExport(Buffer.concat(parts)), hub.hubKey.publicKey)).toMatchObject({ ok: true });

      // The grant is spent.
      await until(() => hub.camera.healthy(), 'the camera streaming again', 20_000);
      const challenge = hub.service.challenge('ble');
      if (!challenge.ok) throw new Error(challenge.codeName);
      const courier = signingKeyFromSeed(COURIER_SEED);
      const again = await hub.service.present({
        transport: 'ble',
        grant: signed,
        presentation: signPresentation({ grantId: grant.id, challenge: challenge.challenge, transport: 'ble', time: Date.now(), packages: ['pkg-9'] }, courier),
        rssiDbm: -50,
      });
      expect(again).toMatchObject({ ok: false, code: ErrorCode.GRANT_USED_UP });

      // The clip a crash cut short is kept, recovered, and plays.
      const clips = hub.service.clips?.byVisit(visit.visitId) ?? [];
      expect(clips.length).toBeGreaterThanOrEqual(1);
      for (const clip of clips) {
        expect(['recovered', 'complete']).toContain(clip.state);
        const probe = await ffprobe(join(dir.path, 'clips', clip.file));
        expect(probe).toMatchObject({ codec: 'h264', errors: '' });
        expect(probe.frames).toBeGreaterThan(0);
      }
      const clipEntries = hub.audit.read(1, 10_000).filter((r) => r.event.type === 'clip' && r.event.body.state !== 'started');
      expect(clipEntries.map((r) => r.event.type === 'clip' && r.event.body.sha256)).toEqual(clips.map((c) => c.sha256));
      expect(hub.auditFailures).toEqual([]);
    }, 90_000);
  }
});

function spawnChild(stateDir: string, stickPath: string, cameraUrl: string, settings: object, signedGrant: Uint8Array) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, stateDir, stickPath, cameraUrl, JSON.stringify(settings), Buffer.from(signedGrant).toString('hex'), Buffer.from(COURIER_SEED).toString('hex')],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = (async () => {
    const deadline = Date.now() + 40_000;
    while (!lines.some((l) => l.includes('"ready"'))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the hub child did not get ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return Object.assign(child, {
    ready,
    lines,
    say: (line: string) => void child.stdin?.write(`${line}\n`),
    powerCut: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  });
}
