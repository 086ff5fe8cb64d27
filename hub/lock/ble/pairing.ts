/**
 * Pairing with a BLE lock (BleLockDriver.pair(), once), after Nuki's scheme:
 *   hub → lock  PAIR_HELLO   hub's Curve25519 public key
 *   lock → hub  PAIR_KEY     lock's public key + challenge      (only while in pairing mode)
 *   both        key = crypto_box_beforenm(their public, my secret)
 *   hub → lock  SEALED[auth 0] pair-complete(challenge, name)   proves the hub holds the key
 *   lock → hub  SEALED[auth 0] paired(authorization id)         proves the lock does
 * Trust on first use: an unauthenticated key exchange, guarded by the physical button press that
 * opens the lock's short pairing window (as Nuki does).
 *
 * The record keeps the hub's secret key, the lock's public key, the authorization id and a floor
 * under the hub's nonce counter; the driver reserves counter blocks ahead of use so that a
 * restart never reuses a nonce (channel.ts).
 */
import { generateKeyPair, sharedKey, systemRandom, type RandomBytes } from '../../../protocols/ble/channel.js';
import { decodeFrame, FrameType } from '../../../protocols/ble/frame.js';
import { HubChannel } from '../../../protocols/ble/hub-channel.js';
import { WireError } from '../../../protocols/ble/messages.js';
import { pairHelloFrame, parsePairKey, parsePlainError } from '../../../protocols/ble/sealed.js';
import { curve25519KeyProblem } from '../../../protocols/grant/point-check.js';
import type { Clock } from '../../system/clock.js';
import { ErrorCode, HubError } from '../../system/errors.js';
import type { Logger } from '../../system/logger.js';
import type { Noble } from './central.js';
import { BleLink } from './link.js';
import { findPeripheral } from './scan.js';

export interface BlePairing {
  /** noble's peripheral id (the address without colons, on Linux). */
  peripheralId: string;
  address: string;
  authId: number;
  hubSecretKey: Uint8Array;
  lockPublicKey: Uint8Array;
  /** Every hub → lock nonce counter ever used is below this. */
  counterFloor: bigint;
}

export interface BlePairingStore {
  load(): BlePairing | undefined;
  /** Must be durable when it returns: the counter floor guards against nonce reuse. */
  save(pairing: BlePairing): void;
}

export interface PairOptions {
  noble: Noble;
  clock: Clock;
  log: Logger;
  /** The lock to pair with; the first keyhub lock seen when absent. */
  address?: string;
  /** How the hub names itself to the lock (shown in the lock's app / log). */
  name: string;
  timeoutMs?: number;
  random?: RandomBytes;
}

export async function pairBleLock(options: PairOptions): Promise<BlePairing> {
  const abort = new AbortController();
  const timer = options.clock.setTimeout(
    () => abort.abort(new HubError(ErrorCode.BLE_PAIRING_FAILED, `pairing did not complete within ${options.timeoutMs ?? 30_000} ms`)),
    options.timeoutMs ?? 30_000,
  );
  let link: BleLink | undefined;
  try {
    const peripheral = await findPeripheral(
      options.noble,
      (p) => options.address === undefined || p.address.toLowerCase() === options.address.toLowerCase(),
      abort.signal,
    );
    link = await withAbort(BleLink.open(peripheral, options.log), abort.signal);
    const frames = frameQueue(link, abort.signal);
    const random = options.random ?? systemRandom;
    const hub = generateKeyPair(random);

    await link.send(pairHelloFrame(hub.publicKey));
    const keyFrame = decodeFrame(await frames.next());
    if (!keyFrame.ok) throw new HubError(ErrorCode.BLE_PAIRING_FAILED, `the lock answered with a broken frame (${keyFrame.error})`);
    const plain = parsePlainError(keyFrame.frame);
    if (plain === WireError.NOT_PAIRING) throw new HubError(ErrorCode.BLE_PAIRING_FAILED, 'the lock is not in pairing mode: press its pairing button and retry');
    const offer = keyFrame.frame.type === FrameType.PAIR_KEY ? parsePairKey(keyFrame.frame) : undefined;
    if (offer === undefined) throw new HubError(ErrorCode.BLE_PAIRING_FAILED, `the lock refused pairing (${plain === undefined ? 'unexpected frame' : WireError[plain] ?? plain})`);
    // A key of small order makes the X25519 secret all zeros (RFC 7748 §6.1): anyone in radio
    // range could then read and forge the channel. Refused before anything is sealed under it.
    const keyProblem = curve25519KeyProblem(offer.lockPublicKey);
    if (keyProblem !== undefined) throw new HubError(ErrorCode.BLE_PAIRING_FAILED, `the lock's key is refused: ${keyProblem}`);

    const channel = new HubChannel({ key: sharedKey(offer.lockPublicKey, hub.secretKey), authId: 0, firstCounter: 0n, random });
    const { frame, requestId } = channel.seal({ type: 'pair-complete', challenge: offer.challenge, name: options.name });
    await link.send(frame);
    const answer = channel.open(await frames.next());
    if (answer.kind !== 'reply' || answer.message.requestId !== requestId || answer.message.type !== 'paired') {
      throw new HubError(ErrorCode.BLE_PAIRING_FAILED, `the lock did not confirm pairing (${describe(answer)})`);
    }
    options.log.info({ address: peripheral.address, authId: answer.message.authId }, 'paired with the BLE lock');
    return {
      peripheralId: peripheral.id,
      address: peripheral.address,
      authId: answer.message.authId,
      hubSecretKey: hub.secretKey,
      lockPublicKey: offer.lockPublicKey,
      counterFloor: channel.nextCounter,
    };
  } catch (err) {
    if (err instanceof HubError) throw err;
    throw new HubError(ErrorCode.BLE_PAIRING_FAILED, `pairing failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    timer.cancel();
    link?.close();
  }
}

function describe(answer: ReturnType<HubChannel['open']>): string {
  if (answer.kind === 'reply') return answer.message.type === 'error' ? WireError[answer.message.error] ?? 'error' : answer.message.type;
  if (answer.kind === 'plain-error') return WireError[answer.error] ?? `error ${answer.error}`;
  return answer.reason;
}

function withAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) {
          // Too late: whatever was opened must not leak.
          if (v instanceof BleLink) v.close();
          return;
        }
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Frames from a link, one at a time, failing when the link closes or the signal aborts. */
function frameQueue(link: BleLink, signal: AbortSignal): { next(): Promise<Uint8Array> } {
  const ready: Uint8Array[] = [];
  let waiter: { resolve(f: Uint8Array): void; reject(e: unknown): void } | undefined;
  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
    waiter?.reject(failure);
    waiter = undefined;
  };
  link.onFrame((f) => {
    if (waiter !== undefined) {
      waiter.resolve(f);
      waiter = undefined;
    } else ready.push(f);
  });
  link.onClose(() => fail(new HubError(ErrorCode.BLE_PAIRING_FAILED, 'the lock dropped the link during pairing')));
  signal.addEventListener('abort', () => fail(signal.reason), { once: true });
  return {
    next: () => {
      const f = ready.shift();
      if (f !== undefined) return Promise.resolve(f);
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
  };
}
