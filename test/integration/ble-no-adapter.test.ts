/**
 * A hub on a machine without a Bluetooth adapter: the BLE driver starts, says BLE is unavailable,
 * and the Z-Wave lock next to it keeps working (one missing radio never takes the hub down).
 */
import { existsSync, readdirSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openCentral } from '../../hub/lock/ble/central.js';
import { bleLockDriver } from '../../hub/lock/ble/module.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { systemClock } from '../../hub/system/clock.js';
import { startAll, stopAll, type Module } from '../../hub/system/lifecycle.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { startRig, type Rig } from '../support/zwave-lock-rig.js';

/** This machine's adapters, as the production code looks for them. */
const adapters = existsSync('/sys/class/bluetooth') ? readdirSync('/sys/class/bluetooth').filter((n) => n.startsWith('hci')) : [];

describe('a hub without a Bluetooth adapter', () => {
  let rig: Rig | undefined;
  let started: Module[] = [];
  const dir = tempDir('keyhub-ble-none-');
  afterEach(async () => {
    await stopAll(started, silentLog());
    started = [];
    await rig?.close();
    rig = undefined;
  });

  it('sees no adapter through the production path on this machine', () => {
    const central = openCentral(adapters.length === 0 ? {} : { sysfsBluetoothDir: dir.path });
    expect(central).toMatchObject({ available: false, reason: expect.stringMatching(/no Bluetooth adapter/) });
  });

  it('starts the BLE driver next to the Z-Wave lock, logs BLE unavailable, and Z-Wave keeps working', async () => {
    const lines: { level: number; msg: string; module?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
    const ble = bleLockDriver({
      stateDir: dir.path,
      clock: systemClock(),
      log: log.child({ module: 'lock-ble' }),
      // On a machine that has an adapter, pretend it has none: the behaviour under test.
      ...(adapters.length === 0 ? {} : { central: openCentral({ sysfsBluetoothDir: dir.path }) }),
    });
    rig = await startRig({ start: false });
    started = await startAll([ble, rig.lock], new AbortController().signal, silentLog());
    expect(started.map((m) => m.name)).toHaveLength(2);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, module: 'lock-ble', msg: expect.stringMatching(/BLE unavailable/) }));

    await rig.lock.unlock();
    expect(rig.lock.state().bolt).toBe('unlocked');
    await rig.lock.lock();
    expect(rig.lock.state().bolt).toBe('locked');

    const err = await ble.unlock().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe(ErrorCode.BLE_UNAVAILABLE);
  });
});
