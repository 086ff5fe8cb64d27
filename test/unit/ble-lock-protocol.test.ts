/**
 * The lock side of the BLE protocol, without a radio: frames in, frames out. Every refusal branch
 * of the lock is exercised with what an attacker or a confused hub could send.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, sharedKey } from '../../protocols/ble/channel.js';
import { decodeFrame, encodeFrame, FrameType } from '../../protocols/ble/frame.js';
import { HubChannel } from '../../protocols/ble/hub-channel.js';
import { LockProtocol, type LockDevice } from '../../protocols/ble/lock-protocol.js';
import { WireError, type HubCommand, type LockReply } from '../../protocols/ble/messages.js';
import { pairHelloFrame, parsePairKey, parsePlainError, sealedFrame } from '../../protocols/ble/sealed.js';

interface Harness {
  lock: LockProtocol;
  sent: Uint8Array[];
  now: { ms: number };
  moves: { action: string; done: (e: WireError | undefined) => void }[];
  device: LockDevice & { battery: number };
}

function harness(): Harness {
  const sent: Uint8Array[] = [];
  const now = { ms: 0 };
  const moves: Harness['moves'] = [];
  const codes = new Map<number, string>();
  const device = {
    battery: 80,
    slotCount: 30,
    status: () => ({ bolt: 'locked' as const, door: 'closed' as const, battery: device.battery }),
    move: (action: 'lock' | 'unlock', done: (e: WireError | undefined) => void) => {
      if (device.battery < 5) return WireError.BATTERY_TOO_LOW;
      moves.push({ action, done });
      return undefined;
    },
    setCode: (slot: number, code: string) => (codes.set(slot, code), undefined),
    clearCode: (slot: number) => (codes.delete(slot), undefined),
    codes: () => [...codes].map(([slot, code]) => ({ slot, code })),
  };
  const lock = new LockProtocol({ device, send: (f) => sent.push(f), now: () => now.ms, challengeTtlMs: 5_000 });
  return { lock, sent, now, moves, device };
}

/** Pairs a hub with the lock by hand; returns the hub's channel (authorization assigned). */
function pair(h: Harness): HubChannel {
  const hub = generateKeyPair();
  h.lock.openPairing();
  h.lock.receive(pairHelloFrame(hub.publicKey));
  const offer = parsePairKey(frameOf(h.sent.pop()!))!;
  const key = sharedKey(offer.lockPublicKey, hub.secretKey);
  const pairing = new HubChannel({ key, authId: 0, firstCounter: 0n });
  h.lock.receive(pairing.seal({ type: 'pair-complete', challenge: offer.challenge, name: 'hub' }).frame);
  const paired = pairing.open(h.sent.pop()!);
  if (paired.kind !== 'reply' || paired.message.type !== 'paired') throw new Error('pairing failed');
  return new HubChannel({ key, authId: paired.message.authId, firstCounter: pairing.nextCounter });
}

function frameOf(bytes: Uint8Array) {
  const d = decodeFrame(bytes);
  if (!d.ok) throw new Error(d.error);
  return d.frame;
}

/** Sends a command; returns every reply the lock sent for it, opened. */
function ask(h: Harness, ch: HubChannel, command: HubCommand): LockReply[] {
  h.lock.receive(ch.seal(command).frame);
  return h.sent.splice(0).map((f) => {
    const r = ch.open(f);
    if (r.kind === 'reply') return r.message;
    if (r.kind === 'plain-error') return { type: 'error', error: r.error } as LockReply;
    throw new Error(r.reason);
  });
}

function challengeOf(replies: LockReply[]): Uint8Array {
  const c = replies[0];
  if (c?.type !== 'challenge') throw new Error(`no challenge: ${JSON.stringify(c)}`);
  return c.challenge;
}

function lastPlainError(h: Harness): number | undefined {
  return parsePlainError(frameOf(h.sent.pop()!));
}

