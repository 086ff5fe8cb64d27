/**
 * Finding the lock on the air: a scan filtered by the lock's service UUID (so the controller
 * reports only keyhub locks), stopped as soon as the wanted peripheral shows up.
 */
import { LOCK_SERVICE_UUID } from '../../../protocols/ble/gatt.js';
import type { Noble, Peripheral } from './central.js';

export function findPeripheral(noble: Noble, match: (p: Peripheral) => boolean, signal: AbortSignal): Promise<Peripheral> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const finish = (outcome: () => void): void => {
      noble.removeListener('discover', onDiscover);
      signal.removeEventListener('abort', onAbort);
      noble.stopScanning();
      outcome();
    };
    const onDiscover = (p: Peripheral): void => {
      if (match(p)) finish(() => resolve(p));
    };
    const onAbort = (): void => finish(() => reject(signal.reason));
    noble.on('discover', onDiscover);
    signal.addEventListener('abort', onAbort, { once: true });
    noble.startScanning([LOCK_SERVICE_UUID], false, (error) => {
      if (error) finish(() => reject(error));
    });
  });
}
