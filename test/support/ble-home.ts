/**
 * A BLE lock on the simulated air, and the hub's BLE driver looking at it through noble's real
 * central code: the fixture of the BLE tests and the BLE bench.
 */
import type { Clock } from '../../hub/system/clock.js';
import type { Logger } from '../../hub/system/logger.js';
import { BleLockDriver, type BleLockOptions } from '../../hub/lock/ble/ble-lock.js';
import { openCentral, type NobleBindings } from '../../hub/lock/ble/central.js';
import { memoryPairingStore } from '../../hub/lock/ble/pairing-file.js';
import { SimBleRadio, type SimRadioOptions } from '../../sim/lock/ble/radio.js';
import { SimBleLock, type SimBleLockOptions } from '../../sim/lock/ble/sim-ble-lock.js';

export const LOCK_ID = 'c0ffee000001';
export const LOCK_ADDRESS = 'c0:ff:ee:00:00:01';

export interface BleHome {
  radio: SimBleRadio;
  lock: SimBleLock;
  driver: BleLockDriver;
  pairing: ReturnType<typeof memoryPairingStore>;
  /** Starts the driver, presses the lock's pairing button and pairs. */
  startPaired(): Promise<void>;
  stop(): void;
}

export function bleHome(options: {
  clock: Clock;
  log: Logger;
  radio?: Omit<SimRadioOptions, 'clock'>;
  lock?: Omit<SimBleLockOptions, 'clock'>;
  driver?: Partial<Omit<BleLockOptions, 'central' | 'pairing' | 'clock' | 'log'>>;
  rssi?: number;
}): BleHome {
  const radio = new SimBleRadio({ clock: options.clock, ...options.radio });
  const lock = new SimBleLock({ clock: options.clock, ...options.lock });
  radio.addPeripheral(lock, { id: LOCK_ID, address: LOCK_ADDRESS, rssi: options.rssi ?? -60 });
  const pairing = memoryPairingStore();
  const driver = new BleLockDriver({
    central: openCentral({ bindings: radio as unknown as NobleBindings }),
    pairing,
    clock: options.clock,
    log: options.log,
    ...options.driver,
  });
  return {
    radio,
    lock,
    driver,
    pairing,
    async startPaired() {
      await driver.start(new AbortController().signal);
      lock.pressPairingButton();
      await driver.pair({ name: 'test hub', address: LOCK_ADDRESS });
    },
    stop() {
      driver.stop();
    },
  };
}
