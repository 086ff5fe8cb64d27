import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessService } from '../access/module.js';
import type { HubConfig } from '../config/schema.js';
import type { Lock } from '../lock/lock.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { commandActionsFrom } from './command-actions.js';
import { downlinkTrustFrom, DownlinkIntake } from './downlink.js';
import type { EmbeddedBroker } from './embedded-broker.js';
import { CloudLink, type CloudEndpoint } from './link.js';
import { Outbox } from './outbox.js';

/** The identity (certificate CN) of the cloud on the embedded broker. */
export const EMBEDDED_CLOUD_IDENTITY = 'keyhub-cloud';

/** The running parts of a hub's cloud side, for status and tests. */
export interface CloudParts {
  link: CloudLink;
  outbox: Outbox;
  downlink: DownlinkIntake;
  /** The simulated home's aedes broker, with `cloud.broker: embedded`. */
  broker: EmbeddedBroker | undefined;
}

export interface CloudRoom {
  /** In start order: [embedded broker], link, outbox, downlink intake; none without a cloud. */
  modules: Module[];
  /** Absent with `cloud.broker: none`. */
  parts: CloudParts | undefined;
}

/**
 * The cloud side of the daemon, from the `cloud` config section: the link (never blocks start:
 * the hub works offline), the audit outbox and the signed downlink, made at once on the open
 * store and audit log. Signed `commands` act on the hub's lock (NoLock refuses, not paired), the
 * audit log's checkpoint and the link's `state`; the access policy's clock skew bounds them.
 * The embedded broker's code (aedes, and @peculiar/x509 for its CA) is imported only when it is
 * the one configured: a hub on a real broker never runs it.
 */
export async function cloudRoom(
  config: HubConfig['cloud'],
  deps: {
    stateDir: string;
    store: Store;
    audit: AuditLog;
    access: Pick<AccessService, 'trust' | 'acceptSignedTime' | 'status'>;
    lock: Pick<Lock, 'lock' | 'state'>;
    clockSkewMs: number;
    /** An audit write failed while handling a downlink message: the daemon stops (main.ts). */
    onAuditFailure: (err: unknown) => void;
    clock: Clock;
    log: Logger;
    version: string;
  },
): Promise<CloudRoom> {
  if (config.broker === 'none') return { modules: [], parts: undefined };
  const { clock, log, audit } = deps;
  let broker: EmbeddedBroker | undefined;
  let endpoint: () => Promise<CloudEndpoint>;
  if (config.broker === 'embedded') {
    const { EmbeddedBroker } = await import('./embedded-broker.js');
    const embedded = new EmbeddedBroker({ dir: join(deps.stateDir, 'broker'), port: config.port, cloudIdentity: EMBEDDED_CLOUD_IDENTITY, clock, log: log.child({ module: 'embedded-broker' }) });
    broker = embedded;
    // Known once the broker listens; aedes speaks MQTT 3.1.1 only.
    endpoint = async () => ({ url: embedded.url, tls: { ...(await embedded.clientIdentity(audit.hubId)), ca: embedded.caCert }, protocolVersion: 4 });
  } else {
    endpoint = async () => externalEndpoint(config);
  }
  const link = new CloudLink({ hubId: audit.hubId, endpoint, clock, log: log.child({ module: 'cloud-link' }) });
  const outbox = new Outbox({ source: audit, link, clock, log: log.child({ module: 'cloud-outbox' }), version: deps.version });
  const downlink = new DownlinkIntake({
    hubId: audit.hubId,
    link,
    audit,
    trust: downlinkTrustFrom(deps.access, deps.store),
    store: deps.store,
    clock,
    log: log.child({ module: 'cloud-downlink' }),
    commands: {
      actions: commandActionsFrom({ audit, outbox, link, lock: deps.lock, clock, version: deps.version }),
      floorMs: () => deps.access.status().clockFloorMs,
      clockSkewMs: deps.clockSkewMs,
    },
    onAuditFailure: deps.onAuditFailure,
    refusals: { inFullPerKind: config.refusals.inFullPerKind, inFullTotal: config.refusals.inFullTotal, intervalMs: config.refusals.intervalS * 1000 },
  });
  return { modules: [...(broker === undefined ? [] : [broker]), link, outbox, downlink], parts: { link, outbox, downlink, broker } };
}

function externalEndpoint(config: Extract<HubConfig['cloud'], { broker: 'external' }>): CloudEndpoint {
  try {
    return {
      url: config.url,
      tls: { cert: readFileSync(config.certFile, 'utf8'), key: readFileSync(config.keyFile, 'utf8'), ca: readFileSync(config.caFile, 'utf8') },
      protocolVersion: 5,
    };
  } catch (err) {
    throw new HubError(ErrorCode.CLOUD_CONFIG_INVALID, `cloud TLS files unreadable: ${(err as Error).message}`, { cause: err });
  }
}
