import { ErrorCode, HubError } from '../system/errors.js';

/**
 * Config file format migrations: pure functions on the raw JSON, run before validation, one per
 * version step, in order from the file's version up to the current one. Loading never writes the
 * file back; `keyhub` reports `migratedFrom` so the installer can update the file deliberately.
 *
 * A migration `from: n` turns a version-n object into a version-(n+1) one; the runner sets
 * `version` itself, so a migration only moves settings.
 */
export interface ConfigMigration {
  readonly from: number;
  readonly describe: string;
  migrate(raw: Record<string, unknown>): Record<string, unknown>;
}

/** The real list. Empty: version 1 is the first format. Append, never edit a shipped entry. */
export const CONFIG_MIGRATIONS: readonly ConfigMigration[] = [];

export interface MigrateOptions {
  readonly fileVersion: number;
  readonly currentVersion: number;
  readonly migrations: readonly ConfigMigration[];
  /** The file, for messages. */
  readonly path: string;
}

/** Refuse a file this keyhub cannot read: written by a newer keyhub. */
export function assertNotNewer(fileVersion: number, currentVersion: number, path: string): void {
  if (fileVersion <= currentVersion) return;
  throw new HubError(
    ErrorCode.CONFIG_NEWER_VERSION,
    `configuration file ${path} is version ${fileVersion}; this keyhub understands versions up to ${currentVersion}`,
    { details: ['upgrade keyhub, or use a configuration written for this version'] },
  );
}

/** The raw file object brought to `currentVersion`. The input is not modified. */
export function migrateRaw(raw: Record<string, unknown>, opts: MigrateOptions): Record<string, unknown> {
  const { fileVersion, currentVersion, migrations, path } = opts;
  assertNotNewer(fileVersion, currentVersion, path);
  const steps = planSteps(migrations, fileVersion, currentVersion, path);
  let current = structuredClone(raw);
  for (const step of steps) {
    let next: unknown;
    try {
      next = step.migrate(current);
    } catch (err) {
      throw new HubError(ErrorCode.CONFIG_INVALID, `configuration file ${path} could not be migrated`, {
        cause: err,
        details: [`version ${step.from} → ${step.from + 1} (${step.describe}): ${err instanceof Error ? err.message : String(err)}`],
      });
    }
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new Error(`config migration from version ${step.from} (${step.describe}) did not return an object`);
    }
    current = { ...(next as Record<string, unknown>), version: step.from + 1 };
  }
  return current;
}

/** The migrations to run, checked for a complete chain before any of them runs. */
function planSteps(
  migrations: readonly ConfigMigration[],
  fileVersion: number,
  currentVersion: number,
  path: string,
): ConfigMigration[] {
  const steps: ConfigMigration[] = [];
  for (let version = fileVersion; version < currentVersion; version++) {
    const found = migrations.filter((m) => m.from === version);
    if (found.length > 1) throw new Error(`config migrations: ${found.length} migrations from version ${version}`);
    const step = found[0];
    if (step === undefined) {
      throw new HubError(
        ErrorCode.CONFIG_MIGRATION_MISSING,
        `no migration from config version ${version} to ${version + 1}`,
        { details: [`${path} is version ${fileVersion}; this keyhub understands version ${currentVersion}`] },
      );
    }
    steps.push(step);
  }
  return steps;
}
