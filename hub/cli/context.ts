import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Clock } from '../system/clock.js';

/** What every command gets: the process's surroundings, passed in so commands stay testable. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** A command file's default export: adds its command(s) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export interface GlobalOptions {
  dev?: boolean;
  config?: string;
  stateDir?: string;
}

export function modeOf(globals: GlobalOptions, env: NodeJS.ProcessEnv): 'production' | 'dev' {
  if (globals.dev === true) return 'dev';
  return env['KEYHUB_MODE'] === 'dev' ? 'dev' : 'production';
}

/** Which CLI flag set each overridden config path, for error messages. */
export const OVERRIDE_FLAGS = { stateDir: '--state-dir' } as const;

export function overridesOf(globals: GlobalOptions): Record<string, unknown> {
  return globals.stateDir === undefined ? {} : { stateDir: globals.stateDir };
}

/** Loads the config the way `keyhub run` would, from the global flags. */
export function loadCliConfig(globals: GlobalOptions, ctx: CliContext): LoadedConfig {
  return loadConfig({
    mode: modeOf(globals, ctx.env),
    path: globals.config,
    env: ctx.env,
    cwd: ctx.cwd,
    overrides: overridesOf(globals),
    overrideFlags: OVERRIDE_FLAGS,
  });
}
