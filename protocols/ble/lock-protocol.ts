/**
 * The lock's side of the protocol, as a pure state machine: the simulated BLE lock (sim/lock/ble)
 * runs it behind its GATT characteristic, and the fuzzer (test/fuzz) throws garbage at it. It
 * owns no timers and no radio: frames come in through `receive`, go out through `send`, time is
 * read from `now`, and the bolt, keypad and battery belong to the `LockDevice` handed in.
 *
 * Rules it enforces (Nuki-style):
 * - pairing only while the lock is in pairing mode (a button press on a real lock);
 * - every sealed frame must authenticate under a known authorization's key, with a nonce counter
 *   above the last one accepted from that hub (channel.ts), or it is refused and nothing happens;
 * - a state-changing command must carry the challenge the lock issued for this authorization,
 *   at most `challengeTtlMs` ago; a challenge is consumed by its first use, right or wrong.
 */
import nacl from 'tweetnacl';
import { Direction, Opener, Sealer, generateKeyPair, sharedKey, type KeyPair, type RandomBytes, systemRandom } from './channel.js';
import { decodeFrame, FrameType } from './frame.js';
import {
  CHALLENGE_BYTES,
  WireError,
  decodeCommand,
  encodeReply,
  type CodeEntry,
  type Envelope,
  type HubCommand,
  type LockReply,
  type LockStatus,
  type WireEventKind,
} from './messages.js';
import { pairKeyFrame, parsePairHello, parseSealed, plainErrorFrame, sealedFrame } from './sealed.js';

/** The physical lock as the protocol sees it. A returned WireError refuses the request. */
export interface LockDevice {
  status(): LockStatus;
  /** Starts driving the bolt; calls `done` once the bolt reached its end (or jammed). */
  move(action: 'lock' | 'unlock', done: (error: WireError | undefined) => void): WireError | undefined;
  setCode(slot: number, code: string): WireError | undefined;
  clearCode(slot: number): WireError | undefined;
  codes(): readonly CodeEntry[];
  readonly slotCount: number;
}

export interface LockProtocolOptions {
  device: LockDevice;
  /** Sends one whole frame to the connected hub (the caller fragments it). */
  send(frame: Uint8Array): void;
  /** Monotonic milliseconds. */
  now(): number;
  identity?: KeyPair;
  random?: RandomBytes;
  /** How long an issued challenge stays valid. Default 10 s. */
  challengeTtlMs?: number;
  maxAuthorizations?: number;
}

interface Authorization {
  authId: number;
  name: string;
  hubPublicKey: Uint8Array;
  opener: Opener;
  sealer: Sealer;
}

interface PendingPairing extends Authorization {
  challenge: Uint8Array;
}

/** What the lock records about protocol activity; the simulator exposes it to tests. */
export interface LockProtocolStats {
  refused: Partial<Record<keyof typeof WireError, number>>;
  actionsStarted: number;
}

export class LockProtocol {
  readonly identity: KeyPair;
  readonly stats: LockProtocolStats = { refused: {}, actionsStarted: 0 };
  readonly #o: Required<Omit<LockProtocolOptions, 'identity'>>;
  readonly #auths = new Map<number, Authorization>();
  #pairingOpen = false;
  #pending: PendingPairing | undefined;
  /** The authorization that last spoke on the current connection: events are sealed to it. */
  #session: Authorization | undefined;
  #challenge: { bytes: Uint8Array; authId: number; atMs: number } | undefined;
  #moving = false;

