/**
 * One GATT link to the BLE lock, through noble: connect, discover the lock's service and its two
 * characteristics, subscribe to replies, then move whole frames both ways (fragmenting to the
 * negotiated ATT MTU, reassembling notifications). Knows nothing of crypto or commands.
 */
import { fragment, Reassembler, DEFAULT_ATT_MTU } from '../../../protocols/ble/fragment.js';
import { LOCK_COMMAND_CHAR_UUID, LOCK_REPLY_CHAR_UUID, LOCK_SERVICE_UUID } from '../../../protocols/ble/gatt.js';
import type { Logger } from '../../system/logger.js';
import type { Characteristic, Peripheral } from './central.js';

export class BleLink {
  readonly peripheral: Peripheral;
  readonly #command: Characteristic;
  readonly #reply: Characteristic;
  readonly #log: Logger;
  readonly #reassembler = new Reassembler();
  #open = true;
  #onFrame: (frame: Uint8Array) => void = () => {};
  #onClose: (reason: unknown) => void = () => {};
  readonly #onData = (data: Buffer, isNotification: boolean): void => {
    if (!isNotification || !this.#open) return;
    const result = this.#reassembler.push(data);
    if (result.kind === 'frame') this.#onFrame(result.frame);
    else if (result.kind === 'dropped') this.#log.warn({ reason: result.reason }, 'dropped a malformed reply fragment from the lock');
  };
  readonly #onDisconnect = (reason: unknown): void => this.#closed(reason);

  private constructor(peripheral: Peripheral, command: Characteristic, reply: Characteristic, log: Logger) {
    this.peripheral = peripheral;
    this.#command = command;
    this.#reply = reply;
    this.#log = log;
    reply.on('data', this.#onData);
    peripheral.once('disconnect', this.#onDisconnect);
  }

  /** Connects and sets up the lock's GATT service. Disconnects again if anything fails. */
  static async open(peripheral: Peripheral, log: Logger): Promise<BleLink> {
    await peripheral.connectAsync();
    try {
      const { characteristics } = await peripheral.discoverSomeServicesAndCharacteristicsAsync(
        [LOCK_SERVICE_UUID],
        [LOCK_COMMAND_CHAR_UUID, LOCK_REPLY_CHAR_UUID],
      );
      const command = characteristics.find((c) => c.uuid === LOCK_COMMAND_CHAR_UUID);
      const reply = characteristics.find((c) => c.uuid === LOCK_REPLY_CHAR_UUID);
      if (command === undefined || reply === undefined) throw new Error('the lock does not offer the keyhub lock service');
      const link = new BleLink(peripheral, command, reply, log);
      await reply.subscribeAsync();
      return link;
    } catch (err) {
      peripheral.disconnect();
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.#open;
  }

  get mtu(): number {
    return this.peripheral.mtu ?? DEFAULT_ATT_MTU;
  }

  onFrame(fn: (frame: Uint8Array) => void): void {
    this.#onFrame = fn;
  }

  onClose(fn: (reason: unknown) => void): void {
    this.#onClose = fn;
  }

  /** Writes one frame as acknowledged ATT writes, chunk after chunk. */
  async send(frame: Uint8Array): Promise<void> {
    for (const chunk of fragment(frame, this.mtu)) {
      if (!this.#open) throw new Error('link closed');
      await this.#command.writeAsync(Buffer.from(chunk), false);
    }
  }

  async rssi(): Promise<number> {
    return this.peripheral.updateRssiAsync();
  }

  /** Closes the link from our side. */
  close(): void {
    if (!this.#open) return;
    this.peripheral.disconnect();
    this.#closed('closed by the hub');
  }

  #closed(reason: unknown): void {
    if (!this.#open) return;
    this.#open = false;
    this.#reply.removeListener('data', this.#onData);
    this.peripheral.removeListener('disconnect', this.#onDisconnect);
    this.#onClose(reason);
  }
}
