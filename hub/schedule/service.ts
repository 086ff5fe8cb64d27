/**
 * The ScheduleService: add / update / pause / resume / remove / list guest and service codes. The
 * LAN API and the CLI (through the daemon's control contract) call this; nothing else writes codes.
 *
 * Every change is checked in full before anything is written (name, PIN within the lock's digit
 * limits and unlike every other code the keypad knows, windows, zone, expiry, a free slot), then
 * stored and audited (code.change, synchronous=FULL) in one transaction: a change that is not on
 * record did not happen. What the lock then holds is slot-sync.ts's job; what `list` shows comes
 * from what the lock read back, never from what was merely asked for.
 */
import { randomBytes } from 'node:crypto';
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { ScheduleStore } from '../store/schedule-store.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { LocalTimes } from '../system/local-time.js';
import { CODE_ID, CODE_KINDS, maskPin, nameSchema, windowsSchema, type CodeKind, type CodeWindow, type ScheduledCode } from './model.js';
import type { PinHasher } from './pin-hash.js';
import type { SlotWant } from './slot-drift.js';
import type { SlotAssignment, SlotStatus } from './slot-sync.js';
import { codeState, type CodeState } from './code-state.js';
import { formatWindow } from './window-text.js';
import { isOpen, nextEdge, opensAgain } from './windows.js';

export interface CodeInput {
  name: string;
  kind: CodeKind;
  pin: string;
  windows: readonly CodeWindow[];
  /** IANA zone of the windows; the home's (config `schedule.zone`) when omitted. */
  zone?: string;
  expiresAtMs?: number;
  paused?: boolean;
}

export interface CodePatch {
  name?: string;
  kind?: CodeKind;
  pin?: string;
  windows?: readonly CodeWindow[];
  zone?: string;
  /** null removes the expiry. */
  expiresAtMs?: number | null;
}

/** A code as every interface shows it: the PIN masked, the state as read back from the lock. */
export interface CodeView {
  id: string;
  name: string;
  kind: CodeKind;
  slot: number;
  zone: string;
  windows: string[];
  expiresAtMs: number | undefined;
  paused: boolean;
  removed: boolean;
  pin: string;
  pinHash: string;
  state: CodeState;
  /** For `failing`: the lock's error code and what went wrong. */
  why: string | undefined;
  /** Whether a window is open now. */
  open: boolean;
  /** When a window next opens or closes (within the coming week, or a later one-off). */
  nextChangeAtMs: number | undefined;
  /** When the lock last read the slot back. */
  readBackAtMs: number | undefined;
}

export interface ScheduleService {
  add(input: CodeInput, by: string): CodeView;
  update(ref: string, patch: CodePatch, by: string): CodeView;
  pause(ref: string, by: string): CodeView;
  resume(ref: string, by: string): CodeView;
  remove(ref: string, by: string): CodeView;
  list(): CodeView[];
}

export interface ScheduleSettings {
  slots: { first: number; last: number };
  /** The home's zone: the default for a code's windows. */
  zone: string | undefined;
  pinDigits: { min: number; max: number };
}

/** What the service needs of the slot worker. */
export interface SlotView {
  status(slot: number): SlotStatus;
  ownerPinHashes(): ReadonlySet<string>;
  lockSlotCount(): number | undefined;
}

export interface ScheduleCodesDeps {
  repo: ScheduleStore;
  audit: { append(event: AuditEvent): unknown };
  hasher: PinHasher;
  times: LocalTimes;
  clock: Clock;
  settings: ScheduleSettings;
  slots: SlotView;
  /** Codes changed: the slots and the edge timer look again. */
  onChange(): void;
  /** Whether the wall clock may be believed (not behind the clock floor): while not, no code is put in. */
  clockTrusted?: () => boolean;
  onAuditFailure(err: unknown): void;
}

export class ScheduleCodes implements ScheduleService {
  readonly #d: ScheduleCodesDeps;
  #codes = new Map<string, ScheduledCode>();

