/**
 * The BLE pairing record on disk (under the hub's state directory): JSON, mode 0600 (it holds the
 * hub's secret key), replaced atomically (write a temp file, fsync, rename) so a power cut leaves
 * either the old record or the new one, never half of each.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { ErrorCode, HubError } from '../../system/errors.js';
import type { BlePairing, BlePairingStore } from './pairing.js';

interface OnDisk {
  version: 1;
  peripheralId: string;
  address: string;
  authId: number;
  hubSecretKey: string;
  lockPublicKey: string;
  counterFloor: string;
}

export function filePairingStore(path: string): BlePairingStore {
  return {
    load() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new HubError(ErrorCode.BLE_PAIRING_STORE_FAILED, `cannot read the BLE pairing record ${path}: ${(err as Error).message}`, { cause: err });
      }
      try {
        const d = JSON.parse(text) as OnDisk;
        const hex = (s: string): Uint8Array => {
          if (!/^[0-9a-f]{64}$/.test(s)) throw new Error('a key is not 32 bytes of hex');
          return Uint8Array.from(Buffer.from(s, 'hex'));
        };
        if (d.version !== 1 || !/^\d+$/.test(d.counterFloor) || !Number.isInteger(d.authId)) throw new Error('unknown format');
        return {
          peripheralId: String(d.peripheralId),
          address: String(d.address),
          authId: d.authId,
          hubSecretKey: hex(d.hubSecretKey),
          lockPublicKey: hex(d.lockPublicKey),
          counterFloor: BigInt(d.counterFloor),
        };
      } catch (err) {
        throw new HubError(ErrorCode.BLE_PAIRING_STORE_FAILED, `the BLE pairing record ${path} is damaged: ${(err as Error).message}`, { cause: err });
      }
    },
    save(p) {
      const d: OnDisk = {
        version: 1,
        peripheralId: p.peripheralId,
        address: p.address,
        authId: p.authId,
        hubSecretKey: Buffer.from(p.hubSecretKey).toString('hex'),
        lockPublicKey: Buffer.from(p.lockPublicKey).toString('hex'),
        counterFloor: p.counterFloor.toString(),
      };
      const tmp = `${path}.tmp`;
      try {
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeSync(fd, JSON.stringify(d));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
      } catch (err) {
        throw new HubError(ErrorCode.BLE_PAIRING_STORE_FAILED, `cannot write the BLE pairing record ${path}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** A store in memory: the simulated home and tests. */
export function memoryPairingStore(initial?: BlePairing): BlePairingStore & { saves: number } {
  let current = initial;
  const store = {
    saves: 0,
    load: () => current,
    save: (p: BlePairing) => {
      current = { ...p };
      store.saves += 1;
    },
  };
  return store;
}
