/**
 * The hub's end of a paired channel: seals commands, opens and checks replies. Pure; the driver
 * (hub/lock/ble) does the radio and the waiting.
 *
 * A command's request id is its nonce counter (low 32 bits). The hub persists a floor under its
 * counter (the driver reserves blocks ahead), so no request id repeats across restarts either,
 * and a recorded reply from the lock can never confirm a later command: it echoes an id the hub
 * is not waiting for.
 */
import { Direction, Opener, Sealer, type RandomBytes, systemRandom } from './channel.js';
import { decodeFrame, FrameType } from './frame.js';
import { decodeReply, encodeCommand, type Envelope, type HubCommand, type LockReply } from './messages.js';
import { parsePlainError, parseSealed, sealedFrame } from './sealed.js';

export type HubInbound =
  | { kind: 'reply'; message: Envelope<LockReply> }
  | { kind: 'plain-error'; error: number }
  | { kind: 'invalid'; reason: string };

export interface HubChannelOptions {
  key: Uint8Array;
  authId: number;
  /** Lowest nonce counter this channel may use (persisted floor). */
  firstCounter: bigint;
  random?: RandomBytes;
}

export class HubChannel {
  readonly authId: number;
  readonly #sealer: Sealer;
  readonly #opener: Opener;

  constructor(options: HubChannelOptions) {
    this.authId = options.authId;
    this.#sealer = new Sealer(options.key, Direction.HUB_TO_LOCK, options.firstCounter, options.random ?? systemRandom);
    this.#opener = new Opener(options.key, Direction.LOCK_TO_HUB);
  }

  get nextCounter(): bigint {
    return this.#sealer.nextCounter;
  }

  /** The frame to send and the request id the reply will echo. */
  seal(command: HubCommand): { frame: Uint8Array; requestId: number } {
    const requestId = Number(this.#sealer.nextCounter & 0xffffffffn);
    const plaintext = encodeCommand({ ...command, requestId } as Envelope<HubCommand>);
    const { nonce, ciphertext } = this.#sealer.seal(plaintext);
    return { frame: sealedFrame({ authId: this.authId, nonce, ciphertext }), requestId };
  }

  /** Parses one reassembled frame from the lock. Never throws. */
  open(bytes: Uint8Array): HubInbound {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return { kind: 'invalid', reason: `frame: ${decoded.error}` };
    const { frame } = decoded;
    if (frame.type === FrameType.PLAIN_ERROR) {
      const error = parsePlainError(frame);
      return error === undefined ? { kind: 'invalid', reason: 'plain error: length' } : { kind: 'plain-error', error };
    }
    const sealed = parseSealed(frame);
    if (sealed === undefined) return { kind: 'invalid', reason: `unexpected frame type ${frame.type}` };
    if (sealed.authId !== this.authId) return { kind: 'invalid', reason: `authorization ${sealed.authId} is not ours` };
    const opened = this.#opener.open(sealed.nonce, sealed.ciphertext);
    if (!opened.ok) return { kind: 'invalid', reason: `crypto: ${opened.reason}` };
    const reply = decodeReply(opened.plaintext);
    if (!reply.ok) return { kind: 'invalid', reason: `reply: ${reply.error}` };
    return { kind: 'reply', message: reply.message };
  }
}
