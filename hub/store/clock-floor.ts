/**
 * The clock floor (DESIGN.md, "Trust and tokens": Clock): the latest wall time the hub has reason
 * to trust — an allowed grant's issue time, a signed time, or its own clock at a clean shutdown.
 * `raise` only goes up. A hub whose wall clock is behind it (an RTC that lost power, a bad NTP step)
 * must not decide, or an expired grant would open the door again.
 *
 * How far a raise may go is the access module's rule (hub/access/hub-clock.ts; README, "Security
 * model: the clock floor"): this file only stores. `reanchor` is the one way down, for a root-signed
 * time, and runs inside the caller's transaction so that it commits with what records it.
 */
import type { Store } from './store.js';

export type FloorSource = 'signed-time' | 'root-time' | 'grant' | 'shutdown' | 'none';

export interface ClockFloor {
  floorMs(): number;
  source(): FloorSource;
  /** Raises the floor to `ms` if higher, durably; returns the floor after. */
  raise(ms: number, source: Exclude<FloorSource, 'none' | 'root-time'>): number;
  /** Sets the floor to `ms`, up or down, durably (a root-signed time); returns the floor before. */
  reanchor(ms: number): number;
}

export function clockFloor(store: Store): ClockFloor {
  const read = store.db.prepare("SELECT int_val AS ms, text_val AS source FROM access_state WHERE key = 'clock_floor_ms'");
  const raise = store.db.prepare(
    `INSERT INTO access_state (key, int_val, text_val) VALUES ('clock_floor_ms', ?, ?)
     ON CONFLICT (key) DO UPDATE SET int_val = excluded.int_val, text_val = excluded.text_val WHERE excluded.int_val > int_val`,
  );
  const set = store.db.prepare(
    `INSERT INTO access_state (key, int_val, text_val) VALUES ('clock_floor_ms', ?, 'root-time')
     ON CONFLICT (key) DO UPDATE SET int_val = excluded.int_val, text_val = excluded.text_val`,
  );
  const row = (): { ms: number; source: FloorSource } | undefined => read.get() as { ms: number; source: FloorSource } | undefined;
  const floorMs = (): number => row()?.ms ?? 0;
  return {
    floorMs,
    source: () => row()?.source ?? 'none',
    raise(ms, source) {
      store.write('full', () => raise.run(ms, source));
      return floorMs();
    },
    reanchor(ms) {
      return store.write('full', () => {
        const before = floorMs();
        set.run(ms);
        return before;
      });
    },
  };
}
