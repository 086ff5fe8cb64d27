import { dirname, isAbsolute, resolve } from 'node:path';
import { ErrorCode, HubError } from '../system/errors.js';
import { defaultConfigPath, modeDefaults, type ConfigMode } from './defaults.js';
import { parseTextValue, readEnvSettings } from './env.js';
import { readConfigFile } from './file.js';
import { fieldsOf, kindOf, schemaAt } from './introspect.js';
import {
  deepFreeze,
  leafPaths,
  mergeLayer,
  nestAt,
  pathKey,
  type ConfigSource,
  type Origins,
  type RawObject,
} from './layers.js';
import { CONFIG_MIGRATIONS, migrateRaw, type ConfigMigration } from './migrations.js';
import { blockedLine, formatValue, problemLines } from './problems.js';
import { CONFIG_VERSION, configSchema, type HubConfig } from './schema.js';

export interface LoadConfigOptions {
  readonly mode: ConfigMode;
  /** `--config`. Without it, `KEYHUB_CONFIG`, then the mode's default place. Relative to `cwd`. */
  readonly path?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /**
   * From CLI flags, highest precedence, by dotted path: `{ stateDir: './x', 'log.level': 'warn' }`.
   * Text values are read by the setting's type, as env values are. Undefined values are skipped.
   */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** The flag that gave each override, for messages; defaults to `--state-dir`, `--log-level`, … */
  readonly overrideFlags?: Readonly<Record<string, string>>;
  /** Defaults to the real list; tests pass their own. */
  readonly migrations?: readonly ConfigMigration[];
  /** Defaults to CONFIG_VERSION; tests simulate a later format to exercise migrations. */
  readonly currentVersion?: number;
}

export interface LoadedConfig {
  readonly config: HubConfig;
  readonly mode: ConfigMode;
  /** The file looked for (absolute), whether or not it was there. */
  readonly path: string;
  readonly fileFound: boolean;
  /** The file's version when it was older and migrated in memory (the file is not rewritten). */
  readonly migratedFrom?: number;
  /** Where each leaf value came from, by dotted path (`log.level`). */
  readonly sources: Readonly<Record<string, ConfigSource>>;
}

/**
 * The daemon's configuration: mode defaults < file < `KEYHUB_*` env < overrides, migrated,
 * validated, and frozen. Throws HubError CONFIG_* (exit 78 via exitCodeFor) listing every problem
 * found, one line each.
 *
 * A relative `stateDir` is resolved against the directory of the file that says it (so a config
 * file can sit next to its state, and means the same wherever keyhub is started from), and
 * against `cwd` when it comes from env or a flag (as a shell user expects).
 */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const currentVersion = opts.currentVersion ?? CONFIG_VERSION;
  const named = opts.path ?? nonEmpty(opts.env.KEYHUB_CONFIG);
  const path = named === undefined ? defaultConfigPath(opts.mode, opts.env, opts.cwd) : resolve(opts.cwd, named);
  const file = readConfigFile(path, named !== undefined);

  const problems: string[] = [];
  const origins: Origins = new Map();
  const defaults = modeDefaults(opts.mode, opts.env, opts.cwd);
  const merged: RawObject = {};
  const blocked = mergeLayer(merged, defaults.layer, { kind: 'default' }, origins);
  origins.set('stateDir', defaults.stateDirSource);

  let migratedFrom: number | undefined;
  if (file.found) {
    const fileSource: ConfigSource = { kind: 'file', path };
    const version = fileVersion(file.raw, path, currentVersion, problems);
    if (version !== undefined) {
      const migrations = opts.migrations ?? CONFIG_MIGRATIONS;
      const { version: _version, ...settings } = migrateRaw(file.raw, { fileVersion: version, currentVersion, migrations, path });
      if (version < currentVersion) migratedFrom = version;
      blocked.push(...mergeLayer(merged, settings, fileSource, origins));
      origins.set('version', fileSource);
    }
  }

  const env = readEnvSettings(opts.env);
  problems.push(...env.problems);
  for (const setting of env.settings) {
    blocked.push(...mergeLayer(merged, nestAt(setting.path, setting.value), { kind: 'env', name: setting.name }, origins));
  }

  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value === undefined) continue;
    const source: ConfigSource = { kind: 'override', key, flag: opts.overrideFlags?.[key] ?? flagFor(key) };
    if (key === 'version') {
      problems.push(`version = ${formatValue(value)} (from ${source.flag}): the format version comes from the file`);
      continue;
    }
    const keyPath = key.split('.');
    blocked.push(...mergeLayer(merged, nestAt(keyPath, readOverride(keyPath, value)), source, origins));
  }
  problems.push(...blocked.map((b) => blockedLine(b, merged)));

  resolveStateDir(merged, origins, opts.cwd);
  merged.version = currentVersion;

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) problems.push(...problemLines(configSchema, parsed.error.issues, merged, origins));
  if (problems.length > 0 || !parsed.success) {
    const n = problems.length;
    throw new HubError(ErrorCode.CONFIG_INVALID, `configuration has ${n} problem${n === 1 ? '' : 's'}`, { details: problems });
  }

  const sources: Record<string, ConfigSource> = {};
  for (const leaf of leafPaths(parsed.data as RawObject)) {
    sources[pathKey(leaf)] = origins.get(pathKey(leaf)) ?? { kind: 'default' };
  }
  return deepFreeze({
    config: parsed.data,
    mode: opts.mode,
    path,
    fileFound: file.found,
    ...(migratedFrom === undefined ? {} : { migratedFrom }),
    sources,
  });
}

/**
 * The file's format version. A file without one is refused rather than guessed at: guessing
 * "current" would skip migrations an old file needs, guessing "1" would run them over a new one.
 */
function fileVersion(raw: RawObject, path: string, currentVersion: number, problems: string[]): number | undefined {
  const version = raw.version;
  if (version === undefined) {
    problems.push(`version (from ${path}): missing; a config file starts with "version": ${currentVersion}`);
    return undefined;
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    problems.push(`version = ${formatValue(version)} (from ${path}): expected an integer >= 1`);
    return undefined;
  }
  return version;
}

/** A flag given as text (`--shutdown-deadline-s 5`) is read by the setting's type. */
function readOverride(path: readonly string[], value: unknown): unknown {
  const leaf = schemaAt(configSchema, path);
  if (typeof value !== 'string' || leaf === undefined || fieldsOf(leaf) !== undefined) return value;
  return parseTextValue(kindOf(leaf), value);
}

/** `stateDir` → `--state-dir`, `log.level` → `--log-level`. */
function flagFor(key: string): string {
  return `--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/\./g, '-').toLowerCase()}`;
}

function resolveStateDir(merged: RawObject, origins: Origins, cwd: string): void {
  const stateDir = merged.stateDir;
  if (typeof stateDir !== 'string' || stateDir === '' || isAbsolute(stateDir)) return;
  const source = origins.get('stateDir');
  merged.stateDir = resolve(source?.kind === 'file' ? dirname(source.path) : cwd, stateDir);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
