/**
 * A hub's cloud side for peer tests and the bench: its store and audit log, the CloudLink (real
 * mqtt.js over TLS) and the Outbox, and on request the downlink intake (trusting a SimIssuer's
 * root and keyring, taking its commands), wired as main.ts would, on the real clock (real sockets).
 */
import { TrustState } from '../../hub/access/trust.js';
import { commandActionsFrom } from '../../hub/cloud/command-actions.js';
import { downlinkTrustFrom, DownlinkIntake } from '../../hub/cloud/downlink.js';
import { NoLock } from '../../hub/lock/no-lock.js';
import { CloudLink } from '../../hub/cloud/link.js';
import type { RefusalLimits } from '../../hub/cloud/refusal-flood.js';
import { clockFloor } from '../../hub/store/clock-floor.js';
import { trustStore } from '../../hub/store/trust-store.js';
import type { SimIssuer } from '../../sim/cloud/issuer.js';
import { Outbox } from '../../hub/cloud/outbox.js';
import type { PemPair } from '../../hub/cloud/pki.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import type { Store } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import type { Logger } from '../../hub/system/logger.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { accessOver } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';

export interface HubSide {
  hubId: string;
  store: Store;
  audit: AuditLog;
  link: CloudLink;
  outbox: Outbox;
  /** With `downlink` in the options. */
  intake: DownlinkIntake | undefined;
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
  /** A downlink intake trusting this issuer, subscribed before the link connects. */
  downlink?: { issuer: SimIssuer; refusals?: RefusalLimits };
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
    endpoint: { url: o.url, tls: { cert: o.identity.cert, key: o.identity.key, ca: o.ca }, protocolVersion: o.protocolVersion ?? 5 },
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
  const intake = o.downlink === undefined ? undefined : downlinkOn({ store, audit, link, outbox }, o.downlink, log);
  intake?.start();
  await link.start();
  return {
    hubId: audit.hubId,
    store,
    audit,
    link,
    outbox,
    intake,
    async stop() {
      await intake?.stop();
      outbox.stop();
      await link.stop();
      store.close();
    },
  };
}

function downlinkOn(hub: Pick<HubSide, 'store' | 'audit' | 'link' | 'outbox'>, o: NonNullable<HubSideOptions['downlink']>, log: Logger): DownlinkIntake {
  const trust = new TrustState(trustStore(hub.store));
  if (trust.status().keyringVersion === 0) {
    trust.pinRoot(o.issuer.rootPublicKey);
    trust.installKeyring(o.issuer.keyring());
  }
  const floor = clockFloor(hub.store);
  const clock = systemClock();
  return new DownlinkIntake({
    hubId: hub.audit.hubId,
    link: hub.link,
    audit: hub.audit,
    store: hub.store,
    clock,
    log: log.child({ module: 'cloud-downlink' }),
    trust: downlinkTrustFrom(accessOver({ trust, floor, store: hub.store, hubId: hub.audit.hubId, clock }), hub.store),
    commands: {
      actions: commandActionsFrom({ audit: hub.audit, outbox: hub.outbox, link: hub.link, lock: new NoLock(), clock, version: 'test' }),
      floorMs: () => floor.floorMs(),
      clockSkewMs: 300_000,
    },
    ...(o.refusals === undefined ? {} : { refusals: o.refusals }),
  });
}

export { until } from '../support/wait.js';
