/**
 * The hub's side of a real delivery, assembled as main.ts will assemble it (store, audit log,
 * access, the Z-Wave lock driver on a stick served over tcp://, the camera on an RTSP URL, the
 * lock and camera audit bridges, the delivery room), with nothing simulated inside it. The
 * simulated home (stick, Kwikset, sim camera, sim cloud's issuer) lives elsewhere: in the test
 * process, or in a parent process when this runs in a child that is killed mid-visit.
 */
import { join } from 'node:path';
import { accessRoom } from '../../hub/access/module.js';
import { Camera } from '../../hub/camera/camera.js';
import { cameraAuditModule } from '../../hub/camera/camera-audit.js';
import type { DeliverySettings } from '../../hub/delivery/context.js';
import { deliveryRoom, type DeliveryService } from '../../hub/delivery/module.js';
import type { VisitNotice } from '../../hub/delivery/notices.js';
import { lockAuditModule } from '../../hub/lock/lock-audit.js';
import { zwaveLock, type ZwaveLock } from '../../hub/lock/zwave/zwave-lock.js';
import { AuditLog } from '../../hub/store/audit-log.js';
import { hubId } from '../../hub/store/daemon-runs.js';
import { loadOrCreateHubKey, type HubKey } from '../../hub/store/hub-key.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { TrustState } from '../../hub/access/trust.js';
import { systemClock, type Clock } from '../../hub/system/clock.js';
import { startAll, stopAll, type Module } from '../../hub/system/lifecycle.js';
import { createLogger } from '../../hub/system/logger.js';
import type { Credentials } from '../../protocols/rtsp/auth.js';
import { silentLog } from './silent-log.js';
import { TEST_KEYS } from './zwave-lock-rig.js';

export interface DeliveryHubOptions {
  stateDir: string;
  stickPath: string;
  cameraUrl: string;
  credentials?: Credentials;
  settings?: Partial<DeliverySettings>;
  clock?: Clock;
  /** The lock driver's command timeout (ms). */
  commandTimeoutMs?: number;
}

export interface DeliveryHub {
  store: Store;
  audit: AuditLog;
  hubId: string;
  hubKey: HubKey;
  lock: ZwaveLock;
  camera: Camera;
  service: DeliveryService;
  notices: VisitNotice[];
  receipts: Uint8Array[];
  auditFailures: unknown[];
  stop(): Promise<void>;
}

/** Makes the hub's database and installs the trust a sim cloud's root and keyring give it. */
export async function provisionHub(stateDir: string, trust: { rootPublicKey: Uint8Array; keyring: Uint8Array }): Promise<{ hubId: string; hubPublicKey: Uint8Array }> {
  const store = await openStore({ path: join(stateDir, 'keyhub.db'), busyTimeoutMs: 5000, log: silentLog() });
  try {
    const held = trustStore(store);
    held.pinRoot(trust.rootPublicKey);
    new TrustState(held).installKeyring(trust.keyring);
    return { hubId: hubId(store), hubPublicKey: Uint8Array.from(Buffer.from(loadOrCreateHubKey(store).publicHex, 'hex')) };
  } finally {
    store.close();
  }
}

export async function startDeliveryHub(o: DeliveryHubOptions): Promise<DeliveryHub> {
  const clock = o.clock ?? systemClock();
  const log = process.env.KEYHUB_TEST_LOG === '1' ? createLogger({ level: 'debug', format: 'json' }) : silentLog();
  const store = await openStore({ path: join(o.stateDir, 'keyhub.db'), busyTimeoutMs: 5000, log });
  const hubKey = loadOrCreateHubKey(store);
  const id = hubId(store);
  const audit = new AuditLog({ store, clock, hubId: id, hubKey, checkpointEvery: 100, log });
  const auditFailures: unknown[] = [];
  const onAuditFailure = (err: unknown): void => {
    auditFailures.push(err);
  };
  const access = accessRoom({ store, clock, log, policy: { clockSkewMs: 300_000, rssiFloorDbm: -70 } });
  // zwave-js's cache locks in a directory of this process's own, as systemd's RuntimeDirectory would be.
  const lock = zwaveLock({ port: o.stickPath, keys: TEST_KEYS, cacheDir: join(o.stateDir, 'zwave'), lockDir: join(o.stateDir, `run-${process.pid}`), commandTimeoutMs: o.commandTimeoutMs ?? 5000, stateMaxAgeMs: 60_000, clock, log });
  const camera = new Camera({ url: o.cameraUrl, credentials: o.credentials, clock, log, preRollS: 2, stallS: 3, readBatchMs: 0 });
  const notices: VisitNotice[] = [];
  const receipts: Uint8Array[] = [];
  const room = deliveryRoom({
    store,
    audit,
    access: { authorize: (g, p, c) => access.service.authorize(g, p, c), issueChallenge: () => access.service.issueChallenge() },
    lock,
    camera,
    hubId: id,
    hubKey,
    clock,
    log,
    clips: { dir: join(o.stateDir, 'clips'), quotaBytes: 500e6, visitQuotaBytes: 400e6 },
    ...(o.settings === undefined ? {} : { settings: o.settings }),
    notify: (n) => notices.push(n),
    publishReceipt: (r) => receipts.push(r),
    onAuditFailure,
  });
  const currentVisit = (): string | undefined => room.service.currentVisit();
  // The order main.ts keeps: the bridges listen before the lock and camera start; the room starts
  // after them (it relocks what a crash left open) and before anything takes requests.
  const modules: Module[] = [
    access.module,
    lockAuditModule({ lock, audit, log, onAuditFailure, currentVisit }),
    cameraAuditModule({ camera, audit, onAuditFailure, currentVisit }),
    lock,
    camera,
    room.module,
  ];
  const started = await startAll(modules, new AbortController().signal, log);
  return {
    store,
    audit,
    hubId: id,
    hubKey,
    lock,
    camera,
    service: room.service,
    notices,
    receipts,
    auditFailures,
    async stop() {
      await stopAll(started, log);
      store.close();
    },
  };
}
