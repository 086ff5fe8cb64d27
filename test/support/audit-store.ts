import { join } from 'node:path';
import { AuditLog } from '../../hub/store/audit-log.js';
import { loadOrCreateHubKey } from '../../hub/store/hub-key.js';
import { hubId } from '../../hub/store/daemon-runs.js';
import { openStore, type Store } from '../../hub/store/store.js';
import type { Clock } from '../../hub/system/clock.js';
import { silentLog } from './silent-log.js';

/** A fresh store with every migration (the audit tables are 0004), as the daemon opens it. */
export async function openAuditStore(root: string, name = 'keyhub.db'): Promise<Store> {
  return openStore({ path: join(root, name), busyTimeoutMs: 5000, log: silentLog() });
}

export function auditLogOn(store: Store, clock: Clock, checkpointEvery = 100): AuditLog {
  return new AuditLog({ store, clock, hubId: hubId(store), hubKey: loadOrCreateHubKey(store), checkpointEvery, log: silentLog() });
}
