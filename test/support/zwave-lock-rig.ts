/**
 * A simulated stick with a Kwikset-class lock on it, and the hub's Z-Wave driver opened on the
 * stick's tcp:// port: everything between them is the real Serial API and the real CCs.
 */
import { KwiksetLock, type KwiksetOptions } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { zwaveLock, type ZwaveLock, type ZwaveLockOptions } from '../../hub/lock/zwave/zwave-lock.js';
import type { LockEvent } from '../../hub/lock/lock.js';
import { systemClock } from '../../hub/system/clock.js';
import { silentLog } from './silent-log.js';
import { tempDir } from './temp-dir.js';

export const TEST_KEYS = {
  s2AccessControl: '0102030405060708090a0b0c0d0e0f10',
  s2Authenticated: '1112131415161718191a1b1c1d1e1f20',
  s2Unauthenticated: '2122232425262728292a2b2c2d2e2f30',
  s0Legacy: '3132333435363738393a3b3c3d3e3f40',
} as const;

export function keyBytes(hex: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export interface Rig {
  stick: MockStick;
  sim: KwiksetLock | undefined;
  lock: ZwaveLock;
  events: LockEvent[];
  cacheDir: string;
  close(): Promise<void>;
}

export async function startRig(
  options: { sim?: (Omit<KwiksetOptions, 'clock'> & { clock?: KwiksetOptions['clock'] }) | false; driver?: Partial<ZwaveLockOptions>; start?: boolean } = {},
): Promise<Rig> {
  const stick = await MockStick.start({
    securityKeys: {
      S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl),
      S2_Authenticated: keyBytes(TEST_KEYS.s2Authenticated),
      S2_Unauthenticated: keyBytes(TEST_KEYS.s2Unauthenticated),
      S0_Legacy: keyBytes(TEST_KEYS.s0Legacy),
    },
  });
  // Radio airtime 0 keeps the suite quick (an interview is ~40 frames); tests that care set it.
  const sim = options.sim === false ? undefined : await KwiksetLock.attach(stick, { txDelayMs: 0, clock: systemClock(), ...options.sim });
  const dir = tempDir('keyhub-zwave-');
  const lock = zwaveLock({
    port: stick.path,
    keys: TEST_KEYS,
    cacheDir: dir.path,
    commandTimeoutMs: 5000,
    stateMaxAgeMs: 60_000,
    clock: systemClock(),
    log: silentLog(),
    // ZWAVE_JS_LOG=1 shows zwave-js's own log when a test needs debugging.
    zwaveLog: process.env.ZWAVE_JS_LOG === '1',
    ...options.driver,
  });
  const events: LockEvent[] = [];
  lock.onEvent((e) => events.push(e));
  if (options.start !== false) await lock.start(new AbortController().signal);
  return {
    stick,
    sim,
    lock,
    events,
    cacheDir: dir.path,
    async close() {
      await lock.stop();
      sim?.stop();
      await stick.stop();
      dir.cleanup();
    },
  };
}

/**
 * Polls `check` on real time until it holds (for reports that arrive over the simulated radio).
 * The deadline is generous: it returns as soon as the check holds, and an S2 report took over 5 s
 * with two copies of the suite running on a loaded machine.
 */
export async function eventually(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
