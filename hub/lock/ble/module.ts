/**
 * How main.ts builds the BLE lock driver for a real hub: noble on the system's HCI adapter (or
 * "unavailable" when there is none), the pairing record under the state directory.
 */
import { join } from 'node:path';
import type { Clock } from '../../system/clock.js';
import type { Logger } from '../../system/logger.js';
import { BleLockDriver, type BleLockOptions } from './ble-lock.js';
import { openCentral, type Central } from './central.js';
import { filePairingStore } from './pairing-file.js';

export type BleLockSettings = Omit<BleLockOptions, 'central' | 'pairing' | 'clock' | 'log' | 'random'>;

export const BLE_PAIRING_FILE = 'ble-lock.json';

export function bleLockDriver(deps: { stateDir: string; clock: Clock; log: Logger; settings?: BleLockSettings; central?: Central }): BleLockDriver {
  return new BleLockDriver({
    central: deps.central ?? openCentral(),
    pairing: filePairingStore(join(deps.stateDir, BLE_PAIRING_FILE)),
    clock: deps.clock,
    log: deps.log,
    ...deps.settings,
  });
}
