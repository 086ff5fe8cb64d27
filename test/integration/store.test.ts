import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hubId } from '../../hub/store/daemon-runs.js';
import { MIGRATIONS_DIR, readMigrations } from '../../hub/store/migrate.js';
import { openStore } from '../../hub/store/store.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

const log = silentLog();
const open = (path: string, migrationsDir?: string) => openStore({ path, busyTimeoutMs: 1000, log, migrationsDir });

/** A migrations folder holding the given files. */
function migrationsFolder(files: Record<string, string>): string {
  const folder = join(dir.path, `migrations-${Object.keys(files).length}-${Math.random().toString(16).slice(2)}`);
  mkdirSync(folder);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(folder, name), sql);
  return folder;
}

const THREE = {
  '0001_a.sql': 'CREATE TABLE a (x INTEGER) STRICT;',
  '0002_b.sql': 'CREATE TABLE b (y TEXT) STRICT; INSERT INTO a VALUES (2);',
  '0003_c.sql': 'ALTER TABLE b ADD COLUMN z INTEGER;',
};

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('store', () => {
  it('creates a fresh database at the latest schema, in WAL mode, with a hub id', async () => {
    const store = await open(join(dir.path, 'state', 'keyhub.db'));
    expect(store.schemaVersion).toBe(readMigrations().length);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(hubId(store)).toMatch(/^kh-[0-9a-f]{16}$/);
    store.close();
  });

  it('migrates the shipped schema from every older version to the latest', async () => {
    const shipped = readMigrations(MIGRATIONS_DIR);
    for (let from = 0; from < shipped.length; from++) {
      const path = join(dir.path, `from-${from}.db`);
      const db = new BetterSqlite3(path);
      for (const mig of shipped.slice(0, from)) {
        db.exec(mig.sql);
        db.pragma(`user_version = ${mig.version}`);
      }
      db.close();
      const store = await open(path);
      expect(store.schemaVersion, `from version ${from}`).toBe(shipped.length);
      expect(() => hubId(store)).not.toThrow();
      store.close();
    }
  });

  it('migrates from each older version of a longer history, keeping the data', async () => {
    for (const from of [1, 2]) {
      const path = join(dir.path, `hist-${from}.db`);
      const partial = Object.fromEntries(Object.entries(THREE).slice(0, from));
      (await open(path, migrationsFolder(partial))).close();
      const store = await open(path, migrationsFolder(THREE));
      expect(store.schemaVersion).toBe(3);
      expect(store.db.prepare('SELECT count(*) AS n FROM a').get()).toEqual({ n: 1 });
      expect(store.db.prepare('SELECT * FROM b').all()).toEqual([]);
      store.close();
    }
  });

  it('backs up a database before migrating it', async () => {
    const path = join(dir.path, 'k.db');
    (await open(path, migrationsFolder({ '0001_a.sql': THREE['0001_a.sql'] }))).close();
    (await open(path, migrationsFolder(THREE))).close();
    const copy = `${path}.pre-v3.bak`;
    expect(existsSync(copy)).toBe(true);
    const old = new BetterSqlite3(copy, { readonly: true });
    expect(old.pragma('user_version', { simple: true })).toBe(1);
    old.close();
  });

  it('rolls a failing migration back whole, leaving the version and tables as they were', async () => {
    const path = join(dir.path, 'k.db');
    (await open(path, migrationsFolder({ '0001_a.sql': THREE['0001_a.sql'] }))).close();
    const broken = migrationsFolder({
      '0001_a.sql': THREE['0001_a.sql'],
      '0002_b.sql': 'CREATE TABLE b (y TEXT) STRICT;',
      '0003_bad.sql': 'CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1);',
    });
    const err = await open(path, broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe(ErrorCode.STORE_MIGRATION_FAILED);
    expect((err as HubError).message).toContain('0003_bad');
    expect((err as HubError).message).toContain('stays at version 1');
    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['a']);
    db.close();
  });

  it('refuses a database from a newer keyhub and leaves its bytes untouched', async () => {
    const path = join(dir.path, 'k.db');
    const db = new BetterSqlite3(path);
    db.exec('CREATE TABLE future (x INTEGER)');
    db.pragma('user_version = 99');
    db.close();
    const before = sha256(path);
    const err = await open(path).catch((e: unknown) => e);
    expect((err as HubError).code).toBe(ErrorCode.STORE_NEWER_SCHEMA);
    expect((err as HubError).message).toMatch(/schema version 99, newer than this keyhub knows \(\d+\)/);
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
    const check = new BetterSqlite3(path, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('refuses a migrations folder with a gap in its numbering', async () => {
    const folder = migrationsFolder({ '0001_a.sql': THREE['0001_a.sql'], '0003_c.sql': THREE['0003_c.sql'] });
    const err = await open(join(dir.path, 'k.db'), folder).catch((e: unknown) => e);
    expect((err as HubError).code).toBe(ErrorCode.STORE_MIGRATIONS_BROKEN);
  });

  it('refuses a migration file that is not named NNNN_name.sql', async () => {
    const folder = migrationsFolder({ '1_a.sql': THREE['0001_a.sql'] });
    const err = await open(join(dir.path, 'k.db'), folder).catch((e: unknown) => e);
    expect((err as HubError).code).toBe(ErrorCode.STORE_MIGRATIONS_BROKEN);
  });

  it('reports a file that is not a database as a store error', async () => {
    const path = join(dir.path, 'k.db');
    writeFileSync(path, 'this is not sqlite, just text long enough to have a header............');
    const err = await open(path).catch((e: unknown) => e);
    expect((err as HubError).code).toBe(ErrorCode.STORE_OPEN_FAILED);
  });

  it('writes durable transactions with synchronous FULL and goes back to NORMAL after', async () => {
    const store = await open(join(dir.path, 'k.db'));
    const seen = store.write('full', (db) => db.pragma('synchronous', { simple: true }));
    expect(seen).toBe(2); // FULL
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    expect(() =>
      store.write('full', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    store.close();
  });

  it('nests a write in a write as one transaction at the outer durability, and refuses a FULL write inside a NORMAL one', async () => {
    const store = await open(join(dir.path, 'k.db'));
    const insert = (key: string) => store.db.prepare('INSERT INTO meta VALUES (?, ?)').run(key, 'v');
    const seen = store.write('full', () => {
      insert('a');
      return store.write('full', (db) => {
        insert('b');
        return db.pragma('synchronous', { simple: true });
      });
    });
    expect(seen).toBe(2); // FULL, from the outer write
    expect(() =>
      store.write('full', () => {
        insert('c');
        store.write('normal', () => insert('d'));
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(() => store.write('normal', () => store.write('full', () => insert('e')))).toThrow(/cannot nest inside a NORMAL/);
    expect(store.db.prepare("SELECT key FROM meta WHERE key IN ('a', 'b', 'c', 'd', 'e') ORDER BY key").pluck().all()).toEqual(['a', 'b']);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    store.close();
  });

  it('rolls back a write whose function throws', async () => {
    const store = await open(join(dir.path, 'k.db'));
    expect(() =>
      store.write('normal', (db) => {
        db.prepare("INSERT INTO meta VALUES ('x', 'y')").run();
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(store.db.prepare("SELECT count(*) AS n FROM meta WHERE key = 'x'").get()).toEqual({ n: 0 });
    store.close();
  });

  it('makes an online backup that opens as a copy of the live database', async () => {
    const store = await open(join(dir.path, 'k.db'));
    store.write('normal', (db) => db.prepare("INSERT INTO meta VALUES ('note', 'before backup')").run());
    const copy = join(dir.path, 'backup.db');
    await store.backup(copy);
    const db = new BetterSqlite3(copy, { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'note'").pluck().get()).toBe('before backup');
    expect(db.prepare("SELECT value FROM meta WHERE key = 'hub_id'").pluck().get()).toBe(hubId(store));
    db.close();
    store.close();
  });

  it('reports a failed backup as a store error', async () => {
    const store = await open(join(dir.path, 'k.db'));
    const err = await store.backup(join(dir.path, 'no', 'such', 'dir', 'b.db')).catch((e: unknown) => e);
    expect((err as HubError).code).toBe(ErrorCode.STORE_BACKUP_FAILED);
    store.close();
  });

  it('opens a copied database file with the same identity', async () => {
    const path = join(dir.path, 'k.db');
    const store = await open(path);
    const id = hubId(store);
    store.close();
    copyFileSync(path, join(dir.path, 'copy.db'));
    const again = await open(join(dir.path, 'copy.db'));
    expect(hubId(again)).toBe(id);
    again.close();
  });
});
