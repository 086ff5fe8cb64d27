/**
 * The keypad schedule's tables (migration 0006): codes, what each hub slot last read back as, and
 * the key of the PINs' keyed hash. Plain SQL behind a narrow interface; hub/schedule decides what
 * to write. Rows are validated on the way out as on the way in: a row that does not parse is a
 * damaged or tampered database, said at once (STORE_SCHEDULE_INVALID), never guessed around.
 */
import { randomBytes } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { windowsSchema, type ScheduledCode } from '../schedule/model.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Durability, Store } from './store.js';

export type SlotContent = 'empty' | 'code' | 'unknown';

/** What a hub slot held when the lock last confirmed it. */
export interface SlotRecord {
  slot: number;
  content: SlotContent;
  /** Keyed hash of the code read back; undefined when empty, unknown, or the lock masks codes. */
  pinHash: string | undefined;
  readAtMs: number;
}

interface CodeRow {
  code_id: string;
  name: string;
  kind: string;
  slot: number;
  zone: string;
  windows: string;
  expires_at_ms: number | null;
  paused: number;
  pin: string | null;
  pin_hash: string;
  removed: number;
  created_at_ms: number;
  updated_at_ms: number;
}

const kindSchema = z.enum(['guest', 'service']);

export class ScheduleStore {
  readonly #store: Store;
  readonly #all: Statement;
  readonly #insert: Statement;
  readonly #update: Statement;
  readonly #delete: Statement;
  readonly #slots: Statement;
  readonly #putSlot: Statement;

  constructor(store: Store) {
    this.#store = store;
    const db = store.db;
    this.#all = db.prepare('SELECT * FROM schedule_codes ORDER BY slot');
    this.#insert = db.prepare(
      `INSERT INTO schedule_codes (code_id, name, kind, slot, zone, windows, expires_at_ms, paused, pin, pin_hash, removed, created_at_ms, updated_at_ms)
       VALUES (@code_id, @name, @kind, @slot, @zone, @windows, @expires_at_ms, @paused, @pin, @pin_hash, @removed, @created_at_ms, @updated_at_ms)`,
    );
    this.#update = db.prepare(
      `UPDATE schedule_codes SET name = @name, kind = @kind, zone = @zone, windows = @windows, expires_at_ms = @expires_at_ms, paused = @paused,
       pin = @pin, pin_hash = @pin_hash, removed = @removed, updated_at_ms = @updated_at_ms WHERE code_id = @code_id`,
    );
    this.#delete = db.prepare('DELETE FROM schedule_codes WHERE code_id = ?');
    this.#slots = db.prepare('SELECT slot, content, pin_hash, read_at_ms FROM schedule_slots');
    this.#putSlot = db.prepare(
      `INSERT INTO schedule_slots (slot, content, pin_hash, read_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (slot) DO UPDATE SET content = excluded.content, pin_hash = excluded.pin_hash, read_at_ms = excluded.read_at_ms`,
    );
  }

  /** Runs `fn` in one transaction (an audit append inside joins it). */
  write<T>(durability: Durability, fn: () => T): T {
    return this.#store.write(durability, () => fn());
  }

  codes(): ScheduledCode[] {
    return (this.#all.all() as CodeRow[]).map(toCode);
  }

  insert(code: ScheduledCode): void {
    this.#insert.run(toRow(code));
  }

  update(code: ScheduledCode): void {
    const { changes } = this.#update.run(toRow(code));
    if (changes !== 1) throw new HubError(ErrorCode.SCHEDULE_CODE_UNKNOWN, `no stored code ${code.id}`);
  }

  delete(codeId: string): void {
    this.#delete.run(codeId);
  }

  slots(): Map<number, SlotRecord> {
    const out = new Map<number, SlotRecord>();
    for (const r of this.#slots.all() as { slot: number; content: string; pin_hash: string | null; read_at_ms: number }[]) {
      const content = r.content === 'empty' || r.content === 'code' ? r.content : 'unknown';
      out.set(r.slot, { slot: r.slot, content, pinHash: r.pin_hash ?? undefined, readAtMs: r.read_at_ms });
    }
    return out;
  }

  putSlot(record: SlotRecord): void {
    this.#putSlot.run(record.slot, record.content, record.pinHash ?? null, record.readAtMs);
  }

  /** The keyed hash's key, made on first use (32 random bytes). */
  hashKey(): Buffer {
    const db: Database = this.#store.db;
    const row = db.prepare('SELECT hash_key FROM schedule_secret WHERE id = 1').get() as { hash_key: Buffer } | undefined;
    if (row !== undefined) return row.hash_key;
    const key = randomBytes(32);
    this.#store.write('full', () => db.prepare('INSERT OR IGNORE INTO schedule_secret (id, hash_key) VALUES (1, ?)').run(key));
    return (db.prepare('SELECT hash_key FROM schedule_secret WHERE id = 1').get() as { hash_key: Buffer }).hash_key;
  }
}

function toRow(c: ScheduledCode): CodeRow {
  return {
    code_id: c.id,
    name: c.name,
    kind: c.kind,
    slot: c.slot,
    zone: c.zone,
    windows: JSON.stringify(c.windows),
    expires_at_ms: c.expiresAtMs ?? null,
    paused: c.paused ? 1 : 0,
    pin: c.pin ?? null,
    pin_hash: c.pinHash,
    removed: c.removed ? 1 : 0,
    created_at_ms: c.createdAtMs,
    updated_at_ms: c.updatedAtMs,
  };
}

function toCode(r: CodeRow): ScheduledCode {
  let windows: unknown;
  try {
    windows = JSON.parse(r.windows);
  } catch {
    windows = undefined;
  }
  const parsedWindows = windowsSchema.safeParse(windows);
  const kind = kindSchema.safeParse(r.kind);
  if (!parsedWindows.success || !kind.success) {
    throw new HubError(ErrorCode.STORE_SCHEDULE_INVALID, `stored code ${r.code_id} (slot ${r.slot}) does not parse: ${parsedWindows.success ? 'kind' : 'windows'}`);
  }
  return {
    id: r.code_id,
    name: r.name,
    kind: kind.data,
    slot: r.slot,
    zone: r.zone,
    windows: parsedWindows.data,
    expiresAtMs: r.expires_at_ms ?? undefined,
    paused: r.paused === 1,
    pin: r.pin ?? undefined,
    pinHash: r.pin_hash,
    removed: r.removed === 1,
    createdAtMs: r.created_at_ms,
    updatedAtMs: r.updated_at_ms,
  };
}
