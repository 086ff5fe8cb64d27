import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeArgsFor, REPO_ROOT } from './built.js';

/** The installed entry point (bin/keyhub.js: tsx in a checkout, dist/ in a package). */
export const KEYHUB_BIN = fileURLToPath(new URL('../../bin/keyhub.js', import.meta.url));
const CLI_SOURCE = join(REPO_ROOT, 'hub', 'cli', 'main.ts');

/** The environment of a test child: this process's, minus anything KEYHUB_* or systemd's. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('KEYHUB_') || ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'STATE_DIRECTORY', 'CONFIGURATION_DIRECTORY'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `keyhub …args` to completion. */
export async function runKeyhub(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Finished> {
  return finished(await spawnKeyhub(args, env));
}

/**
 * Starts `keyhub …args`: the compiled CLI of this run's build (what an installed hub runs, without
 * tsx's start-up cost), or the source through tsx outside vitest.
 */
export async function spawnKeyhub(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<ChildProcess> {
  return spawn(process.execPath, [...(await nodeArgsFor(CLI_SOURCE)), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
