#!/usr/bin/env node
/**
 * The installer's `keyhub` command. Each file in ./commands/ default-exports a RegisterCommand;
 * adding a command is adding a file. Failures print one line (plus details) and exit with the
 * sysexits code of their range (78 for configuration).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { systemClock } from '../system/clock.js';
import { exitCodeFor } from '../system/errors.js';
import { writeFailure } from '../main.js';
import { keyhubVersion } from '../system/version.js';
import type { CliContext, RegisterCommand } from './context.js';

const COMMAND_FILE = /^[a-z][a-z0-9-]*\.(ts|js)$/;

export async function buildProgram(ctx: CliContext): Promise<Command> {
  const program = new Command('keyhub')
    .description('keyhub: the in-home delivery hub daemon and its installer tools')
    .version(keyhubVersion())
    .option('--dev', 'development mode: ./.keyhub/ state, pretty logs, no sd_notify')
    .option('--config <path>', 'config file (default /etc/keyhub/config.json, or ./.keyhub/config.json with --dev)')
    .option('--state-dir <dir>', 'state directory (overrides the config file)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });

  const dir = fileURLToPath(new URL('./commands/', import.meta.url));
  const files = readdirSync(dir).filter((f) => COMMAND_FILE.test(f)).sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default?: RegisterCommand };
    if (typeof mod.default !== 'function') throw new Error(`command file ${file} has no default export`);
    mod.default(program, ctx);
  }
  return program;
}

export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = await buildProgram(ctx);
  try {
    await program.parseAsync(argv as string[]);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    writeFailure(ctx.stderr, err);
    return exitCodeFor(err);
  }
}

/** Runs the CLI on this process and exits with its code. */
export async function main(): Promise<never> {
  const code = await runCli(process.argv, {
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock(),
    stdout: process.stdout,
    stderr: process.stderr,
  });
  process.exit(code);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