  constructor(deps: ScheduleCodesDeps) {
    this.#d = deps;
  }

  load(): void {
    this.#codes = new Map(this.#d.repo.codes().map((c) => [c.id, c]));
  }

  /** Every stored code (removed ones too, until their slot reads back empty). */
  codes(): readonly ScheduledCode[] {
    return [...this.#codes.values()];
  }

  /** The code that owns `slot`, if any. */
  codeIn(slot: number): ScheduledCode | undefined {
    for (const c of this.#codes.values()) if (c.slot === slot) return c;
    return undefined;
  }

  /** What `code`'s slot should hold at `atMs`. */
  wantOf(code: ScheduledCode, atMs: number): SlotWant {
    // A reset RTC could put the hub inside any window: with a clock it cannot trust, nothing is open.
    const trusted = this.#d.clockTrusted?.() ?? true;
    const open = trusted && !code.removed && code.pin !== undefined && isOpen(this.#d.times, code, atMs);
    return open ? { content: 'code', pinHash: code.pinHash } : { content: 'empty' };
  }

  wants(): Map<number, SlotAssignment> {
    const now = this.#d.clock.now();
    const out = new Map<number, SlotAssignment>();
    for (const code of this.#codes.values()) out.set(code.slot, { code, want: this.wantOf(code, now) });
    return out;
  }

  // --- ScheduleService ----------------------------------------------------------------------

  add(input: CodeInput, by: string): CodeView {
    const now = this.#d.clock.now();
    const name = this.#name(input.name, undefined);
    const kind = kindOf(input.kind);
    const pin = this.#pin(input.pin, undefined);
    const zone = this.#zone(input.zone);
    const windows = this.#windows(input.windows, zone, now);
    const expiresAtMs = expiry(input.expiresAtMs, now);
    const code: ScheduledCode = {
      id: randomBytes(8).toString('hex'),
      name,
      kind,
      slot: this.#freeSlot(),
      zone,
      windows,
      expiresAtMs,
      paused: input.paused === true,
      pin,
      pinHash: this.#d.hasher.hash(pin),
      removed: false,
      createdAtMs: now,
      updatedAtMs: now,
    };
    this.#commit(code, 'add', by, () => this.#d.repo.insert(code));
    return this.#view(code);
  }

  update(ref: string, patch: CodePatch, by: string): CodeView {
    const code = this.#find(ref);
    const now = this.#d.clock.now();
    const zone = patch.zone === undefined ? code.zone : this.#zone(patch.zone);
    const pin = patch.pin === undefined ? code.pin : this.#pin(patch.pin, code.id);
    const windows = patch.windows === undefined && patch.zone === undefined ? code.windows : this.#windows(patch.windows ?? code.windows, zone, now);
    const next: ScheduledCode = {
      ...code,
      name: patch.name === undefined ? code.name : this.#name(patch.name, code.id),
      kind: patch.kind === undefined ? code.kind : kindOf(patch.kind),
      pin,
      pinHash: pin === undefined ? code.pinHash : this.#d.hasher.hash(pin),
      zone,
      windows,
      expiresAtMs: patch.expiresAtMs === undefined ? code.expiresAtMs : patch.expiresAtMs === null ? undefined : expiry(patch.expiresAtMs, now),
      updatedAtMs: now,
    };
    if (next.pin === undefined && opensAgain(this.#d.times, next, now)) {
      throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `${code.name}: its PIN was erased when it expired; give a new one with the new windows`);
    }
    this.#commit(next, 'update', by, () => this.#d.repo.update(next));
    return this.#view(next);
  }

  pause(ref: string, by: string): CodeView {
    return this.#setPaused(ref, true, by);
  }

  resume(ref: string, by: string): CodeView {
    return this.#setPaused(ref, false, by);
  }

  remove(ref: string, by: string): CodeView {
    const code = this.#find(ref);
    const next: ScheduledCode = { ...code, removed: true, updatedAtMs: this.#d.clock.now() };
    this.#commit(next, 'remove', by, () => this.#d.repo.update(next));
    const view = this.#view(next);
    this.sweep();
    return view;
  }

  list(): CodeView[] {
    return [...this.#codes.values()].sort((a, b) => a.slot - b.slot).map((c) => this.#view(c));
  }

  /**
   * Drops what is no longer needed once the lock confirmed its slot empty: a removed code's row,
   * and the PIN of a code that can never open again (expired, or its one-off windows are over).
   */
  sweep(): void {
    const now = this.#d.clock.now();
    for (const code of [...this.#codes.values()]) {
      const st = this.#d.slots.status(code.slot);
      if (st.believed?.content !== 'empty' || st.inFlight !== undefined) continue;
      if (code.removed) {
        this.#write(() => this.#d.repo.delete(code.id));
        this.#codes.delete(code.id);
      } else if (code.pin !== undefined && !opensAgain(this.#d.times, code, now)) {
        const done: ScheduledCode = { ...code, pin: undefined, updatedAtMs: now };
        this.#commit(done, 'expire', 'schedule', () => this.#d.repo.update(done), false);
      }
    }
  }

  // --- checks -------------------------------------------------------------------------------

  #setPaused(ref: string, paused: boolean, by: string): CodeView {
    const code = this.#find(ref);
    if (code.paused === paused) return this.#view(code);
    const next: ScheduledCode = { ...code, paused, updatedAtMs: this.#d.clock.now() };
    this.#commit(next, paused ? 'pause' : 'resume', by, () => this.#d.repo.update(next));
    return this.#view(next);
  }

  #find(ref: string): ScheduledCode {
    const byId = CODE_ID.test(ref) ? this.#codes.get(ref) : undefined;
    const found = byId ?? [...this.#codes.values()].find((c) => !c.removed && c.name.toLowerCase() === ref.trim().toLowerCase());
    if (found === undefined || found.removed) throw new HubError(ErrorCode.SCHEDULE_CODE_UNKNOWN, `no code named ${JSON.stringify(ref.slice(0, 64))}`);
    return found;
  }

  #name(raw: string, self: string | undefined): string {
    const parsed = nameSchema.safeParse(raw);
    if (!parsed.success) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `name: ${parsed.error.issues[0]?.message ?? 'not acceptable'}`);
    const name = parsed.data;
    const taken = [...this.#codes.values()].some((c) => c.id !== self && !c.removed && c.name.toLowerCase() === name.toLowerCase());
    if (taken || CODE_ID.test(name)) throw new HubError(ErrorCode.SCHEDULE_NAME_TAKEN, `a code named ${JSON.stringify(name)} exists already`);
    return name;
  }

  #pin(pin: string, self: string | undefined): string {
    const { min, max } = this.#d.settings.pinDigits;
    // Never echo the PIN: only what is wrong with it.
    if (typeof pin !== 'string' || !/^[0-9]+$/.test(pin)) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, 'a PIN is digits only');
    if (pin.length < min || pin.length > max) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `a PIN is ${min}–${max} digits on this lock (got ${pin.length})`);
    const hash = this.#d.hasher.hash(pin);
    const other = [...this.#codes.values()].find((c) => c.id !== self && c.pinHash === hash);
    if (other !== undefined) throw new HubError(ErrorCode.SCHEDULE_PIN_TAKEN, `${other.name} has this PIN already: every code at the keypad must differ`);
    if (this.#d.slots.ownerPinHashes().has(hash)) throw new HubError(ErrorCode.SCHEDULE_PIN_TAKEN, 'one of the lock’s own codes is this PIN: every code at the keypad must differ');
    return pin;
  }

  #zone(zone: string | undefined): string {
    const z = zone ?? this.#d.settings.zone;
    if (z === undefined) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, 'no time zone: give the code one, or set schedule.zone for the home');
    if (z.length > 64 || !this.#d.times.knows(z)) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `${JSON.stringify(z.slice(0, 64))} is not a time zone (IANA, e.g. Europe/Berlin)`);
    return z;
  }

  #windows(windows: readonly CodeWindow[], zone: string, now: number): CodeWindow[] {
    const parsed = windowsSchema.safeParse(windows);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `windows${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'not acceptable'}`);
    }
    const plan = { zone, windows: parsed.data, expiresAtMs: undefined, paused: false };
    if (!opensAgain(this.#d.times, plan, now)) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, 'every window is over already');
    return parsed.data;
  }

  #freeSlot(): number {
    const { first, last } = this.#d.settings.slots;
    const used = new Set([...this.#codes.values()].map((c) => c.slot));
    const top = Math.min(last, this.#d.slots.lockSlotCount() ?? last);
    for (let slot = first; slot <= top; slot++) if (!used.has(slot)) return slot;
    const codes = [...this.#codes.values()];
    const now = this.#d.clock.now();
    const paused = codes.filter((c) => c.paused && !c.removed).length;
    const over = codes.filter((c) => !c.removed && !opensAgain(this.#d.times, c, now)).length;
    const removing = codes.filter((c) => c.removed).length;
    throw new HubError(
      ErrorCode.SCHEDULE_SLOTS_EXHAUSTED,
      `all ${top - first + 1} hub slots (${first}–${top}) are taken (${paused} paused, ${over} expired, ${removing} being cleared): remove a code first`,
    );
  }

  // --- writing ------------------------------------------------------------------------------

  #commit(code: ScheduledCode, action: 'add' | 'update' | 'pause' | 'resume' | 'remove' | 'expire', by: string, write: () => void, changed = true): void {
    const body = {
      codeId: code.id,
      name: code.name,
      kind: code.kind,
      slot: code.slot,
      action,
      ...(code.pin === undefined ? {} : { pinHash: code.pinHash }),
      by: by.slice(0, 64),
    };
    this.#write(() => {
      write();
      this.#d.audit.append({ type: 'code.change', body });
    });
    this.#codes.set(code.id, code);
    if (changed) this.#d.onChange();
  }

  #write(fn: () => void): void {
    try {
      this.#d.repo.write('full', fn);
    } catch (err) {
      if (err instanceof HubError && err.code === ErrorCode.AUDIT_WRITE_FAILED) this.#d.onAuditFailure(err);
      throw err;
    }
  }

  #view(code: ScheduledCode): CodeView {
    const now = this.#d.clock.now();
    const want = this.wantOf(code, now);
    const st = this.#d.slots.status(code.slot);
    const { state, why } = codeState({ want, status: st, removed: code.removed, opensAgain: !code.paused && opensAgain(this.#d.times, code, now) });
    return {
      id: code.id,
      name: code.name,
      kind: code.kind,
      slot: code.slot,
      zone: code.zone,
      windows: code.windows.map(formatWindow),
      expiresAtMs: code.expiresAtMs,
      paused: code.paused,
      removed: code.removed,
      pin: code.pin === undefined ? '(erased)' : maskPin(code.pin.length),
      pinHash: code.pinHash,
      state,
      why,
      open: want.content === 'code',
      nextChangeAtMs: code.removed ? undefined : nextEdge(this.#d.times, code, now),
      readBackAtMs: st.believed?.content === 'unknown' ? undefined : st.believed?.readAtMs,
    };
  }
}

function kindOf(kind: string): CodeKind {
  if (!(CODE_KINDS as readonly string[]).includes(kind)) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, `kind: expected ${CODE_KINDS.join(' or ')}`);
  return kind as CodeKind;
}

function expiry(atMs: number | undefined, now: number): number | undefined {
  if (atMs === undefined) return undefined;
  if (!Number.isSafeInteger(atMs) || atMs <= now) throw new HubError(ErrorCode.SCHEDULE_CODE_INVALID, 'an expiry must be a time in the future');
  return atMs;
}
