/**
 * Which lock driver the daemon runs, from the `lock` config section: the room's module (started
 * and stopped by main.ts) and the Lock it hands to whoever needs one. `none` is NoLock, which
 * refuses every command. Only the chosen driver's code is imported (the BLE driver's crypto and
 * noble are never loaded on a Z-Wave hub, nor either driver on a hub with no lock); zwave-js itself
 * is loaded when the Z-Wave driver starts (see zwave/zwave-runtime.ts).
 */
import { join } from 'node:path';
import type { HubConfig } from '../config/schema.js';
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { Lock, LockDriver } from './lock.js';
import { NoLock } from './no-lock.js';

/** zwave-js's network cache (node interviews, S2 state) under the hub's state directory. */
export const ZWAVE_CACHE_DIR = 'zwave';

export async function lockRoom(config: HubConfig['lock'], deps: { stateDir: string; clock: Clock; log: Logger }): Promise<{ module: Module; service: Lock }> {
  const driver = await lockDriverFor(config, deps);
  return { module: driver, service: driver };
}

async function lockDriverFor(config: HubConfig['lock'], deps: { stateDir: string; clock: Clock; log: Logger }): Promise<LockDriver> {
  switch (config.driver) {
    case 'none':
      return new NoLock();
    case 'ble': {
      const { bleLockDriver } = await import('./ble/module.js');
      return bleLockDriver({ stateDir: deps.stateDir, clock: deps.clock, log: deps.log });
    }
    case 'zwave': {
      const { zwaveLock } = await import('./zwave/zwave-lock.js');
      return zwaveLock({
        port: config.zwave.port,
        nodeId: config.zwave.nodeId,
        keys: config.zwave.keys,
        cacheDir: join(deps.stateDir, ZWAVE_CACHE_DIR),
        commandTimeoutMs: config.commandTimeoutMs,
        stateMaxAgeMs: config.stateMaxAgeS * 1000,
        clock: deps.clock,
        log: deps.log,
      });
    }
  }
}
