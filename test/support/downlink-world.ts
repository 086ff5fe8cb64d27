import { downlinkTrustFrom, DownlinkIntake, type DownlinkOptions } from '../../hub/cloud/downlink.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import type { Clock } from '../../hub/system/clock.js';
import { accessOver, HUB_ID, type World } from './grant-fixture.js';
import type { RecordingLink } from './recording-link.js';
import { silentLog } from './silent-log.js';

/**
 * The downlink intake over a grant World (its store, trust state and clock floor, as the daemon's
 * access room hands them on), answering through a RecordingLink; started.
 */
export function intakeOn(
  world: World,
  o: { audit: AuditLog; link: RecordingLink; clock: Clock } & Pick<DownlinkOptions, 'commands' | 'onAuditFailure'>,
): DownlinkIntake {
  const intake = new DownlinkIntake({
    hubId: HUB_ID,
    link: o.link,
    audit: o.audit,
    store: world.store,
    clock: o.clock,
    log: silentLog(),
    trust: downlinkTrustFrom(accessOver(world), world.store),
    ...(o.commands === undefined ? {} : { commands: o.commands }),
    ...(o.onAuditFailure === undefined ? {} : { onAuditFailure: o.onAuditFailure }),
  });
  intake.start();
  return intake;
}
