import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessService } from '../access/module.js';
import type { Lock } from '../lock/lock.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { commandActionsFrom } from './command-actions.js';
import { downlinkTrustFrom, DownlinkIntake } from './downlink.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { CloudLink, type CloudTls } from './link.js';
import { Outbox } from './outbox.js';
import type { RefusalLimits } from './refusal-flood.js';

/** The identity (certificate CN) of the cloud on the embedded broker. */
export const EMBEDDED_CLOUD_IDENTITY = 'keyhub-cloud';

export type CloudSettings =
  | {
      /** The simulated home: aedes in-process on 127.0.0.1 with its own CA (MQTT 3.1.1). */
      broker: 'embedded';
      port: number;
    }
  | {
      /** A real broker (mosquitto): the hub's certificate and key, and the CA to pin. */
      broker: 'external';
      url: string;
      certFile: string;
      keyFile: string;
      caFile: string;
      servername?: string;
    };

export interface CloudModules {
  modules: Module[];
  /** The running parts, for status and tests; throw before start. */
  link(): CloudLink;
  outbox(): Outbox;
  embedded(): EmbeddedBroker | undefined;
}

/**
 * Builds the cloud side in start order: [embedded broker], link, outbox, [downlink intake when
 * the access module is there]. Parts that need the hub id or the audit log are made in `start`,
 * after the store and audit modules have started; main.ts lists these after them.
 */
export function cloudModules(deps: {
  settings: CloudSettings;
  stateDir: string;
  store: () => Store;
  audit: () => AuditLog;
  access?: () => Pick<AccessService, 'trust' | 'acceptSignedTime' | 'status'>;
  /**
   * Signed commands (with the access module only): the lock a `lock` command throws (absent when
   * none is configured), the access policy's clock skew, and where a failed audit write is reported.
   */
  commands?: { lock?: () => Pick<Lock, 'lock' | 'state'>; clockSkewMs: number; onAuditFailure?: (err: unknown) => void };
  /** Flood control of refused downlink payloads (config cloud.refusals). */
  refusals?: RefusalLimits;
  clock: Clock;
  log: Logger;
  version: string;
}): CloudModules {
  const { settings, clock, log } = deps;
  const broker =
    settings.broker === 'embedded'
      ? new EmbeddedBroker({ dir: join(deps.stateDir, 'broker'), port: settings.port, cloudIdentity: EMBEDDED_CLOUD_IDENTITY, clock, log: log.child({ module: 'embedded-broker' }) })
      : undefined;
  let link: CloudLink | undefined;
  let outbox: Outbox | undefined;
  let downlink: DownlinkIntake | undefined;
  const linkModule: Module = {
    name: 'cloud-link',
    async start(signal) {
      const hubId = deps.audit().hubId;
      const { url, tls, protocolVersion } = await endpoint(settings, broker, hubId);
      // Checked before the client exists: a link made and then abandoned by an aborted start would
      // never be stopped (stop is only called for modules whose start resolved).
      signal.throwIfAborted();
      link = new CloudLink({ hubId, url, tls, protocolVersion, clock, log: log.child({ module: 'cloud-link' }) });
      link.start();
    },
    stop: () => link?.stop(),
  };
  const outboxModule: Module = {
    name: 'cloud-outbox',
    start() {
      outbox = new Outbox({ source: deps.audit(), link: required(link), clock, log: log.child({ module: 'cloud-outbox' }), version: deps.version });
      outbox.start();
    },
    stop: () => outbox?.stop(),
  };
  const modules: Module[] = [...(broker === undefined ? [] : [broker]), linkModule, outboxModule];
  const access = deps.access;
  if (access !== undefined) {
    modules.push({
      name: 'cloud-downlink',
      start() {
        const audit = deps.audit();
        const commands = deps.commands;
        const service = access();
        downlink = new DownlinkIntake({
          hubId: audit.hubId,
          link: required(link),
          audit,
          trust: downlinkTrustFrom(service, deps.store()),
          store: deps.store(),
          clock,
          log: log.child({ module: 'cloud-downlink' }),
          ...(deps.refusals === undefined ? {} : { refusals: deps.refusals }),
          ...(commands === undefined
            ? {}
            : {
                commands: {
                  actions: commandActionsFrom({ audit, outbox: required(outbox), link: required(link), ...(commands.lock ? { lock: commands.lock() } : {}), clock, version: deps.version }),
                  floorMs: () => service.status().clockFloorMs,
                  clockSkewMs: commands.clockSkewMs,
                },
                ...(commands.onAuditFailure === undefined ? {} : { onAuditFailure: commands.onAuditFailure }),
              }),
        });
        downlink.start();
      },
      stop: () => downlink?.stop(),
    });
  }
  return { modules, link: () => required(link), outbox: () => required(outbox), embedded: () => broker };
}

async function endpoint(settings: CloudSettings, broker: EmbeddedBroker | undefined, hubId: string): Promise<{ url: string; tls: CloudTls; protocolVersion: 4 | 5 }> {
  if (settings.broker === 'embedded') {
    const b = required(broker);
    const identity = await b.clientIdentity(hubId);
    // aedes speaks MQTT 3.1.1 only.
    return { url: b.url, tls: { ...identity, ca: b.caCert }, protocolVersion: 4 };
  }
  try {
    const tls: CloudTls = {
      cert: readFileSync(settings.certFile, 'utf8'),
      key: readFileSync(settings.keyFile, 'utf8'),
      ca: readFileSync(settings.caFile, 'utf8'),
      ...(settings.servername === undefined ? {} : { servername: settings.servername }),
    };
    return { url: settings.url, tls, protocolVersion: 5 };
  } catch (err) {
    throw new HubError(ErrorCode.CLOUD_CONFIG_INVALID, `cloud TLS files unreadable: ${(err as Error).message}`, { cause: err });
  }
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('cloud module is not started');
  return value;
}