describe('the BLE lock protocol (lock side)', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });

  it('refuses pairing while the lock is not in pairing mode', () => {
    h.lock.receive(pairHelloFrame(generateKeyPair().publicKey));
    expect(lastPlainError(h)).toBe(WireError.NOT_PAIRING);
    expect(h.lock.authorizations).toEqual([]);
  });

  it('pairs once, then closes pairing mode', () => {
    pair(h);
    expect(h.lock.authorizations).toEqual([{ authId: 1, name: 'hub' }]);
    h.lock.receive(pairHelloFrame(generateKeyPair().publicKey));
    expect(lastPlainError(h)).toBe(WireError.NOT_PAIRING);
  });

  it('refuses to complete pairing with the wrong challenge', () => {
    const hub = generateKeyPair();
    h.lock.openPairing();
    h.lock.receive(pairHelloFrame(hub.publicKey));
    const offer = parsePairKey(frameOf(h.sent.pop()!))!;
    const ch = new HubChannel({ key: sharedKey(offer.lockPublicKey, hub.secretKey), authId: 0, firstCounter: 0n });
    expect(ask(h, ch, { type: 'pair-complete', challenge: new Uint8Array(32), name: 'x' })).toEqual([{ type: 'error', error: WireError.BAD_CHALLENGE, requestId: 0 }]);
    expect(h.lock.authorizations).toEqual([]);
  });

  it('unlocks with a fresh challenge and answers accepted, then the final status', () => {
    const ch = pair(h);
    const challenge = challengeOf(ask(h, ch, { type: 'request-challenge' }));
    expect(ask(h, ch, { type: 'lock-action', action: 'unlock', challenge })).toMatchObject([{ type: 'accepted' }]);
    h.moves[0]!.done(undefined);
    expect(h.sent.map((f) => ch.open(f))).toMatchObject([{ kind: 'reply', message: { type: 'status' } }]);
  });

  it('refuses an action without a challenge, with a used one, and with an expired one', () => {
    const ch = pair(h);
    expect(ask(h, ch, { type: 'lock-action', action: 'unlock', challenge: new Uint8Array(32) })).toMatchObject([{ type: 'error', error: WireError.BAD_CHALLENGE }]);
    const c1 = challengeOf(ask(h, ch, { type: 'request-challenge' }));
    ask(h, ch, { type: 'lock-action', action: 'unlock', challenge: c1 });
    h.moves[0]!.done(undefined);
    h.sent.splice(0);
    expect(ask(h, ch, { type: 'lock-action', action: 'lock', challenge: c1 })).toMatchObject([{ type: 'error', error: WireError.BAD_CHALLENGE }]);
    const c2 = challengeOf(ask(h, ch, { type: 'request-challenge' }));
    h.now.ms += 5_001;
    expect(ask(h, ch, { type: 'lock-action', action: 'lock', challenge: c2 })).toMatchObject([{ type: 'error', error: WireError.BAD_CHALLENGE }]);
    expect(h.moves).toHaveLength(1);
  });

  it("refuses a challenge issued to another hub's authorization", () => {
    const a = pair(h);
    const b = pair(h);
    const forA = challengeOf(ask(h, a, { type: 'request-challenge' }));
    expect(ask(h, b, { type: 'lock-action', action: 'unlock', challenge: forA })).toMatchObject([{ type: 'error', error: WireError.BAD_CHALLENGE }]);
    expect(h.moves).toHaveLength(0);
  });

  it('refuses a second action while the bolt is moving', () => {
    const ch = pair(h);
    ask(h, ch, { type: 'lock-action', action: 'unlock', challenge: challengeOf(ask(h, ch, { type: 'request-challenge' })) });
    const c = challengeOf(ask(h, ch, { type: 'request-challenge' }));
    expect(ask(h, ch, { type: 'lock-action', action: 'lock', challenge: c })).toMatchObject([{ type: 'error', error: WireError.BUSY }]);
  });

  it('passes on the device refusing (battery too low) and a jam reported at the end of travel', () => {
    const ch = pair(h);
    h.device.battery = 2;
    expect(ask(h, ch, { type: 'lock-action', action: 'unlock', challenge: challengeOf(ask(h, ch, { type: 'request-challenge' })) })).toMatchObject([
      { type: 'error', error: WireError.BATTERY_TOO_LOW },
    ]);
    h.device.battery = 80;
    ask(h, ch, { type: 'lock-action', action: 'unlock', challenge: challengeOf(ask(h, ch, { type: 'request-challenge' })) });
    h.moves[0]!.done(WireError.JAMMED);
    expect(h.sent.map((f) => ch.open(f))).toMatchObject([{ kind: 'reply', message: { type: 'error', error: WireError.JAMMED } }]);
  });

  it('refuses a replayed frame (nonce reused) and does nothing', () => {
    const ch = pair(h);
    const get = ch.seal({ type: 'get-status' }).frame;
    h.lock.receive(get);
    h.sent.splice(0);
    h.lock.receive(get);
    expect(lastPlainError(h)).toBe(WireError.NONCE_REUSED);
    expect(h.lock.stats.refused.NONCE_REUSED).toBe(1);
  });

  it('refuses tampered ciphertext', () => {
    const ch = pair(h);
    const frame = frameOf(ch.seal({ type: 'get-status' }).frame);
    frame.payload[frame.payload.length - 1]! ^= 0x80;
    h.lock.receive(encodeFrame(FrameType.SEALED, frame.payload));
    expect(lastPlainError(h)).toBe(WireError.TAMPERED);
  });

  it('refuses an unknown authorization, a broken frame and a CRC error', () => {
    h.lock.receive(sealedFrame({ authId: 77, nonce: new Uint8Array(24), ciphertext: new Uint8Array(16) }));
    expect(lastPlainError(h)).toBe(WireError.UNKNOWN_AUTHORIZATION);
    h.lock.receive(encodeFrame(FrameType.PAIR_KEY, new Uint8Array(64)));
    expect(lastPlainError(h)).toBe(WireError.BAD_FRAME);
    const f = encodeFrame(FrameType.PAIR_HELLO, new Uint8Array(32));
    f[6]! ^= 1;
    h.lock.receive(f);
    expect(lastPlainError(h)).toBe(WireError.BAD_CRC);
  });

  it('refuses, with a sealed error, a pairing command on an existing authorization', () => {
    const ch = pair(h);
    expect(ask(h, ch, { type: 'get-status' })).toMatchObject([{ type: 'status' }]);
    const replies = ask(h, ch, { type: 'pair-complete', challenge: new Uint8Array(32), name: '' });
    expect(replies).toMatchObject([{ type: 'error', error: WireError.UNKNOWN_COMMAND }]);
  });

  it('stores, reads back and clears keypad codes only with a challenge', () => {
    const ch = pair(h);
    expect(ask(h, ch, { type: 'set-code', slot: 2, code: '2468', challenge: new Uint8Array(32) })).toMatchObject([{ type: 'error', error: WireError.BAD_CHALLENGE }]);
    expect(ask(h, ch, { type: 'set-code', slot: 2, code: '2468', challenge: challengeOf(ask(h, ch, { type: 'request-challenge' })) })).toMatchObject([{ type: 'code-ack', slot: 2 }]);
    expect(ask(h, ch, { type: 'get-codes' })).toMatchObject([{ type: 'codes', slotCount: 30, codes: [{ slot: 2, code: '2468' }] }]);
    ask(h, ch, { type: 'clear-code', slot: 2, challenge: challengeOf(ask(h, ch, { type: 'request-challenge' })) });
    expect(ask(h, ch, { type: 'get-codes' })).toMatchObject([{ type: 'codes', codes: [] }]);
  });

  it('sends events to the connected hub only, and nothing after the session ended', () => {
    const ch = pair(h);
    h.lock.emitEvent('door-open');
    expect(h.sent.map((f) => ch.open(f))).toMatchObject([{ kind: 'reply', message: { type: 'event', event: 'door-open', requestId: 0 } }]);
    h.sent.splice(0);
    h.lock.endSession();
    h.lock.emitEvent('door-closed');
    expect(h.sent).toEqual([]);
  });

  it('drops the final status of a movement whose link dropped meanwhile', () => {
    const ch = pair(h);
    ask(h, ch, { type: 'lock-action', action: 'unlock', challenge: challengeOf(ask(h, ch, { type: 'request-challenge' })) });
    h.lock.endSession();
    h.moves[0]!.done(undefined);
    expect(h.sent).toEqual([]);
  });
});
