import { configSchema } from './schema.js';
import { leavesOf, type LeafKind } from './introspect.js';

/**
 * `KEYHUB_*` environment overrides, derived from the schema: every leaf setting has exactly one
 * variable. Segments go camelCase → SCREAMING_SNAKE, nesting is a double underscore:
 *   log.level → KEYHUB_LOG__LEVEL · shutdown.deadlineS → KEYHUB_SHUTDOWN__DEADLINE_S.
 * An unknown `KEYHUB_*` variable is an error, as an unknown key in the file is, except the
 * reserved ones below, which select the config rather than set a value in it.
 */

export const ENV_PREFIX = 'KEYHUB_';
/** `KEYHUB_CONFIG`: path of the config file. `KEYHUB_MODE`: production | dev (read by the CLI). */
export const RESERVED_ENV_VARS: readonly string[] = ['KEYHUB_CONFIG', 'KEYHUB_MODE'];

/** The file format version is a property of the file, not a setting one can override. */
const NOT_SETTINGS = new Set(['version']);

export interface ConfigEnvVar {
  readonly name: string;
  /** Dotted path in the config, e.g. `shutdown.deadlineS`. */
  readonly path: string;
  readonly kind: LeafKind;
  /** What a valid value looks like, e.g. "a number from 1 to 120". */
  readonly expected: string;
}

/** `busyTimeoutMs` → `BUSY_TIMEOUT_MS`, `deadlineS` → `DEADLINE_S`. */
export function screamingSnake(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

export function envVarName(path: readonly string[]): string {
  return ENV_PREFIX + path.map(screamingSnake).join('__');
}

/** Every settable variable with its path and type, in schema order (for docs and `keyhub config env`). */
export function listConfigEnvVars(): readonly ConfigEnvVar[] {
  return leavesOf(configSchema)
    .filter((leaf) => !NOT_SETTINGS.has(leaf.path[0] ?? ''))
    .map((leaf) => ({ name: envVarName(leaf.path), path: leaf.path.join('.'), kind: leaf.kind, expected: leaf.expected }));
}

/**
 * A text value (env variable, or a CLI flag given as text) read by the leaf's type. A text that
 * does not read as that type is returned unchanged, so validation reports it with the same
 * "expected …" line as any other wrong value.
 */
export function parseTextValue(kind: LeafKind, text: string): unknown {
  const trimmed = text.trim();
  switch (kind) {
    case 'number':
    case 'integer': {
      const n = Number(trimmed);
      return trimmed !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      return text;
    }
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    case 'string':
    case 'enum':
      return text;
  }
}

export interface EnvSetting {
  readonly name: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

export interface EnvReading {
  readonly settings: readonly EnvSetting[];
  /** One line per unknown `KEYHUB_*` variable. */
  readonly problems: readonly string[];
}

/**
 * The settings given by `KEYHUB_*` variables. An empty value counts as unset (`Environment=X=`
 * in a unit, or `X= keyhub …` in a shell, is how one clears a variable).
 */
export function readEnvSettings(env: NodeJS.ProcessEnv): EnvReading {
  const byName = new Map(listConfigEnvVars().map((v) => [v.name, v]));
  const settings: EnvSetting[] = [];
  const problems: string[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV_VARS.includes(name)) continue;
    const known = byName.get(name);
    if (known === undefined) {
      problems.push(`${name} (from environment): unknown variable; no setting has this name`);
      continue;
    }
    if (text === undefined || text === '') continue;
    settings.push({ name, path: known.path.split('.'), value: parseTextValue(known.kind, text) });
  }
  return { settings, problems };
}
