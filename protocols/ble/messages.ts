/**
 * What travels inside a SEALED frame, once crypto_box opened it (plaintext layout):
 *
 *   0  4  request id, little-endian: the hub's nonce counter of the command (see hub-channel.ts);
 *         a reply echoes it; unsolicited events carry 0
 *   4  1  opcode
 *   5  …  body (per opcode, below)
 *
 * Commands flow hub → lock, replies lock → hub; each direction decodes only its own opcodes.
 * State-changing commands (lock action, set/clear code) carry the challenge the lock issued just
 * before (Nuki's "challenge" step), so a recorded command is worthless later.
 */
import { ByteReader, ByteWriter, ShortRead } from './bytes.js';

export const CHALLENGE_BYTES = 32;
export const MAX_NAME_BYTES = 32;
export const MIN_SLOT = 1;
export const MAX_SLOT = 250;
export const CODE_RE = /^[0-9]{4,10}$/;

/** Errors the lock reports, in ERROR replies (sealed) and PLAIN_ERROR frames. */
export enum WireError {
  BAD_FRAME = 0x01,
  BAD_CRC = 0x02,
  UNKNOWN_AUTHORIZATION = 0x03,
  TAMPERED = 0x04,
  NONCE_REUSED = 0x05,
  BAD_CHALLENGE = 0x06,
  NOT_PAIRING = 0x07,
  JAMMED = 0x08,
  BATTERY_TOO_LOW = 0x09,
  BUSY = 0x0a,
  UNKNOWN_COMMAND = 0x0b,
  BAD_CODE = 0x0c,
}

export type WireBolt = 'unknown' | 'locked' | 'unlocked' | 'jammed' | 'moving';
export type WireDoor = 'unknown' | 'closed' | 'open';
export interface LockStatus {
  bolt: WireBolt;
  door: WireDoor;
  /** 0–100. */
  battery: number;
}

export type WireEventKind =
  | 'manual-lock'
  | 'manual-unlock'
  | 'keypad-lock'
  | 'keypad-unlock'
  | 'auto-lock'
  | 'jam'
  | 'tamper'
  | 'door-open'
  | 'door-closed'
  | 'battery-low';

export interface CodeEntry {
  slot: number;
  code: string;
}

export type HubCommand =
  | { type: 'pair-complete'; challenge: Uint8Array; name: string }
  | { type: 'request-challenge' }
  | { type: 'lock-action'; action: 'lock' | 'unlock'; challenge: Uint8Array }
  | { type: 'get-status' }
  | { type: 'set-code'; challenge: Uint8Array; slot: number; code: string }
  | { type: 'clear-code'; challenge: Uint8Array; slot: number }
  | { type: 'get-codes' };

export type LockReply =
  | { type: 'paired'; authId: number }
  | { type: 'challenge'; challenge: Uint8Array }
  | { type: 'accepted' }
  | { type: 'status'; status: LockStatus }
  | { type: 'code-ack'; slot: number }
  | { type: 'codes'; slotCount: number; codes: CodeEntry[] }
  | { type: 'event'; event: WireEventKind; slot: number; status: LockStatus }
  | { type: 'error'; error: WireError };

export type Envelope<T> = T & { requestId: number };
export type DecodeResult<T> = { ok: true; message: Envelope<T> } | { ok: false; error: 'short' | 'opcode' | 'value' | 'trailing' };

const OP = {
  'pair-complete': 0x01,
  paired: 0x02,
  'request-challenge': 0x10,
  challenge: 0x11,
  'lock-action': 0x12,
  accepted: 0x13,
  status: 0x14,
  'get-status': 0x15,
  'set-code': 0x20,
  'clear-code': 0x21,
  'get-codes': 0x22,
  'code-ack': 0x23,
  codes: 0x24,
  event: 0x30,
  error: 0x7f,
} as const;

