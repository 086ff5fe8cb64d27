import { z } from 'zod';

/**
 * The audit log's event types: a closed, versioned set. An event of a type not listed here, or with
 * a body that does not match its schema exactly (no unknown keys), is refused at append and at
 * verification alike.
 *
 * Versions: set v1 is every type without `since` (downlink.refusals included: it was hashed as v1
 * before sets had versions); set v2 adds the keypad-code types (`since: 2`).
 * A record's hashed `v` is the version of the set that defined its type, so entries of v1 types
 * hash exactly as they did before v2 existed (old logs and exports still verify), and an entry of a
 * newer type says which set a verifier needs to read it. Types are only ever added; a body schema
 * never changes once shipped.
 *
 * Bodies hold only what canonical CBOR and JSON both carry losslessly (strings, safe integers,
 * booleans, nested objects), so an exported JSON line re-encodes to the very bytes that were hashed.
 * Ids and keys are lowercase hex strings; times are integer milliseconds.
 *
 * `security` events are written with synchronous=FULL before the action they record is reported
 * done (a power cut must not lose the record of an unlock); the others may ride on WAL +
 * synchronous=NORMAL.
 */
/** The newest event set this file defines. */
export const AUDIT_EVENT_VERSION = 2;

const hex = (max: number) => z.string().regex(/^(?:[0-9a-f]{2})+$/, 'lowercase hex').max(max);
const text = (max = 200) => z.string().max(max);
const ms = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const transport = z.enum(['ble', 'cloud', 'lan', 'keypad', 'cli']);
const seq = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const downlinkKind = z.enum(['grants', 'revocations', 'keys', 'commands', 'time']);
const stallReason = z.enum(['silence', 'disconnected', 'frozen-picture', 'frozen-timestamps']);

/** Most (kind, reason) pairs one `downlink.refusals` entry lists. */
export const MAX_REFUSAL_KINDS = 64;

/** Keypad codes (hub/schedule): ids are 8 random bytes; a PIN only ever appears as its keyed hash. */
const codeId = hex(16);
const pinHash = hex(16);
const slot = z.int().min(1).max(255);
const codeKind = z.enum(['guest', 'service']);
const reason = z.int().min(0).max(999);
/**
 * The states of a visit (hub/delivery), in the order a delivery goes through them, then its ends.
 * A `visit` entry records each step; the journal (hub/store/visit-journal.ts) keeps the same names.
 */
export const VISIT_STATES = [
  'requested',
  'verifying',
  'camera-arming',
  'unlocking',
  'open',
  'relocking',
  'confirming',
  'post-roll',
  'done',
  'refused',
  'left-outside',
  'relock-failed',
  'door-left-open',
  'camera-stalled',
  'aborted',
] as const;
export type VisitState = (typeof VISIT_STATES)[number];

/** Why a visit took a step that no request asked for (or which request did). */
export const VISIT_CAUSES = ['courier', 'entry-timer', 'camera-stall', 'door-closed', 'unlock-failed', 'retry', 'lock-report', 'boot-recovery', 'shutdown'] as const;
export type VisitCause = (typeof VISIT_CAUSES)[number];

