import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { crc16 } from '../../protocols/ble/crc16.js';
import { Direction, MAX_COUNTER, Opener, Sealer, generateKeyPair, nonceCounter, sharedKey } from '../../protocols/ble/channel.js';
import { decodeFrame, encodeFrame, FrameType, MAX_FRAME_BYTES, MAX_PAYLOAD_BYTES } from '../../protocols/ble/frame.js';
import { fragment, Reassembler } from '../../protocols/ble/fragment.js';
import { decodeCommand, decodeReply, encodeCommand, encodeReply, WireError, type Envelope, type HubCommand, type LockReply } from '../../protocols/ble/messages.js';

const key = new Uint8Array(32).fill(7);

describe('BLE frame check (CRC-16/CCITT-FALSE)', () => {
  it('gives the catalogue check value for "123456789"', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x29b1);
  });
});

describe('BLE frames', () => {
  it('round-trips any payload up to the size cap', () => {
    fc.assert(
      fc.property(fc.constantFrom(FrameType.PAIR_HELLO, FrameType.PAIR_KEY, FrameType.SEALED, FrameType.PLAIN_ERROR), fc.uint8Array({ maxLength: MAX_PAYLOAD_BYTES }), (type, payload) => {
        const decoded = decodeFrame(encodeFrame(type, payload));
        expect(decoded).toEqual({ ok: true, frame: { type, payload } });
      }),
    );
  });

  it('refuses to encode a payload over the cap', () => {
    expect(() => encodeFrame(FrameType.SEALED, new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(RangeError);
  });

  it('reports a frame shorter than header and check as short', () => {
    expect(decodeFrame(new Uint8Array(5))).toEqual({ ok: false, error: 'short' });
  });

  it('reports a frame whose length field disagrees with its size', () => {
    const f = encodeFrame(FrameType.SEALED, new Uint8Array(10));
    expect(decodeFrame(f.subarray(0, f.length - 1))).toEqual({ ok: false, error: 'length' });
    expect(decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1))).toEqual({ ok: false, error: 'length' });
  });

  it('detects any single flipped bit with the CRC', () => {
    const f = encodeFrame(FrameType.SEALED, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    for (let bit = 0; bit < f.length * 8; bit++) {
      const g = f.slice();
      g[bit >> 3]! ^= 1 << (bit & 7);
      const d = decodeFrame(g);
      expect(d.ok).toBe(false);
    }
  });

  it('refuses an unknown version or type even with a valid CRC', () => {
    const wrongVersion = encodeFrame(FrameType.SEALED, new Uint8Array(1));
    wrongVersion[0] = 9;
    new DataView(wrongVersion.buffer).setUint16(5, crc16(wrongVersion, 5), true);
    expect(decodeFrame(wrongVersion)).toEqual({ ok: false, error: 'version' });
    const wrongType = encodeFrame(FrameType.SEALED, new Uint8Array(1));
    wrongType[1] = 0x55;
    new DataView(wrongType.buffer).setUint16(5, crc16(wrongType, 5), true);
    expect(decodeFrame(wrongType)).toEqual({ ok: false, error: 'type' });
  });
});

describe('GATT fragmentation', () => {
  it('splits to the ATT MTU and reassembles to the same frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: MAX_FRAME_BYTES }), fc.integer({ min: 23, max: 517 }), (frame, mtu) => {
        const chunks = fragment(frame, mtu);
        for (const c of chunks) expect(c.length).toBeLessThanOrEqual(mtu - 3);
        const r = new Reassembler();
        const results = chunks.map((c) => r.push(c));
        expect(results.slice(0, -1).every((x) => x.kind === 'partial')).toBe(true);
        expect(results.at(-1)).toEqual({ kind: 'frame', frame });
      }),
    );
  });

  it('refuses an MTU that leaves no room for data', () => {
    expect(() => fragment(new Uint8Array(4), 4)).toThrow(RangeError);
  });

  it('drops a frame whose chunks arrive out of order, and recovers on the next frame', () => {
    const chunks = fragment(new Uint8Array(60).fill(1), 23);
    const r = new Reassembler();
    r.push(chunks[0]!);
    expect(r.push(chunks[2]!)).toEqual({ kind: 'dropped', reason: 'sequence' });
    expect(r.pendingBytes).toBe(0);
    const again = chunks.map((c) => r.push(c)).at(-1);
    expect(again?.kind).toBe('frame');
  });

  it('drops an empty chunk and caps what it buffers', () => {
    const r = new Reassembler();
    expect(r.push(new Uint8Array(0))).toEqual({ kind: 'dropped', reason: 'empty' });
    const results = [];
    for (let i = 0; i < 127; i++) {
      results.push(r.push(Uint8Array.of(i, ...new Uint8Array(100))));
      expect(r.pendingBytes).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    }
    expect(results).toContainEqual({ kind: 'dropped', reason: 'oversize' });
  });
});

