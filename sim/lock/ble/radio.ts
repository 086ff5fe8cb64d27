/**
 * A simulated Bluetooth LE radio: a noble bindings object (the interface noble's Linux HCI and
 * macOS bindings implement; ../shared/notes/noble-sim-bindings.md) that plays the air and the
 * controller. noble's own central code (Noble, Peripheral, Characteristic) runs unchanged above
 * it, so the hub's driver is tested through the library it uses in production.
 *
 * It plays: adapter state, advertising and scanning (service-UUID filter), connection setup,
 * GATT discovery, ATT writes (with the MTU limit: Core Spec Vol 3 Part F 3.4.5.1), notifications
 * (after the CCCD was enabled), RSSI, link loss (supervision timeout, reason 0x08) and fault
 * injection for tests (range, drops, raw writes from an attacker on the air).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../../hub/system/clock.js';
import { after } from './schedule.js';

export type AdapterState = 'poweredOn' | 'poweredOff' | 'unauthorized' | 'unsupported' | 'unknown';

export interface GattCharacteristic {
  uuid: string;
  properties: readonly ('read' | 'write' | 'writeWithoutResponse' | 'notify' | 'indicate')[];
}

/** The link a connected peripheral talks back through. */
export interface PeripheralLink {
  readonly mtu: number;
  /** Sends a notification; false when the central has not subscribed or the link is down. */
  notify(characteristicUuid: string, data: Uint8Array): boolean;
}

/** A GATT server on the simulated air (the BLE lock, sim-ble-lock.ts). */
export interface SimPeripheral {
  readonly localName: string;
  readonly serviceUuid: string;
  readonly characteristics: readonly GattCharacteristic[];
  onConnect(link: PeripheralLink): void;
  onDisconnect(): void;
  onWrite(characteristicUuid: string, data: Uint8Array): void;
}

export interface SimRadioOptions {
  clock: Clock;
  /** One-way air + controller latency per event. 0 = next event-loop turn. */
  latencyMs?: number;
  /** ATT_MTU negotiated on connect (23 is the Core Spec default; phones reach 185–517). */
  mtu?: number;
  adapterState?: AdapterState;
  /** Below this RSSI the peripheral cannot be heard: no advertising seen, connects fail. */
  sensitivityDbm?: number;
}

interface Station {
  id: string;
  address: string;
  peripheral: SimPeripheral;
  rssi: number;
  connected: boolean;
  subscribed: Set<string>;
  linkGeneration: number;
}

/** HCI disconnect reasons (Core Spec Vol 1 Part F): what noble's HCI bindings report. */
export const HCI_CONNECTION_TIMEOUT = 0x08;
export const HCI_LOCAL_HOST_TERMINATED = 0x16;

export class SimBleRadio extends EventEmitter {
  readonly #clock: Clock;
  readonly #latencyMs: number;
  readonly #mtu: number;
  readonly #sensitivity: number;
  #state: AdapterState;
  readonly #stations = new Map<string, Station>();
  #scanning: { uuids: readonly string[] } | undefined;
  /** Every ATT write the central made, in order: what an attacker with a sniffer records. */
  readonly airLog: { id: string; characteristicUuid: string; data: Uint8Array }[] = [];
  /** How many scans and connection attempts the central made (reconnect tests read these). */
  readonly counts = { scans: 0, connects: 0 };

  constructor(options: SimRadioOptions) {
    super();
    this.#clock = options.clock;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#mtu = options.mtu ?? 23;
    this.#state = options.adapterState ?? 'poweredOn';
    this.#sensitivity = options.sensitivityDbm ?? -100;
  }

  // ---- the simulation's controls -------------------------------------------------------------

  /** Puts a peripheral on the air. `id` must be hex (noble's rule for ids). */
  addPeripheral(peripheral: SimPeripheral, place: { id: string; address: string; rssi?: number }): void {
    if (!/^[0-9a-f]+$/.test(place.id)) throw new RangeError(`peripheral id must be lowercase hex: ${place.id}`);
    this.#stations.set(place.id, { id: place.id, address: place.address, peripheral, rssi: place.rssi ?? -60, connected: false, subscribed: new Set(), linkGeneration: 0 });
    this.#advertise();
  }