const BOLTS: readonly WireBolt[] = ['unknown', 'locked', 'unlocked', 'jammed', 'moving'];
const DOORS: readonly WireDoor[] = ['unknown', 'closed', 'open'];
const EVENTS: readonly WireEventKind[] = [
  'manual-lock', 'manual-unlock', 'keypad-lock', 'keypad-unlock', 'auto-lock', 'jam', 'tamper', 'door-open', 'door-closed', 'battery-low',
];
const ACTIONS = ['lock', 'unlock'] as const;
const WIRE_ERRORS: ReadonlySet<number> = new Set(Object.values(WireError).filter((v) => typeof v === 'number'));

/** A value that decodes but breaks a rule (unknown enum, bad slot, bad code). */
class BadValue extends Error {}

function check(cond: boolean, what: string): void {
  if (!cond) throw new BadValue(what);
}

function writeStatus(w: ByteWriter, s: LockStatus): void {
  w.u8(BOLTS.indexOf(s.bolt)).u8(DOORS.indexOf(s.door)).u8(s.battery);
}

function readStatus(r: ByteReader): LockStatus {
  const bolt = BOLTS[r.u8()];
  const door = DOORS[r.u8()];
  const battery = r.u8();
  check(bolt !== undefined && door !== undefined && battery <= 100, 'status');
  return { bolt: bolt!, door: door!, battery };
}

function writeCode(w: ByteWriter, code: string): void {
  check(CODE_RE.test(code), 'code');
  w.u8(code.length).bytes(new TextEncoder().encode(code));
}

function readCode(r: ByteReader): string {
  const code = new TextDecoder().decode(r.take(r.u8()));
  check(CODE_RE.test(code), 'code');
  return code;
}

function readSlot(r: ByteReader): number {
  const slot = r.u8();
  check(slot >= MIN_SLOT && slot <= MAX_SLOT, 'slot');
  return slot;
}

function readChallenge(r: ByteReader): Uint8Array {
  return r.take(CHALLENGE_BYTES);
}

function head(w: ByteWriter, requestId: number, op: number): ByteWriter {
  return w.u32(requestId).u8(op);
}

export function encodeCommand(m: Envelope<HubCommand>): Uint8Array {
  const w = head(new ByteWriter(), m.requestId, OP[m.type]);
  switch (m.type) {
    case 'pair-complete': {
      const name = new TextEncoder().encode(m.name);
      if (m.challenge.length !== CHALLENGE_BYTES || name.length > MAX_NAME_BYTES) throw new RangeError('pair-complete: bad challenge or name');
      return w.bytes(m.challenge).u8(name.length).bytes(name).done();
    }
    case 'lock-action':
      return w.u8(ACTIONS.indexOf(m.action) + 1).bytes(fixed(m.challenge)).done();
    case 'set-code':
      w.bytes(fixed(m.challenge)).u8(slotOk(m.slot));
      writeCode(w, m.code);
      return w.done();
    case 'clear-code':
      return w.bytes(fixed(m.challenge)).u8(slotOk(m.slot)).done();
    case 'request-challenge':
    case 'get-status':
    case 'get-codes':
      return w.done();
  }
}

export function encodeReply(m: Envelope<LockReply>): Uint8Array {
  const w = head(new ByteWriter(), m.requestId, OP[m.type]);
  switch (m.type) {
    case 'paired':
      return w.u32(m.authId).done();
    case 'challenge':
      return w.bytes(fixed(m.challenge)).done();
    case 'accepted':
      return w.done();
    case 'status':
      writeStatus(w, m.status);
      return w.done();
    case 'code-ack':
      return w.u8(slotOk(m.slot)).done();
    case 'codes':
      w.u8(m.slotCount).u8(m.codes.length);
      for (const c of m.codes) {
        w.u8(slotOk(c.slot));
        writeCode(w, c.code);
      }
      return w.done();
    case 'event':
      w.u8(EVENTS.indexOf(m.event) + 1).u8(m.slot);
      writeStatus(w, m.status);
      return w.done();
    case 'error':
      return w.u8(m.error).done();
  }
}

