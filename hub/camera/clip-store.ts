import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import type { Store } from '../store/store.js';
import { playablePrefix } from './mp4-boxes.js';

/**
 * Clips on disk under `<state>/clips/` with their index in SQLite (migration 0003). A clip is
 * written as `<id>.mp4.part` and renamed when closed; at boot a `.part` left by a crash is trimmed
 * to its last whole fragment and kept (it is evidence), stray files are removed.
 */
export interface ClipRow {
  id: string;
  visitId: string | null;
  file: string;
  startedAtMs: number;
  endedAtMs: number | null;
  bytes: number;
  sha256: string | null;
  state: 'recording' | 'complete' | 'recovered';
}

export interface ClipStoreOptions {
  store: Store;
  dir: string;
  clock: Clock;
  log: Logger;
  /** All clips together. */
  quotaBytes: number;
  /** What visit clips may fill before the homeowner is alerted; they are never deleted for space. */
  visitQuotaBytes: number;
}

export interface QuotaOutcome {
  deleted: string[];
  /** Set when visit clips alone fill their share: the homeowner must act. */
  alert: HubError | undefined;
}

interface DbRow {
  id: string;
  visit_id: string | null;
  file: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  bytes: number;
  sha256: string | null;
  state: ClipRow['state'];
}

const toRow = (r: DbRow): ClipRow => ({ id: r.id, visitId: r.visit_id, file: r.file, startedAtMs: r.started_at_ms, endedAtMs: r.ended_at_ms, bytes: r.bytes, sha256: r.sha256, state: r.state });

export class ClipStore {
  readonly #opts: ClipStoreOptions;

  constructor(options: ClipStoreOptions) {
    this.#opts = options;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  }

  get dir(): string {
    return this.#opts.dir;
  }

  /** Registers a new clip; returns its id and the path to write to. */
  begin(visitId: string | undefined, startedAtMs: number): { id: string; partPath: string } {
    const id = `clip-${randomBytes(8).toString('hex')}`;
    this.#opts.store.write('normal', (db) =>
      db.prepare('INSERT INTO camera_clips (id, visit_id, file, started_at_ms, state) VALUES (?, ?, ?, ?, ?)').run(id, visitId ?? null, `${id}.mp4`, startedAtMs, 'recording'),
    );
    return { id, partPath: join(this.#opts.dir, `${id}.mp4.part`) };
  }

  /** Closes a clip: hashes the file, renames it into place, records its size and end. */
  complete(id: string, endedAtMs: number, state: 'complete' | 'recovered' = 'complete'): ClipRow {
    const part = join(this.#opts.dir, `${id}.mp4.part`);
    const final = join(this.#opts.dir, `${id}.mp4`);
    const bytes = readFileSync(part);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    fsyncPath(part);
    renameSync(part, final);
    fsyncPath(this.#opts.dir);
    this.#opts.store.write('full', (db) =>
      db.prepare('UPDATE camera_clips SET ended_at_ms = ?, bytes = ?, sha256 = ?, state = ? WHERE id = ?').run(endedAtMs, bytes.length, sha256, state, id),
    );
    const row = this.get(id);
    if (row === undefined) throw new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${id} vanished from the index`);
    return row;
  }

  get(id: string): ClipRow | undefined {
    const r = this.#opts.store.db.prepare('SELECT * FROM camera_clips WHERE id = ?').get(id) as DbRow | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  /** A visit's clips, in the order they were recorded (one more after each change of picture format). */
  byVisit(visitId: string): ClipRow[] {
    return (this.#opts.store.db.prepare('SELECT * FROM camera_clips WHERE visit_id = ? ORDER BY started_at_ms, rowid').all(visitId) as DbRow[]).map(toRow);
  }

  list(): ClipRow[] {
    return (this.#opts.store.db.prepare('SELECT * FROM camera_clips ORDER BY started_at_ms, id').all() as DbRow[]).map(toRow);
  }

  path(row: ClipRow): string {
    return join(this.#opts.dir, row.file);
  }

  /**
   * Boot-time clean-up: a clip still 'recording' was cut by a crash; trim its file to whole
   * fragments and keep it as 'recovered' (or drop it if nothing is playable). Files the index does
   * not know, and index rows whose file is gone, are removed.
   */
  recover(): { recovered: string[]; removed: string[] } {
    const recovered: string[] = [];
    const removed: string[] = [];
    for (const row of this.list().filter((r) => r.state === 'recording')) {
      const part = join(this.#opts.dir, `${row.id}.mp4.part`);
      const keep = existsSync(part) ? playablePrefix(readFileSync(part)) : 0;
      if (keep > 0) {
        truncateSync(part, keep);
        this.complete(row.id, this.#opts.clock.now(), 'recovered');
        recovered.push(row.id);
      } else {
        rmSync(part, { force: true });
        this.#delete(row.id);
        removed.push(row.id);
      }
    }
    const known = new Set(this.list().map((r) => r.file));
    for (const file of readdirSync(this.#opts.dir)) {
      if (known.has(file)) continue;
      rmSync(join(this.#opts.dir, file), { force: true });
      removed.push(file);
    }
    for (const row of this.list()) {
      if (!existsSync(this.path(row))) {
        this.#delete(row.id);
        removed.push(row.id);
      }
    }
    if (recovered.length + removed.length > 0) this.#opts.log.warn({ recovered, removed }, 'clip store cleaned up after an unclean stop');
    return { recovered, removed };
  }

  /** Oldest non-visit clips go first; visit clips are kept, and alert once they fill their share. */
  enforceQuota(): QuotaOutcome {
    const closed = this.list().filter((r) => r.state !== 'recording');
    let total = closed.reduce((s, r) => s + r.bytes, 0);
    const deleted: string[] = [];
    for (const row of closed) {
      if (total <= this.#opts.quotaBytes) break;
      if (row.visitId !== null) continue;
      rmSync(this.path(row), { force: true });
      this.#delete(row.id);
      deleted.push(row.id);
      total -= row.bytes;
    }
    const visitBytes = closed.filter((r) => r.visitId !== null).reduce((s, r) => s + r.bytes, 0);
    const alert =
      visitBytes >= this.#opts.visitQuotaBytes || total > this.#opts.quotaBytes
        ? new HubError(ErrorCode.CAMERA_CLIP_QUOTA_REACHED, `visit clips use ${visitBytes} bytes of their ${this.#opts.visitQuotaBytes}-byte share (all clips ${total} of ${this.#opts.quotaBytes}); export or delete old visit clips`)
        : undefined;
    if (deleted.length > 0) this.#opts.log.info({ deleted }, 'clip quota: removed oldest non-visit clips');
    if (alert !== undefined) this.#opts.log.warn({ err: alert.toLine() }, 'clip quota reached');
    return { deleted, alert };
  }

  /** Size on disk of a clip being written (for quota checks mid-visit). */
  partBytes(id: string): number {
    const part = join(this.#opts.dir, `${id}.mp4.part`);
    return existsSync(part) ? statSync(part).size : 0;
  }

  #delete(id: string): void {
    this.#opts.store.write('normal', (db) => db.prepare('DELETE FROM camera_clips WHERE id = ?').run(id));
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    // fsync through a read-only descriptor works on Linux for files and directories alike.
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    closeSync(fd);
  }
}
