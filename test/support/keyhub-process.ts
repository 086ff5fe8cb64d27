import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const KEYHUB_BIN = fileURLToPath(new URL('../../bin/keyhub.js', import.meta.url));

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
export function runKeyhub(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Finished> {
  return finished(spawnKeyhub(args, env));
}

export function spawnKeyhub(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): ChildProcess {
  return spawn(process.execPath, [KEYHUB_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