describe('crypto_box channel', () => {
  it('derives the same key on both sides (box.before)', () => {
    const hub = generateKeyPair();
    const lock = generateKeyPair();
    expect(sharedKey(lock.publicKey, hub.secretKey)).toEqual(sharedKey(hub.publicKey, lock.secretKey));
  });

  it('opens what the other direction sealed, with counter and random nonce parts', () => {
    const sealer = new Sealer(key, Direction.HUB_TO_LOCK, 5n);
    const opener = new Opener(key, Direction.HUB_TO_LOCK);
    const a = sealer.seal(Uint8Array.of(1, 2, 3));
    const b = sealer.seal(Uint8Array.of(1, 2, 3));
    expect(nonceCounter(a.nonce)).toBe(5n);
    expect(nonceCounter(b.nonce)).toBe(6n);
    expect(a.nonce.subarray(8)).not.toEqual(b.nonce.subarray(8));
    expect(opener.open(a.nonce, a.ciphertext)).toMatchObject({ ok: true, plaintext: Uint8Array.of(1, 2, 3) });
    expect(opener.open(b.nonce, b.ciphertext)).toMatchObject({ ok: true, counter: 6n });
  });

  it('refuses a reused nonce, and an older one', () => {
    const sealer = new Sealer(key, Direction.HUB_TO_LOCK, 0n);
    const opener = new Opener(key, Direction.HUB_TO_LOCK);
    const a = sealer.seal(Uint8Array.of(1));
    const b = sealer.seal(Uint8Array.of(2));
    expect(opener.open(b.nonce, b.ciphertext).ok).toBe(true);
    expect(opener.open(b.nonce, b.ciphertext)).toEqual({ ok: false, reason: 'nonce-reused' });
    expect(opener.open(a.nonce, a.ciphertext)).toEqual({ ok: false, reason: 'nonce-reused' });
  });

  it('refuses tampered ciphertext without moving the counter floor', () => {
    const sealer = new Sealer(key, Direction.HUB_TO_LOCK, 0n);
    const opener = new Opener(key, Direction.HUB_TO_LOCK);
    const a = sealer.seal(Uint8Array.of(1, 2, 3));
    const bad = a.ciphertext.slice();
    bad[bad.length - 1]! ^= 0x01;
    expect(opener.open(a.nonce, bad)).toEqual({ ok: false, reason: 'tampered' });
    expect(opener.lastCounter).toBe(-1n);
    expect(opener.open(a.nonce, a.ciphertext).ok).toBe(true);
  });

  it('refuses a frame reflected from the other direction', () => {
    const a = new Sealer(key, Direction.HUB_TO_LOCK, 0n).seal(Uint8Array.of(1));
    expect(new Opener(key, Direction.LOCK_TO_HUB).open(a.nonce, a.ciphertext)).toEqual({ ok: false, reason: 'direction' });
  });

  it('stops at the end of the counter space instead of wrapping', () => {
    const sealer = new Sealer(key, Direction.HUB_TO_LOCK, MAX_COUNTER);
    sealer.seal(Uint8Array.of(1));
    expect(() => sealer.seal(Uint8Array.of(1))).toThrow(/exhausted/);
  });

  it('agrees with tweetnacl box for the same key pair (crypto_box = beforenm + afternm)', () => {
    const hub = generateKeyPair();
    const lock = generateKeyPair();
    const s = new Sealer(sharedKey(lock.publicKey, hub.secretKey), Direction.HUB_TO_LOCK, 0n).seal(Uint8Array.of(9, 9));
    expect(nacl.box.open(s.ciphertext, s.nonce, hub.publicKey, lock.secretKey)).toEqual(Uint8Array.of(9, 9));
  });
});

