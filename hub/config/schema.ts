import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { LogFormat, LogLevel } from '../system/logger.js';

/**
 * The one configuration schema of the daemon (DESIGN.md, Layout: "config/ one zod schema").
 *
 * Conventions, so that every later field reads the same:
 * - `z.strictObject` at every depth: an unknown key is an error, never silently ignored (a typo
 *   in a setting that guards a door must not fall back to a default unnoticed).
 * - Units live in names (`deadlineS`, `busyTimeoutMs`); bounds live in the schema, inclusive.
 * - A default that does not depend on the mode sits here (`.default()` on the leaf, `.prefault({})`
 *   on its object); a default that does (paths, log format, systemd) comes from `defaults.ts`,
 *   so the leaf here has none and is required.
 * - `.readonly()` on every object: the parsed config is frozen and typed readonly.
 * - `version` is the file format version; it is not a setting and has no env variable.
 */

/** The config file format this keyhub writes and understands. Bump it with a migration. */
export const CONFIG_VERSION = 1;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

export const configSchema = z
  .strictObject({
    version: z.int().min(1),
    /** Database, keys, clips. Made absolute before validation (see load.ts for the base). */
    stateDir: z
      .string()
      .min(1, { abort: true })
      .refine(isAbsolute, { message: 'expected an absolute path' }),
    log: z.strictObject({ level: z.enum(LOG_LEVELS), format: z.enum(LOG_FORMATS) }).readonly(),
    systemd: z.strictObject({ notify: z.boolean() }).readonly(),
    shutdown: z
      .strictObject({
        /** Time allowed for an orderly stop before the daemon exits anyway. */
        deadlineS: z.number().min(1).max(120).default(10),
      })
      .readonly()
      .prefault({}),
    store: z
      .strictObject({
        /** SQLite busy_timeout: how long a write waits for a lock held by another connection. */
        busyTimeoutMs: z.int().min(0).max(60_000).default(5000),
      })
      .readonly()
      .prefault({}),
  })
  .readonly();

export type HubConfig = z.infer<typeof configSchema>;

// The logger's option types and the schema's enums must not drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _levelsMatch: Same<HubConfig['log']['level'], LogLevel> = true;
const _formatsMatch: Same<HubConfig['log']['format'], LogFormat> = true;
