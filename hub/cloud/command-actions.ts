import type { PayloadOf } from '../../protocols/mqtt/contract.js';
import type { Lock } from '../lock/lock.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Clock } from '../system/clock.js';
import type { CommandActions } from './downlink.js';
import type { CloudLink } from './link.js';
import type { Outbox } from './outbox.js';

/**
 * The production CommandActions (downlink.ts) over the daemon's running parts: the lock's own
 * confirmed `lock()`, the audit log's on-demand checkpoint (then the outbox is woken so it leaves
 * with the next batch), and a `state` publish that waits for the broker's PUBACK (QoS 1; retained
 * per the topic contract) so "accepted" means published, not queued.
 */
export function commandActionsFrom(deps: {
  audit: Pick<AuditLog, 'hubId' | 'head' | 'state' | 'checkpointNow'>;
  outbox: Pick<Outbox, 'wake'>;
  link: Pick<CloudLink, 'publish'>;
  /** The hub's lock (NoLock, which refuses as not paired, when it drives none). */
  lock: Pick<Lock, 'lock' | 'state'>;
  clock: Clock;
  version: string;
}): CommandActions {
  const { audit, lock } = deps;
  return {
    lock: () => lock.lock(),
    checkpoint() {
      audit.checkpointNow();
      deps.outbox.wake();
    },
    async publishState() {
      const head = audit.head().seq;
      const acked = audit.state().ackedThrough;
      const bolt = lock.state();
      const state: PayloadOf<'state'> = {
        hubId: audit.hubId,
        atMs: Math.floor(deps.clock.now()),
        version: deps.version.slice(0, 64),
        audit: { headSeq: head, ackedThrough: acked, backlog: head - acked },
        lock: { bolt: bolt.bolt, door: bolt.door },
      };
      await deps.link.publish('state', state);
    },
  };
}