const challenge = new Uint8Array(32).fill(3);
const commands: Envelope<HubCommand>[] = [
  { requestId: 1, type: 'pair-complete', challenge, name: 'hub' },
  { requestId: 2, type: 'request-challenge' },
  { requestId: 3, type: 'lock-action', action: 'unlock', challenge },
  { requestId: 4, type: 'get-status' },
  { requestId: 5, type: 'set-code', challenge, slot: 30, code: '0123456789' },
  { requestId: 6, type: 'clear-code', challenge, slot: 1 },
  { requestId: 0xffffffff, type: 'get-codes' },
];
const status = { bolt: 'jammed', door: 'open', battery: 100 } as const;
const replies: Envelope<LockReply>[] = [
  { requestId: 1, type: 'paired', authId: 0xfffffffe },
  { requestId: 2, type: 'challenge', challenge },
  { requestId: 3, type: 'accepted' },
  { requestId: 3, type: 'status', status },
  { requestId: 5, type: 'code-ack', slot: 250 },
  { requestId: 7, type: 'codes', slotCount: 30, codes: [{ slot: 1, code: '1234' }, { slot: 30, code: '98765432' }] },
  { requestId: 0, type: 'event', event: 'keypad-unlock', slot: 4, status },
  { requestId: 9, type: 'error', error: WireError.NONCE_REUSED },
];

describe('BLE messages', () => {
  it.each(commands)('round-trips the $type command', (m) => {
    expect(decodeCommand(encodeCommand(m))).toEqual({ ok: true, message: m });
  });

  it.each(replies)('round-trips the $type reply', (m) => {
    expect(decodeReply(encodeReply(m))).toEqual({ ok: true, message: m });
  });

  it('decodes commands only as commands and replies only as replies', () => {
    expect(decodeReply(encodeCommand(commands[2]!))).toEqual({ ok: false, error: 'opcode' });
    expect(decodeCommand(encodeReply(replies[3]!))).toEqual({ ok: false, error: 'opcode' });
  });

  it('reports truncation, trailing bytes and out-of-range values', () => {
    const full = encodeCommand(commands[4]!);
    expect(decodeCommand(full.subarray(0, full.length - 1))).toEqual({ ok: false, error: 'short' });
    expect(decodeCommand(full.subarray(0, 10))).toEqual({ ok: false, error: 'short' });
    expect(decodeCommand(Uint8Array.of(...encodeCommand(commands[1]!), 0))).toEqual({ ok: false, error: 'trailing' });
    const badSlot = encodeReply({ requestId: 1, type: 'code-ack', slot: 1 });
    badSlot[5] = 0;
    expect(decodeReply(badSlot)).toEqual({ ok: false, error: 'value' });
    const badStatus = encodeReply({ requestId: 1, type: 'status', status });
    badStatus[7] = 101;
    expect(decodeReply(badStatus)).toEqual({ ok: false, error: 'value' });
  });

  it('refuses to encode a code or slot the lock would not take', () => {
    expect(() => encodeCommand({ requestId: 1, type: 'set-code', challenge, slot: 1, code: '12a4' })).toThrow();
    expect(() => encodeCommand({ requestId: 1, type: 'clear-code', challenge, slot: 251 })).toThrow(RangeError);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        decodeCommand(bytes);
        decodeReply(bytes);
        decodeFrame(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
