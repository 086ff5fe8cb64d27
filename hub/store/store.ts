import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { ErrorCode, HubError, isHubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import { applyMigrations, latestVersion, newerSchemaError, readMigrations, userVersion } from './migrate.js';

/**
 * How hard a write must reach the disk before it returns.
 * - `normal`: WAL + synchronous=NORMAL. Never corrupts; a power cut may lose the last commits.
 * - `full`: synchronous=FULL, the WAL is fsynced at commit. For security events (audit entries,
 *   consumed grants): once the call returns, the record survives a power cut.
 * SQLite sets synchronous per connection, so a `full` write switches it around its transaction.
 */
export type Durability = 'normal' | 'full';

export interface StoreOptions {
  path: string;
  busyTimeoutMs: number;
  log: Logger;
  /** Override for tests: a directory of NNNN_name.sql files. */
  migrationsDir?: string;
}

export interface Store {
  readonly path: string;
  readonly db: Database;
  readonly schemaVersion: number;
  /** Runs `fn` in an IMMEDIATE transaction with the given durability; returns its result. */
  write<T>(durability: Durability, fn: (db: Database) => T): T;
  /** Consistent copy of the live database through SQLite's online backup API. */
  backup(destination: string): Promise<void>;
  close(): void;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  const { path, log } = options;
  const migrations = readMigrations(options.migrationsDir);
  const known = latestVersion(migrations);
  const existed = existsSync(path);

  // Look before touching: a database from a newer keyhub is refused with its bytes unchanged
  // (no WAL switch, no migration, no -wal file written).
  if (existed) {
    const found = peekVersion(path);
    if (found > known) throw newerSchemaError(path, found, known);
  } else {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }

  let db: Database;
  try {
    db = new BetterSqlite3(path, { timeout: options.busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new HubError(ErrorCode.STORE_OPEN_FAILED, `cannot open database ${path}: ${(err as Error).message}`, { cause: err });
  }

  try {
    const before = userVersion(db);
    if (existed && before > 0 && before < known) {
      const copy = `${path}.pre-v${known}.bak`;
      await backupTo(db, copy);
      log.info({ copy, from: before, to: known }, 'backed up database before migrating');
    }
    const { from, to } = applyMigrations(db, migrations, path);
    if (from !== to) log.info({ path, from, to }, 'database schema migrated');
  } catch (err) {
    db.close();
    throw err;
  }

  const schemaVersion = userVersion(db);
  // Made once: a transaction wrapper made per write cost about as much as a small audit insert
  // (test/bench/audit.bench.ts). The PRAGMAs cannot be prepared once: SQLite applies
  // `synchronous = X` while compiling the statement, so a re-run prepared one changes nothing.
  const transaction = db.transaction(<T>(fn: (db: Database) => T): T => fn(db));
  /** The durability of the write in progress on this connection, if any. */
  let outer: Durability | undefined;
  return {
    path,
    db,
    schemaVersion,
    write<T>(durability: Durability, fn: (db: Database) => T): T {
      if (outer !== undefined) {
        // Nested (a savepoint): it commits with the outermost write, at that write's durability.
        // SQLite refuses to change `synchronous` inside a transaction, and a FULL write inside a
        // NORMAL one would silently commit at NORMAL: that is a bug of the caller, said at once.
        if (durability === 'full' && outer === 'normal') throw new Error('a synchronous=FULL write cannot nest inside a NORMAL one');
        return transaction(fn) as T;
      }
      outer = durability;
      try {
        if (durability === 'normal') return transaction.immediate(fn) as T;
        db.pragma('synchronous = FULL');
        try {
          return transaction.immediate(fn) as T;
        } finally {
          db.pragma('synchronous = NORMAL');
        }
      } finally {
        outer = undefined;
      }
    },
    backup: (destination) => backupTo(db, destination),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * The database opened read-only, as it is (no migration, no WAL switch), for a reader beside or
 * instead of the daemon (`keyhub status` with no daemon answering). Undefined when there is no
 * database yet or it is not at this keyhub's schema: then only a normal open can read it.
 */
export function openStoreReadOnly(path: string, migrationsDir?: string): Store | undefined {
  if (!existsSync(path)) return undefined;
  const known = latestVersion(readMigrations(migrationsDir));
  if (peekVersion(path) !== known) return undefined;
  let db: Database;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new HubError(ErrorCode.STORE_OPEN_FAILED, `cannot open database ${path} read-only: ${(err as Error).message}`, { cause: err });
  }
  return {
    path,
    db,
    schemaVersion: known,
    write() {
      throw new HubError(ErrorCode.STORE_OPEN_FAILED, `database ${path} is open read-only here`);
    },
    backup: (destination) => backupTo(db, destination),
    close: () => {
      if (db.open) db.close();
    },
  };
}

function peekVersion(path: string): number {
  let peek: Database | undefined;
  try {
    peek = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    return userVersion(peek);
  } catch (err) {
    if (isHubError(err)) throw err;
    throw new HubError(ErrorCode.STORE_OPEN_FAILED, `cannot read database ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    peek?.close();
  }
}

async function backupTo(db: Database, destination: string): Promise<void> {
  try {
    await db.backup(destination);
  } catch (err) {
    throw new HubError(ErrorCode.STORE_BACKUP_FAILED, `backup of ${db.name} to ${destination} failed: ${(err as Error).message}`, { cause: err });
  }
}
