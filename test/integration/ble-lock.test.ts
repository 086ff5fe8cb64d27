/**
 * The BLE lock driver end to end: hub driver → noble's real central code → simulated radio
 * (noble bindings) → simulated lock running the lock side of the protocol. No adapter needed.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BleLockDriver } from '../../hub/lock/ble/ble-lock.js';
import { openCentral } from '../../hub/lock/ble/central.js';
import { filePairingStore } from '../../hub/lock/ble/pairing-file.js';
import type { LockEvent } from '../../hub/lock/lock.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { LOCK_COMMAND_CHAR_UUID } from '../../protocols/ble/gatt.js';
import { SimBleRadio } from '../../sim/lock/ble/radio.js';
import { SimBleLock } from '../../sim/lock/ble/sim-ble-lock.js';
import { bleHome, LOCK_ADDRESS, LOCK_ID, type BleHome } from '../support/ble-home.js';
import { silentLog } from '../support/silent-log.js';

/** Lets setImmediate-paced radio traffic run (the simulated air delivers on the next turn). */
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

function capturedLog(): { log: ReturnType<typeof silentLog>; lines: { level: number; msg: string; reason?: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { log, lines };
}

async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HubError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('BLE lock driver through noble and the simulated radio', () => {
  let home: BleHome | undefined;
  let clock: FakeClock;
  afterEach(() => {
    home?.stop();
    home = undefined;
  });

  async function paired(options: Parameters<typeof bleHome>[0] extends infer O ? Partial<O> : never = {}): Promise<BleHome> {
    clock = new FakeClock();
    home = bleHome({ clock, log: silentLog(), ...options });
    await home.startPaired();
    await settle();
    return home;
  }

  it('pairs: both sides hold the authorization and the record keeps a counter floor', async () => {
    const h = await paired();
    expect(h.lock.protocol.authorizations).toEqual([{ authId: 1, name: 'test hub' }]);
    const record = h.pairing.load()!;
    expect(record).toMatchObject({ peripheralId: LOCK_ID, authId: 1 });
    expect(record.counterFloor).toBeGreaterThan(0n);
  });

  it('refuses to pair with a lock that is not in pairing mode', async () => {
    clock = new FakeClock();
    home = bleHome({ clock, log: silentLog() });
    await home.driver.start(new AbortController().signal);
    const err = await rejection(home.driver.pair({ name: 'hub' }));
    expect(err.code).toBe(ErrorCode.BLE_PAIRING_FAILED);
    expect(err.message).toMatch(/pairing mode/);
  });

  it('unlocks and locks, each resolving only on the confirmed bolt position', async () => {
    const h = await paired({ lock: { motorMs: 800 } });
    const events: LockEvent[] = [];
    h.driver.onEvent((e) => events.push(e));
    const unlocking = h.driver.unlock();
    let done = false;
    void unlocking.then(() => (done = true));
    await settle();
    expect(h.lock.bolt).toBe('moving');
    expect(done).toBe(false);
    await clock.advance(800);
    await unlocking;
    expect(h.lock.bolt).toBe('unlocked');
    expect(h.driver.state()).toMatchObject({ bolt: 'unlocked', door: 'closed', batteryPercent: 90, connected: true });
    const locking = h.driver.lock();
    await settle();
    await clock.advance(800);
    await locking;
    expect(h.driver.state().bolt).toBe('locked');
    expect(events.map((e) => e.kind)).toEqual(['unlocked', 'locked']);
  });

  it('joins a second unlock while one is in flight instead of sending it twice', async () => {
    const h = await paired();
    await Promise.all([h.driver.unlock(), h.driver.unlock()]);
    expect(h.lock.protocol.stats.actionsStarted).toBe(1);
  });

  it('has the lock refuse a replayed command frame, and the bolt stays put', async () => {
    const h = await paired();
    await h.driver.unlock();
    await h.driver.lock();
    // Replay, on the air, every chunk the hub wrote for the unlock (recorded by a sniffer).
    const written = h.radio.airLog.filter((w) => w.characteristicUuid === LOCK_COMMAND_CHAR_UUID);
    for (const w of written) h.radio.injectWrite(LOCK_ID, w.characteristicUuid, w.data);
    await settle();
    expect(h.lock.protocol.stats.refused.NONCE_REUSED).toBeGreaterThan(0);
    expect(h.lock.bolt).toBe('locked');
    expect(h.lock.protocol.stats.actionsStarted).toBe(2);
  });

  it('has the lock refuse tampered ciphertext', async () => {
    const h = await paired();
    await h.driver.unlock();
    // Re-frame with a valid CRC so the tampering reaches the crypto, as a careful attacker would.
    const { decodeFrame, encodeFrame, FrameType } = await import('../../protocols/ble/frame.js');
    const original = decodeFrame(h.lock.framesIn.at(-1)!);
    if (!original.ok) throw new Error('recorded frame broken');
    const payload = original.frame.payload.slice();
    payload[payload.length - 1]! ^= 0x01;
    payload.set([0xff, 0xff, 0xff], 5); // and push the nonce counter up, so it is not just a replay
    const { fragment } = await import('../../protocols/ble/fragment.js');
    for (const chunk of fragment(encodeFrame(FrameType.SEALED, payload), 23)) h.radio.injectWrite(LOCK_ID, LOCK_COMMAND_CHAR_UUID, chunk);
    await settle();
    expect(h.lock.protocol.stats.refused.TAMPERED).toBe(1);
    expect(h.lock.bolt).toBe('unlocked');
    // The real hub's channel is unharmed: the forged counter was never committed.
    await h.driver.lock();
    expect(h.lock.bolt).toBe('locked');
  });

  it('never reuses a nonce counter across a restart of the hub (persisted floor)', async () => {
    clock = new FakeClock();
    const dir = mkdtempSync(join(tmpdir(), 'keyhub-ble-'));
    const path = join(dir, 'ble-lock.json');
    home = bleHome({ clock, log: silentLog() });
    await home.startPaired();
    home.driver.stop();
    filePairingStore(path).save(home.pairing.load()!);
    /** One hub process: its own radio (HCI socket) in front of the same lock, the record on disk. */
    const hubProcess = (): BleLockDriver => {
      const radio = new SimBleRadio({ clock });
      radio.addPeripheral(home!.lock, { id: LOCK_ID, address: LOCK_ADDRESS });
      return new BleLockDriver({ central: openCentral({ bindings: radio as never }), pairing: filePairingStore(path), clock, log: silentLog(), counterBlock: 4 });
    };
    await settle();
    const first = hubProcess();
    await first.start(new AbortController().signal);
    for (let i = 0; i < 3; i++) {
      await first.unlock();
      await first.lock();
    }
    first.stop();
    await settle();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const floor = BigInt((JSON.parse(readFileSync(path, 'utf8')) as { counterFloor: string }).counterFloor);
    expect(floor).toBeGreaterThan(12n);
    const second = hubProcess();
    await second.start(new AbortController().signal);
    await second.unlock();
    second.stop();
    expect(home.lock.protocol.stats.refused.NONCE_REUSED).toBeUndefined();
    expect(home.lock.bolt).toBe('unlocked');
  });

  it('reports a jam: jammed state, a jam event, and the command rejected', async () => {
    const h = await paired();
    const events: LockEvent[] = [];
    h.driver.onEvent((e) => events.push(e));
    h.lock.blocked = true;
    const err = await rejection(h.driver.unlock());
    expect(err.code).toBe(ErrorCode.LOCK_JAMMED);
    expect(h.driver.state().bolt).toBe('jammed');
    expect(events.map((e) => e.kind)).toContain('jammed');
  });

  it('passes on a battery too low to act', async () => {
    const h = await paired();
    h.lock.setBattery(3);
    await settle();
    expect(h.driver.state().batteryPercent).toBe(3);
    const err = await rejection(h.driver.unlock());
    expect(err.code).toBe(ErrorCode.LOCK_BATTERY_TOO_LOW);
    expect(h.lock.bolt).toBe('locked');
  });

  it('refuses to command a lock whose signal is below the RSSI floor: clear error, state unknown', async () => {
    const h = await paired({ driver: { rssiFloorDbm: -80 } });
    await h.driver.lock();
    h.radio.setRssi(LOCK_ID, -92);
    const err = await rejection(h.driver.unlock());
    expect(err.code).toBe(ErrorCode.BLE_OUT_OF_RANGE);
    expect(err.message).toMatch(/-92 dBm/);
    await settle();
    expect(h.driver.state()).toMatchObject({ bolt: 'unknown', connected: false });
    expect(h.lock.bolt).toBe('locked');
  });

  it('fails a command whose link drops mid-way with a clear error and an unknown state', async () => {
    const h = await paired({ lock: { motorMs: 1_000 } });
    const events: LockEvent[] = [];
    h.driver.onEvent((e) => events.push(e));
    const unlocking = h.driver.unlock();
    await settle();
    expect(h.lock.bolt).toBe('moving');
    h.radio.dropLink(LOCK_ID);
    const err = await rejection(unlocking);
    expect(err.code).toBe(ErrorCode.BLE_LINK_LOST);
    expect(h.driver.state()).toMatchObject({ bolt: 'unknown', connected: false });
    expect(events.map((e) => e.kind)).toContain('connection-lost');
  });

  it('reconnects with backoff after the link drops, and says so', async () => {
    const h = await paired({ driver: { reconnectInitialMs: 1_000 } });
    await h.driver.lock();
    const events: LockEvent[] = [];
    h.driver.onEvent((e) => events.push(e));
    h.radio.setRssi(LOCK_ID, -120); // gone: out of range
    await settle();
    await clock.advance(1_000); // first attempt: nothing on the air
    await settle();
    h.radio.setRssi(LOCK_ID, -60);
    await clock.advance(16_000); // connect timeout of the first attempt, then the next attempt
    await settle();
    await clock.advance(2_000);
    await settle();
    expect(events.map((e) => e.kind)).toEqual(['connection-lost', 'connection-restored']);
    expect(h.driver.state()).toMatchObject({ connected: true, bolt: 'locked' });
  });

  it('backs off exponentially between reconnection attempts while the lock is away', async () => {
    const h = await paired({ driver: { reconnectInitialMs: 1_000, connectTimeoutMs: 5_000 } });
    await h.driver.lock();
    await settle();
    const before = h.radio.counts.scans;
    h.radio.setRssi(LOCK_ID, -120);
    await settle();
    // Attempts start 1 s, then 2 s, then 4 s after the previous one gave up (each scans for 5 s).
    const scansAt = async (ms: number): Promise<number> => {
      await clock.advance(ms);
      await settle();
      return h.radio.counts.scans - before;
    };
    expect(await scansAt(999)).toBe(0);
    expect(await scansAt(1)).toBe(1);
    expect(await scansAt(5_000 + 1_999)).toBe(1);
    expect(await scansAt(1)).toBe(2);
    expect(await scansAt(5_000 + 3_999)).toBe(2);
    expect(await scansAt(1)).toBe(3);
    expect(h.driver.state().connected).toBe(false);
  });

  it('refuses to send a command whose nonce floor cannot be persisted', async () => {
    const h = await paired({ driver: { counterBlock: 1 } });
    const framesBefore = h.lock.framesIn.length;
    const store = h.pairing as { save(p: unknown): void };
    store.save = () => {
      throw new Error('read-only file system');
    };
    const err = await rejection(h.driver.unlock());
    expect(err.code).toBe(ErrorCode.BLE_PAIRING_STORE_FAILED);
    expect(h.lock.framesIn.length).toBe(framesBefore);
    expect(h.lock.bolt).toBe('locked');
  });

  it('times out a command the lock never answers (fake clock), leaving the bolt unknown', async () => {
    const h = await paired({ driver: { commandTimeoutMs: 4_000 } });
    await h.driver.lock();
    await settle();
    h.lock.silent = true;
    const unlocking = rejection(h.driver.unlock());
    await settle();
    await clock.advance(3_999);
    await settle();
    await clock.advance(1);
    const err = await unlocking;
    expect(err.code).toBe(ErrorCode.LOCK_TIMEOUT);
    expect(h.driver.state().bolt).toBe('unknown');
  });

  it('forgets a bolt position nobody confirmed within the max age', async () => {
    const h = await paired({ driver: { stateMaxAgeMs: 10_000, statusPollMs: 60_000 } });
    await h.driver.lock();
    await clock.advance(10_001);
    expect(h.driver.state().bolt).toBe('unknown');
  });

  it('turns what happens at the door into events: keypad with slot, manual, door, auto-lock, tamper, battery', async () => {
    const h = await paired({ lock: { autoLockMs: 30_000 } });
    await h.driver.setCode(7, '4321');
    const events: LockEvent[] = [];
    h.driver.onEvent((e) => events.push(e));
    expect(h.lock.typeCode('4321')).toBe(7);
    h.lock.setDoor('open');
    h.lock.setDoor('closed');
    await settle();
    await clock.advance(30_000);
    h.lock.turnThumb('unlock');
    h.lock.tamper();
    h.lock.setBattery(15);
    await settle();
    expect(events.map(({ atMs: _atMs, ...e }) => e)).toEqual([
      { kind: 'unlocked', by: 'keypad', slot: 7 },
      { kind: 'door', door: 'open' },
      { kind: 'door', door: 'closed' },
      { kind: 'locked', by: 'auto' },
      { kind: 'unlocked', by: 'manual' },
      { kind: 'tamper' },
      { kind: 'battery-low', percent: 15 },
    ]);
    expect(h.driver.state()).toMatchObject({ bolt: 'unlocked', door: 'closed', batteryPercent: 15 });
  });

  it('sets a keypad code, reads it back from the lock, and clears it', async () => {
    const h = await paired();
    await h.driver.setCode(3, '135790');
    expect((await h.driver.codes()).filter((s) => s.inUse)).toEqual([{ slot: 3, inUse: true, code: '135790' }]);
    expect((await h.driver.codes()).length).toBe(30);
    await h.driver.clearCode(3);
    expect((await h.driver.codes()).some((s) => s.inUse)).toBe(false);
    expect((await rejection(h.driver.setCode(31, '1234'))).code).toBe(ErrorCode.LOCK_CODE_INVALID);
    expect((await rejection(h.driver.setCode(1, '12'))).code).toBe(ErrorCode.LOCK_CODE_INVALID);
  });

  it('fragments to a larger negotiated MTU too', async () => {
    const h = await paired({ radio: { mtu: 185 } });
    await h.driver.setCode(1, '1234567890');
    await h.driver.unlock();
    expect(h.lock.bolt).toBe('unlocked');
  });

  it('starts without an adapter, logs that BLE is unavailable, and fails commands clearly', async () => {
    clock = new FakeClock();
    const { log, lines } = capturedLog();
    const empty = mkdtempSync(join(tmpdir(), 'keyhub-nobt-'));
    const driver = new BleLockDriver({ central: openCentral({ sysfsBluetoothDir: empty }), pairing: filePairingStore(join(empty, 'p.json')), clock, log });
    await driver.start(new AbortController().signal);
    expect(lines.some((l) => l.level === 40 && /BLE unavailable/.test(l.msg))).toBe(true);
    expect((await rejection(driver.unlock())).code).toBe(ErrorCode.BLE_UNAVAILABLE);
    expect(driver.state()).toMatchObject({ bolt: 'unknown', connected: false });
    driver.stop();
  });

  it('starts with an adapter that is not powered on, and connects once it is', async () => {
    clock = new FakeClock();
    const { log, lines } = capturedLog();
    home = bleHome({ clock, log, radio: { adapterState: 'poweredOff' } });
    const starting = home.driver.start(new AbortController().signal);
    await settle();
    await clock.advance(5_000);
    await starting;
    expect(lines.some((l) => /BLE unavailable/.test(l.msg))).toBe(true);
    expect((await rejection(home.driver.lock())).code).toBe(ErrorCode.BLE_UNAVAILABLE);
    home.radio.setAdapterState('poweredOn');
    await settle();
    home.lock.pressPairingButton();
    await home.driver.pair({ name: 'hub' });
    await home.driver.unlock();
    expect(home.lock.bolt).toBe('unlocked');
  });

  it('starts with a damaged pairing record, says so, and refuses commands until paired again', async () => {
    clock = new FakeClock();
    const dir = mkdtempSync(join(tmpdir(), 'keyhub-ble-bad-'));
    writeFileSync(join(dir, 'ble-lock.json'), '{"version":1,"hubSecretKey":"zz"');
    const { log, lines } = capturedLog();
    const radio = new SimBleRadio({ clock });
    const lock = new SimBleLock({ clock });
    radio.addPeripheral(lock, { id: LOCK_ID, address: LOCK_ADDRESS });
    const driver = new BleLockDriver({ central: openCentral({ bindings: radio as never }), pairing: filePairingStore(join(dir, 'ble-lock.json')), clock, log });
    await driver.start(new AbortController().signal);
    expect(lines.some((l) => l.level === 50 && /E345 BLE_PAIRING_STORE_FAILED/.test(l.msg))).toBe(true);
    expect((await rejection(driver.unlock())).code).toBe(ErrorCode.BLE_PAIRING_STORE_FAILED);
    lock.pressPairingButton();
    await driver.pair({ name: 'hub' });
    await driver.unlock();
    expect(lock.bolt).toBe('unlocked');
    driver.stop();
  });

  it('says the lock is not paired when no record exists', async () => {
    clock = new FakeClock();
    home = bleHome({ clock, log: silentLog() });
    await home.driver.start(new AbortController().signal);
    expect((await rejection(home.driver.lock())).code).toBe(ErrorCode.LOCK_NOT_PAIRED);
  });

  it('rejects commands in flight when stopped', async () => {
    const h = await paired({ lock: { motorMs: 5_000 } });
    const unlocking = rejection(h.driver.unlock());
    await settle();
    h.driver.stop();
    expect((await unlocking).code).toBe(ErrorCode.LOCK_DRIVER_STOPPED);
  });
});
