/**
 * The clock floor (DESIGN.md, "Trust and tokens": Clock): the latest wall time the hub has reason
 * to trust — a SignedTime, a verified grant's issue time, or its own clock at a clean shutdown. It
 * only goes up. A hub whose wall clock is behind it (an RTC that lost power, a bad NTP step) must
 * not decide, or an expired grant would open the door again.
 */
import type { Store } from './store.js';

export type FloorSource = 'signed-time' | 'grant' | 'shutdown' | 'none';

export interface ClockFloor {
  floorMs(): number;
  source(): FloorSource;
  /** Raises the floor to `ms` if higher, durably; returns the floor after. */
  raise(ms: number, source: Exclude<FloorSource, 'none'>): number;
}

export function clockFloor(store: Store): ClockFloor {
  const read = store.db.prepare("SELECT int_val AS ms, text_val AS source FROM access_state WHERE key = 'clock_floor_ms'");
  const raise = store.db.prepare(
    `INSERT INTO access_state (key, int_val, text_val) VALUES ('clock_floor_ms', ?, ?)
     ON CONFLICT (key) DO UPDATE SET int_val = excluded.int_val, text_val = excluded.text_val WHERE excluded.int_val > int_val`,
  );
  const row = (): { ms: number; source: FloorSource } | undefined => read.get() as { ms: number; source: FloorSource } | undefined;
  return {
    floorMs: () => row()?.ms ?? 0,
    source: () => row()?.source ?? 'none',
    raise(ms, source) {
      store.write('full', () => raise.run(ms, source));
      return row()?.ms ?? 0;
    },
  };
}