function fixed(challenge: Uint8Array): Uint8Array {
  if (challenge.length !== CHALLENGE_BYTES) throw new RangeError(`a challenge is ${CHALLENGE_BYTES} bytes`);
  return challenge;
}

function slotOk(slot: number): number {
  if (!Number.isInteger(slot) || slot < MIN_SLOT || slot > MAX_SLOT) throw new RangeError(`slot ${slot} outside ${MIN_SLOT}–${MAX_SLOT}`);
  return slot;
}

function decodeWith<T>(bytes: Uint8Array, body: (op: number, r: ByteReader) => T | undefined): DecodeResult<T> {
  const r = new ByteReader(bytes);
  try {
    const requestId = r.u32();
    const message = body(r.u8(), r);
    if (message === undefined) return { ok: false, error: 'opcode' };
    if (r.remaining !== 0) return { ok: false, error: 'trailing' };
    return { ok: true, message: { ...message, requestId } };
  } catch (err) {
    if (err instanceof ShortRead) return { ok: false, error: 'short' };
    if (err instanceof BadValue) return { ok: false, error: 'value' };
    throw err;
  }
}

/** The lock's parser of what the hub sends. Never throws. */
export function decodeCommand(bytes: Uint8Array): DecodeResult<HubCommand> {
  return decodeWith<HubCommand>(bytes, (op, r) => {
    switch (op) {
      case OP['pair-complete']: {
        const challenge = readChallenge(r);
        const length = r.u8();
        check(length <= MAX_NAME_BYTES, 'name');
        return { type: 'pair-complete', challenge, name: new TextDecoder().decode(r.take(length)) };
      }
      case OP['request-challenge']:
        return { type: 'request-challenge' };
      case OP['lock-action']: {
        const action = ACTIONS[r.u8() - 1];
        check(action !== undefined, 'action');
        return { type: 'lock-action', action: action!, challenge: readChallenge(r) };
      }
      case OP['get-status']:
        return { type: 'get-status' };
      case OP['set-code']: {
        const challenge = readChallenge(r);
        const slot = readSlot(r);
        return { type: 'set-code', challenge, slot, code: readCode(r) };
      }
      case OP['clear-code']:
        return { type: 'clear-code', challenge: readChallenge(r), slot: readSlot(r) };
      case OP['get-codes']:
        return { type: 'get-codes' };
      default:
        return undefined;
    }
  });
}

/** The hub's parser of what the lock sends. Never throws. */
export function decodeReply(bytes: Uint8Array): DecodeResult<LockReply> {
  return decodeWith<LockReply>(bytes, (op, r) => {
    switch (op) {
      case OP.paired:
        return { type: 'paired', authId: r.u32() };
      case OP.challenge:
        return { type: 'challenge', challenge: readChallenge(r) };
      case OP.accepted:
        return { type: 'accepted' };
      case OP.status:
        return { type: 'status', status: readStatus(r) };
      case OP['code-ack']:
        return { type: 'code-ack', slot: readSlot(r) };
      case OP.codes: {
        const slotCount = r.u8();
        const count = r.u8();
        const codes: CodeEntry[] = [];
        for (let i = 0; i < count; i++) {
          const entry = { slot: readSlot(r), code: readCode(r) };
          check(entry.slot <= slotCount, 'slot');
          codes.push(entry);
        }
        return { type: 'codes', slotCount, codes };
      }
      case OP.event: {
        const event = EVENTS[r.u8() - 1];
        check(event !== undefined, 'event');
        const slot = r.u8();
        return { type: 'event', event: event!, slot, status: readStatus(r) };
      }
      case OP.error: {
        const error = r.u8();
        check(WIRE_ERRORS.has(error), 'error');
        return { type: 'error', error: error as WireError };
      }
      default:
        return undefined;
    }
  });
}