/** What the homeowner is alerted to at the door. */
export const ALARM_KINDS = ['door-forced-open', 'door-ajar', 'door-left-open', 'relock-failed', 'camera-stalled'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export const AUDIT_EVENTS = {
  /** An access decision: allow, or refuse with the 2xx reason code the courier and owner also see. */
  decision: {
    security: true,
    body: z.strictObject({
      outcome: z.enum(['allow', 'refuse']),
      reason: z.int().min(0).max(999),
      reasonName: text(64).optional(),
      transport,
      grantId: hex(64).optional(),
      subject: text(128).optional(),
      visitId: hex(64).optional(),
    }),
  },
  /** The lock confirmed the bolt's position after a command or on its own (manual, keypad, auto). */
  bolt: {
    security: true,
    body: z.strictObject({
      state: z.enum(['locked', 'unlocked']),
      // `hub`: the lock reported a move by a hub command that no caller waited for any more (it
      // confirmed after its command timed out). `camera-stall`: a visit relocked at a camera stall.
      // `shutdown`: the daemon relocked an open visit's door on its way down.
      by: z.enum(['grant', 'owner', 'cloud-command', 'relock-timer', 'auto-lock', 'manual', 'keypad', 'schedule', 'boot-recovery', 'hub', 'camera-stall', 'shutdown']),
      grantId: hex(64).optional(),
      slot: z.int().min(0).max(999).optional(),
      visitId: hex(64).optional(),
    }),
  },
  /** A lock or unlock command without a confirmed outcome (timeout, jam, refusal). */
  'bolt.failed': {
    security: true,
    body: z.strictObject({ wanted: z.enum(['locked', 'unlocked']), code: z.int().min(0).max(999), detail: text().optional(), visitId: hex(64).optional() }),
  },
  jam: { security: true, body: z.strictObject({ during: z.enum(['lock', 'unlock', 'idle']), visitId: hex(64).optional() }) },
  door: { security: true, body: z.strictObject({ state: z.enum(['open', 'closed']), visitId: hex(64).optional() }) },
  /** Pictures stopped: one entry per outage, from its last picture (hub/camera/liveness.ts gives the reasons). */
  'camera.stall': { security: false, body: z.strictObject({ silentMs: ms, reason: stallReason.optional(), visitId: hex(64).optional() }) },
  /** Pictures came back: the outage's length, from its last picture to the first new one. */
  'camera.recovered': { security: false, body: z.strictObject({ outageMs: ms, reason: stallReason.optional(), visitId: hex(64).optional() }) },
  clip: {
    security: false,
    // `recovered`: cut short by a crash or a failed write, kept up to its last whole fragment.
    body: z.strictObject({
      clipId: text(64),
      state: z.enum(['started', 'finished', 'recovered', 'deleted']),
      visitId: hex(64).optional(),
      sha256: hex(64).optional(),
      bytes: ms.optional(),
    }),
  },
  /** One step of a visit (hub/delivery); the visit journal holds the same step with this entry's seq. */
  visit: {
    security: true,
    body: z.strictObject({
      visitId: hex(64),
      state: z.enum(VISIT_STATES),
      reason: z.int().min(0).max(999).optional(),
      reasonName: text(64).optional(),
      cause: z.enum(VISIT_CAUSES).optional(),
      grantId: hex(64).optional(),
      lockId: text(64).optional(),
      transport: transport.optional(),
    }),
  },
  /** Something at the door the homeowner must hear about now. */
  alarm: {
    security: true,
    body: z.strictObject({ kind: z.enum(ALARM_KINDS), visitId: hex(64).optional(), code: z.int().min(0).max(999).optional() }),
  },
  'config.change': { security: true, body: z.strictObject({ paths: z.array(text(128)).max(64), by: text(64) }) },
  /** A keyring, revocation list or root key change (accepted or not: a refusal is also on record). */
  'key.update': {
    security: true,
    body: z.strictObject({
      what: z.enum(['keyring', 'revocations', 'root', 'hub-key']),
      version: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
      accepted: z.boolean(),
      reason: z.int().min(0).max(999).optional(),
    }),
  },
  pairing: {
    security: true,
    body: z.strictObject({ device: text(128), kind: z.enum(['lock', 'owner-device', 'camera']), outcome: z.enum(['paired', 'refused', 'removed']) }),
  },
  /** A downlink payload (grant, revocation list, keyring, command, time) and what the hub made of it. */
  downlink: {
    security: true,
    body: z.strictObject({
      kind: downlinkKind,
      id: text(128).optional(),
      outcome: z.enum(['accepted', 'duplicate', 'refused']),
      reason: z.int().min(0).max(999).optional(),
      detail: text().optional(),
    }),
  },
  /**
   * Downlink refusals past the first of their kind in an interval, counted instead of recorded one
   * by one, so a flood of garbage cannot flood the log: how many, of which kinds (topic and reason
   * code), the audit head when the first and the last of them arrived (they fall after those
   * entries and before this one), and when.
   */
  'downlink.refusals': {
    security: true,
    body: z.strictObject({
      count: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
      kinds: z
        .array(z.strictObject({ kind: downlinkKind, reason: z.int().min(0).max(999), count: z.int().min(1).max(Number.MAX_SAFE_INTEGER) }))
        .min(1)
        .max(MAX_REFUSAL_KINDS),
      firstSeq: seq,
      lastSeq: seq,
      firstAtMs: ms,
      lastAtMs: ms,
    }),
  },
  boot: { security: false, body: z.strictObject({ version: text(64), uncleanBefore: z.int().min(0).max(1_000_000) }) },
  shutdown: { security: false, body: z.strictObject({ reason: text() }) },
  /** The clock floor moved up (a signed time, or a persisted later wall time). */
  'clock.floor': { security: true, body: z.strictObject({ fromMs: ms, toMs: ms, source: z.enum(['signed-time', 'persisted', 'grant']) }) },
  /** A retention prune removed acked events up to `throughSeq`; the checkpoint there anchors the rest. */
  prune: { security: true, body: z.strictObject({ throughSeq: z.int().min(1).max(Number.MAX_SAFE_INTEGER), count: z.int().min(1) }) },

  // --- set v2: keypad codes on a schedule (hub/schedule) ---------------------------------------
  /** A guest or service code was added, changed, paused, resumed, removed, or reached its expiry. */
  'code.change': {
    since: 2,
    security: true,
    body: z.strictObject({
      codeId,
      name: text(64),
      kind: codeKind,
      slot,
      action: z.enum(['add', 'update', 'pause', 'resume', 'remove', 'expire']),
      pinHash: pinHash.optional(),
      by: text(64),
    }),
  },
  /** A hub slot set or cleared and read back (confirmed), or the first failure of a run of them. */
  'code.slot': {
    since: 2,
    security: true,
    body: z.strictObject({
      slot,
      action: z.enum(['set', 'clear']),
      outcome: z.enum(['confirmed', 'failed']),
      codeId: codeId.optional(),
      pinHash: pinHash.optional(),
      /** The 3xx code of a failure. */
      reason: reason.optional(),
      attempts: z.int().min(1).max(1_000_000).optional(),
    }),
  },
  /** A hub slot read back from the lock held something other than what the hub last confirmed. */
  'code.drift': {
    since: 2,
    security: true,
    body: z.strictObject({
      slot,
      /** missing: the code is gone (lock reset); changed: another code (keypad); foreign: a code in a slot the hub left empty; unconfirmed: a set or clear that never landed. */
      what: z.enum(['missing', 'changed', 'foreign', 'unconfirmed']),
      codeId: codeId.optional(),
      foundHash: pinHash.optional(),
    }),
  },
  /** The bolt was opened at the keypad: by which code (named), or the owner's, master or an unknown one. */
  'code.used': {
    since: 2,
    security: true,
    body: z.strictObject({
      who: z.enum(['code', 'owner', 'master', 'unknown']),
      slot: slot.optional(),
      codeId: codeId.optional(),
      name: text(64).optional(),
      kind: codeKind.optional(),
      inWindow: z.boolean().optional(),
    }),
  },
  /** Something at the keypad needs the homeowner: a code used out of its window, an unknown code, wrong codes, a clear that keeps failing. */
  'code.alarm': {
    since: 2,
    security: true,
    body: z.strictObject({
      alarm: z.enum(['out-of-window', 'unknown-code', 'wrong-codes', 'keypad-locked-out', 'clear-failing']),
      slot: slot.optional(),
      codeId: codeId.optional(),
      count: z.int().min(1).max(1_000_000).optional(),
    }),
  },
} as const;

export type AuditEventType = keyof typeof AUDIT_EVENTS;
export type AuditBody<T extends AuditEventType> = z.infer<(typeof AUDIT_EVENTS)[T]['body']>;
export const AUDIT_EVENT_TYPES = Object.keys(AUDIT_EVENTS) as AuditEventType[];

/** An event as a module hands it to the log: the log adds seq, times and the chain. */
export type AuditEvent = { [T in AuditEventType]: { type: T; body: AuditBody<T> } }[AuditEventType];

export function isAuditEventType(type: string): type is AuditEventType {
  return Object.hasOwn(AUDIT_EVENTS, type);
}

/** The event set version that defined `type` (1 for a type this file does not know: it is refused elsewhere). */
export function eventVersion(type: string): number {
  if (!isAuditEventType(type)) return 1;
  const spec = AUDIT_EVENTS[type];
  return 'since' in spec ? spec.since : 1;
}

export function isSecurityEvent(type: AuditEventType): boolean {
  return AUDIT_EVENTS[type].security;
}

export type EventCheck = { ok: true; event: AuditEvent } | { ok: false; problem: string };

/** Checks a (type, body) pair against the closed v1 set; returns the parsed event or the problem. */
export function checkEvent(type: string, body: unknown): EventCheck {
  if (!isAuditEventType(type)) return { ok: false, problem: `unknown audit event type ${JSON.stringify(type).slice(0, 80)}` };
  const parsed = AUDIT_EVENTS[type].body.safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, problem: `${type} body: ${first?.path.join('.') || '(root)'} ${first?.message ?? 'invalid'}` };
  }
  return { ok: true, event: { type, body: parsed.data } as AuditEvent };
}
