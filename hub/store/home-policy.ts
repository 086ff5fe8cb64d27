/**
 * The homeowner's switches at the door (migration 0007): deliveries paused, pets inside. Kept in
 * the store, so a change made while the daemon runs (by the CLI today, the LAN page later) holds at
 * the very next request, and survives a restart. A change and its `config.change` audit entry
 * commit together (synchronous=FULL): no switch moves off the record.
 */
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Store } from './store.js';

export interface HomePolicy {
  deliveriesPaused: boolean;
  petsInside: boolean;
}

export type HomeSwitch = keyof HomePolicy;

const KEYS: Record<HomeSwitch, string> = { deliveriesPaused: 'deliveries_paused', petsInside: 'pets_inside' };

export interface HomePolicyStore {
  get(): HomePolicy;
  /**
   * Sets one switch; a value it already has changes nothing and writes nothing. Returns whether it
   * changed. `by` names who asked (`cli`, `lan:<device>`), as the audit entry does.
   */
  set(which: HomeSwitch, value: boolean, by: string, nowMs: number, audit: { append(event: AuditEvent): unknown }): boolean;
}

export function homePolicy(store: Store): HomePolicyStore {
  const db = store.db;
  const read = db.prepare('SELECT key, value FROM home_policy');
  const write = db.prepare(
    `INSERT INTO home_policy (key, value, changed_at_ms, changed_by) VALUES (?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, changed_at_ms = excluded.changed_at_ms, changed_by = excluded.changed_by
     WHERE value <> excluded.value`,
  );
  const get = (): HomePolicy => {
    const rows = read.all() as Array<{ key: string; value: number }>;
    const on = (key: string): boolean => rows.some((r) => r.key === key && r.value === 1);
    return { deliveriesPaused: on(KEYS.deliveriesPaused), petsInside: on(KEYS.petsInside) };
  };
  return {
    get,
    set(which, value, by, nowMs, audit) {
      return store.write('full', () => {
        if (get()[which] === value) return false;
        write.run(KEYS[which], value ? 1 : 0, Math.floor(nowMs), by.slice(0, 64));
        audit.append({ type: 'config.change', body: { paths: [`home.${which}`], by: by.slice(0, 64) } });
        return true;
      });
    },
  };
}
