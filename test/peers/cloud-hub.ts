/**
 * A hub's cloud side for peer tests and the bench: its store and audit log, the CloudLink (real
 * mqtt.js over TLS) and the Outbox, wired as main.ts would, on the real clock (real sockets).
 */
import { CloudLink } from '../../hub/cloud/link.js';
import { Outbox } from '../../hub/cloud/outbox.js';
import type { PemPair } from '../../hub/cloud/pki.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import type { Store } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import type { Logger } from '../../hub/system/logger.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { silentLog } from '../support/silent-log.js';

export interface HubSide {
  hubId: string;
  store: Store;
  audit: AuditLog;
  link: CloudLink;
  outbox: Outbox;
  stop(): Promise<void>;
}

export interface HubSideOptions {
  dir: string;
  url: string;
  ca: string;
  identity: PemPair;
  protocolVersion?: 4 | 5;
  batchSize?: number;
  maxInFlight?: number;
  ackTimeoutMs?: number;
  log?: Logger;
  checkpointEvery?: number;
  /** Reuse a store opened by the caller (its hub id decides the certificate's CN). */
  store?: Store;
}

export async function openHubStore(dir: string): Promise<Store> {
  return openAuditStore(dir);
}

export async function startHubSide(o: HubSideOptions): Promise<HubSide> {
  const clock = systemClock();
  const log = o.log ?? silentLog();
  const store = o.store ?? (await openHubStore(o.dir));
  const audit = auditLogOn(store, clock, o.checkpointEvery ?? 100);
  const link = new CloudLink({
    hubId: audit.hubId,
    url: o.url,
    tls: { cert: o.identity.cert, key: o.identity.key, ca: o.ca },
    protocolVersion: o.protocolVersion ?? 5,
    clock,
    log: log.child({ module: 'cloud-link' }),
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  const outbox = new Outbox({
    source: audit,
    link,
    clock,
    log: log.child({ module: 'cloud-outbox' }),
    version: 'test',
    batchSize: o.batchSize ?? 200,
    maxInFlight: o.maxInFlight ?? 4,
    ackTimeoutMs: o.ackTimeoutMs ?? 5000,
    pollMs: 100,
    batchDelayMs: 50,
  });
  outbox.start();
  link.start();
  return {
    hubId: audit.hubId,
    store,
    audit,
    link,
    outbox,
    async stop() {
      outbox.stop();
      await link.stop();
      store.close();
    },
  };
}

export { until } from '../support/wait.js';