  /** Moves a peripheral nearer or farther; below the radio's sensitivity a live link drops. */
  setRssi(id: string, rssi: number): void {
    const s = this.#station(id);
    s.rssi = rssi;
    if (s.connected && rssi < this.#sensitivity) this.dropLink(id, HCI_CONNECTION_TIMEOUT);
    else this.#advertise();
  }

  /** The link is lost (supervision timeout by default), as when the lock's battery is pulled. */
  dropLink(id: string, reason = HCI_CONNECTION_TIMEOUT): void {
    const s = this.#station(id);
    if (!s.connected) return;
    this.#endLink(s);
    this.#later(() => this.emit('disconnect', id, reason));
  }

  /** An attacker on the air writes raw bytes to the peripheral, bypassing the central. */
  injectWrite(id: string, characteristicUuid: string, data: Uint8Array): void {
    const s = this.#station(id);
    this.#later(() => s.peripheral.onWrite(characteristicUuid, data));
  }

  setAdapterState(state: AdapterState): void {
    this.#state = state;
    if (state !== 'poweredOn') for (const s of this.#stations.values()) if (s.connected) this.#endLink(s);
    this.#later(() => this.emit('stateChange', state));
  }

  isConnected(id: string): boolean {
    return this.#station(id).connected;
  }

  // ---- the noble bindings interface ----------------------------------------------------------

  /** @stoprocent/noble starts bindings with start(), @abandonware/noble with init(). */
  start(): void {
    this.#later(() => this.emit('stateChange', this.#state));
  }

  init(): void {
    this.start();
  }

  stop(): void {
    this.#scanning = undefined;
  }

  reset(): void {}

  setScanParameters(): void {
    this.#later(() => this.emit('scanParametersSet'));
  }

  setAddress(): void {}

  addressToId(address: string): string | null {
    for (const s of this.#stations.values()) if (s.address === address) return s.id;
    return null;
  }

  startScanning(serviceUuids: readonly string[] | undefined, _allowDuplicates?: boolean): void {
    this.#scanning = { uuids: (serviceUuids ?? []).map((u) => u.toLowerCase()) };
    this.counts.scans += 1;
    this.#later(() => {
      this.emit('scanStart', false);
      this.#advertise();
    });
  }

  stopScanning(): void {
    this.#scanning = undefined;
    this.#later(() => this.emit('scanStop'));
  }

  connect(id: string): void {
    const s = this.#stations.get(id);
    this.counts.connects += 1;
    this.#later(() => {
      if (this.#state !== 'poweredOn') return this.emit('connect', id, new Error(`adapter is ${this.#state}`));
      // The HCI controller gives up after its connection timeout: "Connection Failed to be Established" (0x3E).
      if (s === undefined || s.rssi < this.#sensitivity) return this.emit('connect', id, new Error('connection failed to be established (0x3e): peripheral out of range'));
      if (s.connected) return this.emit('connect', id, new Error('peripheral already connected'));
      s.connected = true;
      s.linkGeneration += 1;
      this.emit('connect', id, null);
      this.emit('onMtu', id, this.#mtu);
      s.peripheral.onConnect(this.#linkFor(s, s.linkGeneration));
    });
  }

  cancelConnect(id: string): void {
    this.disconnect(id);
  }

  disconnect(id: string): void {
    const s = this.#stations.get(id);
    if (s === undefined || !s.connected) {
      this.#later(() => this.emit('disconnect', id, HCI_LOCAL_HOST_TERMINATED));
      return;
    }
    this.#endLink(s);
    this.#later(() => this.emit('disconnect', id, HCI_LOCAL_HOST_TERMINATED));
  }

  updateRssi(id: string): void {
    const s = this.#stations.get(id);
    this.#later(() => this.emit('rssiUpdate', id, s?.rssi ?? -127));
  }

  discoverServices(id: string, uuids: readonly string[] | undefined): void {
    const s = this.#stations.get(id);
    const want = (uuids ?? []).map((u) => u.toLowerCase());
    // Always answer, even with nothing: an unanswered discovery leaves noble waiting forever.
    const found = s !== undefined && (want.length === 0 || want.includes(s.peripheral.serviceUuid)) ? [s.peripheral.serviceUuid] : [];
    this.#later(() => this.emit('servicesDiscover', id, found));
  }

  discoverIncludedServices(id: string, serviceUuid: string): void {
    this.#later(() => this.emit('includedServicesDiscover', id, serviceUuid, []));
  }

  discoverCharacteristics(id: string, serviceUuid: string, uuids: readonly string[] | undefined): void {
    const s = this.#stations.get(id);
    const want = (uuids ?? []).map((u) => u.toLowerCase());
    const found = (s?.peripheral.characteristics ?? [])
      .filter((c) => want.length === 0 || want.includes(c.uuid))
      .map((c) => ({ uuid: c.uuid, properties: [...c.properties] }));
    this.#later(() => this.emit('characteristicsDiscover', id, serviceUuid, found));
  }

  discoverDescriptors(id: string, serviceUuid: string, characteristicUuid: string): void {
    this.#later(() => this.emit('descriptorsDiscover', id, serviceUuid, characteristicUuid, ['2902']));
  }

  read(id: string, serviceUuid: string, characteristicUuid: string): void {
    // The lock's characteristics are write/notify only: ATT "Read Not Permitted" (0x02).
    this.#later(() => this.emit('read', id, serviceUuid, characteristicUuid, Buffer.alloc(0), false, new Error('ATT error 0x02: read not permitted')));
  }

  write(id: string, serviceUuid: string, characteristicUuid: string, data: Buffer, _withoutResponse: boolean): void {
    const s = this.#stations.get(id);
    const generation = s?.linkGeneration;
    const copy = Uint8Array.from(data);
    this.#later(() => {
      if (s === undefined || !s.connected || s.linkGeneration !== generation) {
        return this.emit('write', id, serviceUuid, characteristicUuid, new Error('not connected'));
      }
      // ATT_MTU − 3 bytes fit one Write Request; more is "Invalid Attribute Value Length" (0x0D).
      if (copy.length > this.#mtu - 3) return this.emit('write', id, serviceUuid, characteristicUuid, new Error('ATT error 0x0d: invalid attribute value length'));
      this.airLog.push({ id, characteristicUuid, data: copy });
      s.peripheral.onWrite(characteristicUuid, copy);
      this.emit('write', id, serviceUuid, characteristicUuid);
    });
  }

  notify(id: string, serviceUuid: string, characteristicUuid: string, on: boolean): void {
    const s = this.#stations.get(id);
    this.#later(() => {
      if (s === undefined || !s.connected) return this.emit('notify', id, serviceUuid, characteristicUuid, false, new Error('not connected'));
      if (on) s.subscribed.add(characteristicUuid);
      else s.subscribed.delete(characteristicUuid);
      this.emit('notify', id, serviceUuid, characteristicUuid, on);
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  #linkFor(s: Station, generation: number): PeripheralLink {
    const mtu = this.#mtu;
    return {
      mtu,
      notify: (characteristicUuid, data) => {
        if (!s.connected || s.linkGeneration !== generation || !s.subscribed.has(characteristicUuid) || data.length > mtu - 3) return false;
        const buf = Buffer.from(data);
        this.#later(() => {
          if (s.connected && s.linkGeneration === generation) this.emit('read', s.id, s.peripheral.serviceUuid, characteristicUuid, buf, true);
        });
        return true;
      },
    };
  }

  #endLink(s: Station): void {
    s.connected = false;
    s.subscribed.clear();
    s.peripheral.onDisconnect();
  }

  #advertise(): void {
    const scan = this.#scanning;
    if (scan === undefined || this.#state !== 'poweredOn') return;
    for (const s of this.#stations.values()) {
      if (s.connected || s.rssi < this.#sensitivity) continue;
      if (scan.uuids.length > 0 && !scan.uuids.includes(s.peripheral.serviceUuid)) continue;
      const advertisement = { localName: s.peripheral.localName, serviceUuids: [s.peripheral.serviceUuid], serviceData: [], manufacturerData: undefined, txPowerLevel: undefined };
      this.#later(() => this.emit('discover', s.id, s.address, 'random', true, advertisement, s.rssi, true));
    }
  }

  #station(id: string): Station {
    const s = this.#stations.get(id);
    if (s === undefined) throw new RangeError(`no simulated peripheral ${id}`);
    return s;
  }

  #later(fn: () => void): void {
    after(this.#clock, this.#latencyMs, fn);
  }
}
