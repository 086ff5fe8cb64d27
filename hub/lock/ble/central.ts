/**
 * The BLE central: @stoprocent/noble (pinned 2.8.0), the maintained fork of noble. Chosen over
 * @abandonware/noble because its root import is safe on a machine without AF_BLUETOOTH (the
 * abandonware root throws EAFNOSUPPORT at import), it ships types, and it is released regularly.
 *
 * Two ways in:
 * - production: noble's Linux HCI bindings, but only after sysfs shows an adapter
 *   (/sys/class/bluetooth/hci*). Without one the hub must still start (the Z-Wave side keeps
 *   working), so we answer "unavailable" instead of letting the HCI bindings poll for a device.
 * - tests and the simulated home: noble's own Noble class over a bindings object
 *   (sim/lock/ble/radio.ts). stoprocent's withBindings() accepts only a type name, so the class is
 *   taken from its internal module `lib/noble` (no exports map; every test in
 *   test/integration/ble-lock.test.ts goes through it, so a version that moves it fails there).
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AdapterState, Noble } from '@stoprocent/noble';

export type { Noble, Peripheral, Characteristic, AdapterState } from '@stoprocent/noble';

const require = createRequire(import.meta.url);

/** What noble needs from a bindings object: an EventEmitter with the HCI bindings' methods. */
export type NobleBindings = NodeJS.EventEmitter & { start(): void };

export type Central = { available: true; noble: Noble } | { available: false; reason: string };

export interface CentralOptions {
  /** Simulated (or other custom) bindings; when absent, the system's HCI adapter. */
  bindings?: NobleBindings;
  /** Where adapters appear; injectable for tests. */
  sysfsBluetoothDir?: string;
}

export function openCentral(options: CentralOptions = {}): Central {
  if (options.bindings !== undefined) {
    const NobleClass = require('@stoprocent/noble/lib/noble') as new (bindings: NobleBindings) => Noble;
    return { available: true, noble: new NobleClass(options.bindings) };
  }
  const dir = options.sysfsBluetoothDir ?? '/sys/class/bluetooth';
  let adapters: string[];
  try {
    adapters = readdirSync(dir).filter((name) => /^hci\d+$/.test(name));
  } catch {
    adapters = [];
  }
  if (adapters.length === 0) return { available: false, reason: `no Bluetooth adapter (nothing under ${dir})` };
  const noble = (require('@stoprocent/noble') as { withBindings(type: 'hci'): Noble }).withBindings('hci');
  return { available: true, noble };
}

/**
 * Waits until the adapter is powered on, or reports the state it settled in. noble starts its
 * bindings when the first stateChange listener is attached.
 */
export function adapterState(noble: Noble, settle: (fn: () => void) => { cancel(): void }): Promise<AdapterState> {
  // Reading `state` starts the bindings synchronously (noble otherwise defers it to the first
  // stateChange listener), so what they install can be undone right here.
  const initial = noble.state;
  // The HCI bindings install a SIGINT handler that exits the process when it is the last one:
  // that would cut the daemon's orderly shutdown short. The daemon handles signals itself.
  const bindings = (noble as unknown as { _bindings?: { _sigIntHandler?: () => void } })._bindings;
  if (bindings?._sigIntHandler !== undefined) process.removeListener('SIGINT', bindings._sigIntHandler);
  if (initial === 'poweredOn') return Promise.resolve(initial);
  return new Promise((resolve) => {
    let last: AdapterState = initial;
    const onState = (state: AdapterState): void => {
      last = state;
      if (state === 'poweredOn') finish();
    };
    const finish = (): void => {
      timer.cancel();
      noble.removeListener('stateChange', onState);
      resolve(last);
    };
    const timer = settle(finish);
    noble.on('stateChange', onState);
  });
}
