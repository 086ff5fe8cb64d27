/**
 * How zwave-js is loaded, and the few spec constants the driver compares against.
 *
 * zwave-js is loaded lazily (only when the Z-Wave driver starts, never for `driver: 'none'|'ble'`)
 * and as CommonJS through createRequire: on this hardware the ESM build costs ~80 MiB more RSS than
 * the CJS one (../shared/notes/zwave-js-mock.md), and a hub has little memory to spare.
 */
import { createRequire } from 'node:module';
import type * as ZwaveCore from '@zwave-js/core';
import type * as ZwaveJs from 'zwave-js';
import { ErrorCode, HubError } from '../../system/errors.js';
import type { Logger } from '../../system/logger.js';

export interface ZwaveModules {
  zw: typeof ZwaveJs;
  core: typeof ZwaveCore;
}

export function loadZwave(): ZwaveModules {
  const load = createRequire(import.meta.url);
  return { zw: load('zwave-js') as typeof ZwaveJs, core: load('@zwave-js/core') as typeof ZwaveCore };
}

/** Command class ids (Z-Wave CC spec, SDS13781). */
export const CC = {
  DoorLock: 0x62,
  UserCode: 0x63,
  Notification: 0x71,
  Battery: 0x80,
} as const;

/** Door Lock CC "Door Lock Mode" values. */
export const DOOR_LOCK_MODE = {
  Unsecured: 0x00,
  Unknown: 0xfe,
  Secured: 0xff,
} as const;

/** Supervision CC report status values. */
export const SUPERVISION_STATUS = {
  NoSupport: 0x00,
  Working: 0x01,
  Fail: 0x02,
  Success: 0xff,
} as const;

/** User Code CC "User ID Status" values. */
export const USER_ID_STATUS = {
  Available: 0x00,
  Enabled: 0x01,
  Disabled: 0x02,
} as const;

/**
 * A failed send means the lock was not reached (no ACK, no route, stick gone, node asleep/dead):
 * whatever zwave-js's reason, for the hub it is LOCK_UNREACHABLE, with the reason kept as cause.
 * A HubError (e.g. an abort from the command queue) passes through unchanged.
 */
export function radioError(err: unknown, what: string): HubError {
  if (err instanceof HubError) return err;
  const message = (err as Error)?.message ?? String(err);
  return new HubError(ErrorCode.LOCK_UNREACHABLE, `${what}: the lock did not answer (${message})`, { cause: err });
}

/** Runs one exchange with the lock; a failure becomes LOCK_UNREACHABLE (see radioError). */
export async function radio<T>(send: () => Promise<T>, what: string): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw radioError(err, what);
  }
}

/**
 * zwave-js 15 handles frames from the network in fire-and-forget promises; a frame it cannot
 * answer (found by fuzzing: an S0 Commands Supported Get from a node without S0) rejects with no
 * one listening, and Node ends the process on an unhandled rejection. A device on the network must
 * not be able to kill the hub, so while the driver runs, a ZWaveError surfacing this way is logged
 * and dropped. Anything else is rethrown, which is what Node does by default. Never a command's
 * failure: commands are awaited and their errors reach the caller.
 */
export function zwaveRejectionGuard(zw: ZwaveModules | undefined, log: Logger, closing: boolean): (reason: unknown) => void {
  return (reason) => {
    if (zw?.core.isZWaveError(reason) === true) {
      log.error({ err: String(reason) }, 'zwave-js failed on a frame from the network; frame dropped');
      return;
    }
    // Driver.destroy() aborts its serial stream; a read still pending then rejects with an
    // AbortError nobody awaits. Only while a driver is being closed is that expected.
    if (closing && (reason as { name?: unknown })?.name === 'AbortError') return;
    throw reason;
  };
}
