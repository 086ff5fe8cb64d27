import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { ErrorCode, HubError } from '../system/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Where the numbered SQL files live; tsc does not copy them, so `npm run build` does. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Reads `NNNN_name.sql` files. Numbers must run 1, 2, 3… without gaps or repeats: a gap means a
 * broken install, and guessing would leave a database half-built.
 */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_NAME.exec(file);
    if (m === null) {
      throw new HubError(ErrorCode.STORE_MIGRATIONS_BROKEN, `migration file name ${file} is not NNNN_name.sql (in ${dir})`);
    }
    migrations.push({ version: Number(m[1]), name: m[2] ?? file, sql: readFileSync(join(dir, file), 'utf8') });
  }
  migrations.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new HubError(ErrorCode.STORE_MIGRATIONS_BROKEN, `migrations in ${dir} must be numbered 1..N without gaps; found ${mig.version} at position ${i + 1}`);
    }
  });
  return migrations;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

export function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the schema from its `user_version` to the latest in one IMMEDIATE transaction: either
 * every pending migration applies, or (on any error) none does and the version is unchanged.
 * SQLite DDL and `PRAGMA user_version` are both transactional, so the rollback is whole.
 */
export function applyMigrations(db: Database, migrations: readonly Migration[], path: string): { from: number; to: number } {
  const from = userVersion(db);
  const to = latestVersion(migrations);
  if (from > to) throw newerSchemaError(path, from, to);
  if (from === to) return { from, to };
  const pending = migrations.filter((m) => m.version > from);
  let current: Migration | undefined;
  try {
    db.transaction(() => {
      for (const mig of pending) {
        current = mig;
        db.exec(mig.sql);
        db.pragma(`user_version = ${mig.version}`);
      }
    }).immediate();
  } catch (err) {
    const which = current === undefined ? '' : ` ${String(current.version).padStart(4, '0')}_${current.name}`;
    throw new HubError(
      ErrorCode.STORE_MIGRATION_FAILED,
      `database ${path}: migration${which} failed (${(err as Error).message}); rolled back, schema stays at version ${from}`,
      { cause: err },
    );
  }
  return { from, to };
}

export function newerSchemaError(path: string, found: number, known: number): HubError {
  return new HubError(
    ErrorCode.STORE_NEWER_SCHEMA,
    `database ${path} has schema version ${found}, newer than this keyhub knows (${known}); it was left untouched — run the keyhub version that wrote it, or restore a backup`,
  );
}