  constructor(options: LockProtocolOptions) {
    this.#o = { random: systemRandom, challengeTtlMs: 10_000, maxAuthorizations: 16, ...options };
    this.identity = options.identity ?? generateKeyPair(this.#o.random);
  }

  openPairing(): void {
    this.#pairingOpen = true;
  }

  get authorizations(): readonly { authId: number; name: string }[] {
    return [...this.#auths.values()].map((a) => ({ authId: a.authId, name: a.name }));
  }

  /** The link dropped: forget who was connected, the pending pairing and any challenge. */
  endSession(): void {
    this.#session = undefined;
    this.#pending = undefined;
    this.#challenge = undefined;
  }

  /** Tells the connected hub (if any) what just happened at the door. */
  emitEvent(event: WireEventKind, slot = 0): void {
    if (this.#session !== undefined) this.#reply(this.#session, 0, { type: 'event', event, slot, status: this.#o.device.status() });
  }

  /** One reassembled frame from the hub. Never throws on bad input. */
  receive(bytes: Uint8Array): void {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return this.#refusePlain(decoded.error === 'crc' ? WireError.BAD_CRC : WireError.BAD_FRAME);
    const { frame } = decoded;
    if (frame.type === FrameType.PAIR_HELLO) return this.#onHello(parsePairHello(frame));
    const sealed = frame.type === FrameType.SEALED ? parseSealed(frame) : undefined;
    if (sealed === undefined) return this.#refusePlain(WireError.BAD_FRAME);
    const auth = sealed.authId === 0 ? this.#pending : this.#auths.get(sealed.authId);
    if (auth === undefined) return this.#refusePlain(WireError.UNKNOWN_AUTHORIZATION);
    const opened = auth.opener.open(sealed.nonce, sealed.ciphertext);
    if (!opened.ok) return this.#refusePlain(opened.reason === 'nonce-reused' ? WireError.NONCE_REUSED : WireError.TAMPERED);
    const command = decodeCommand(opened.plaintext);
    if (!command.ok) {
      const requestId = opened.plaintext.length >= 4 ? new DataView(opened.plaintext.buffer, opened.plaintext.byteOffset).getUint32(0, true) : 0;
      return this.#refuse(auth, requestId, command.error === 'opcode' ? WireError.UNKNOWN_COMMAND : WireError.BAD_FRAME);
    }
    if (sealed.authId === 0) return this.#onPairComplete(this.#pending!, command.message);
    this.#session = auth;
    this.#dispatch(auth, command.message);
  }

  #onHello(hubPublicKey: Uint8Array | undefined): void {
    if (hubPublicKey === undefined) return this.#refusePlain(WireError.BAD_FRAME);
    if (!this.#pairingOpen) return this.#refusePlain(WireError.NOT_PAIRING);
    const key = sharedKey(hubPublicKey, this.identity.secretKey);
    const challenge = this.#o.random(CHALLENGE_BYTES);
    this.#pending = {
      authId: 0,
      name: '',
      hubPublicKey: hubPublicKey.slice(),
      opener: new Opener(key, Direction.HUB_TO_LOCK),
      sealer: new Sealer(key, Direction.LOCK_TO_HUB, 0n, this.#o.random),
      challenge,
    };
    this.#o.send(pairKeyFrame(this.identity.publicKey, challenge));
  }

  #onPairComplete(pending: PendingPairing, m: Envelope<HubCommand>): void {
    // Proof that the hub derived the same key and saw our challenge: it could seal this reply.
    if (m.type !== 'pair-complete' || !nacl.verify(m.challenge, pending.challenge)) return this.#refuse(pending, m.requestId, WireError.BAD_CHALLENGE);
    if (this.#auths.size >= this.#o.maxAuthorizations) return this.#refuse(pending, m.requestId, WireError.BUSY);
    const authId = Math.max(0, ...this.#auths.keys()) + 1;
    const auth: Authorization = { ...pending, authId, name: m.name };
    this.#auths.set(authId, auth);
    this.#pending = undefined;
    this.#pairingOpen = false;
    this.#session = auth;
    // Sealed under authorization 0 still: the hub learns its id from inside.
    this.#sendSealed(auth, 0, m.requestId, { type: 'paired', authId });
  }

  #dispatch(auth: Authorization, m: Envelope<HubCommand>): void {
    const device = this.#o.device;
    switch (m.type) {
      case 'request-challenge': {
        const challenge = this.#o.random(CHALLENGE_BYTES);
        this.#challenge = { bytes: challenge, authId: auth.authId, atMs: this.#o.now() };
        return this.#reply(auth, m.requestId, { type: 'challenge', challenge });
      }
      case 'get-status':
        return this.#reply(auth, m.requestId, { type: 'status', status: device.status() });
      case 'get-codes':
        return this.#reply(auth, m.requestId, { type: 'codes', slotCount: device.slotCount, codes: [...device.codes()] });
      case 'lock-action': {
        if (!this.#takeChallenge(auth, m.challenge)) return this.#refuse(auth, m.requestId, WireError.BAD_CHALLENGE);
        if (this.#moving) return this.#refuse(auth, m.requestId, WireError.BUSY);
        this.#moving = true;
        const refused = device.move(m.action, (error) => {
          this.#moving = false;
          if (error !== undefined) this.#refuse(auth, m.requestId, error);
          else this.#reply(auth, m.requestId, { type: 'status', status: device.status() });
        });
        if (refused !== undefined) {
          this.#moving = false;
          return this.#refuse(auth, m.requestId, refused);
        }
        this.stats.actionsStarted += 1;
        return this.#reply(auth, m.requestId, { type: 'accepted' });
      }
      case 'set-code':
      case 'clear-code': {
        if (!this.#takeChallenge(auth, m.challenge)) return this.#refuse(auth, m.requestId, WireError.BAD_CHALLENGE);
        const refused = m.type === 'set-code' ? device.setCode(m.slot, m.code) : device.clearCode(m.slot);
        if (refused !== undefined) return this.#refuse(auth, m.requestId, refused);
        return this.#reply(auth, m.requestId, { type: 'code-ack', slot: m.slot });
      }
      case 'pair-complete':
        return this.#refuse(auth, m.requestId, WireError.UNKNOWN_COMMAND);
    }
  }

  #takeChallenge(auth: Authorization, presented: Uint8Array): boolean {
    const issued = this.#challenge;
    this.#challenge = undefined;
    return (
      issued !== undefined &&
      issued.authId === auth.authId &&
      this.#o.now() - issued.atMs <= this.#o.challengeTtlMs &&
      nacl.verify(issued.bytes, presented)
    );
  }

  #reply(auth: Authorization, requestId: number, reply: LockReply): void {
    // A reply for a connection that has since dropped has nobody to go to.
    if (auth !== this.#session && auth !== this.#pending) return;
    this.#sendSealed(auth, auth === this.#pending ? 0 : auth.authId, requestId, reply);
  }

  #sendSealed(auth: Authorization, frameAuthId: number, requestId: number, reply: LockReply): void {
    const { nonce, ciphertext } = auth.sealer.seal(encodeReply({ ...reply, requestId } as Envelope<LockReply>));
    this.#o.send(sealedFrame({ authId: frameAuthId, nonce, ciphertext }));
  }

  #refuse(auth: Authorization, requestId: number, error: WireError): void {
    this.#count(error);
    this.#reply(auth, requestId, { type: 'error', error });
  }

  #refusePlain(error: WireError): void {
    this.#count(error);
    this.#o.send(plainErrorFrame(error));
  }

  #count(error: WireError): void {
    const name = WireError[error] as keyof typeof WireError;
    this.stats.refused[name] = (this.stats.refused[name] ?? 0) + 1;
  }
}
