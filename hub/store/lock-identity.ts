/**
 * The id of the paired lock, as grants name it (`lockId`), remembered in the store's meta table so
 * `keyhub status` can show it without the daemon, and so a lock that changes (re-paired, another
 * node) is on record: each new id is a `pairing` audit entry, in the same transaction.
 */
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Store } from './store.js';

const META_KEY = 'lock_id';

export interface LockIdentity {
  get(): string | undefined;
  /** Records `id` if it is new; returns whether it was. */
  remember(id: string, audit: { append(event: AuditEvent): unknown }): boolean;
}

export function lockIdentity(store: Store): LockIdentity {
  const read = store.db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  const write = store.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const get = (): string | undefined => (read.get(META_KEY) as string | undefined) ?? undefined;
  return {
    get,
    remember(id, audit) {
      if (get() === id) return false;
      return store.write('full', () => {
        if (get() === id) return false;
        write.run(META_KEY, id);
        audit.append({ type: 'pairing', body: { device: id.slice(0, 128), kind: 'lock', outcome: 'paired' } });
        return true;
      });
    },
  };
}
