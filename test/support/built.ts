/**
 * The compiled checkout test/setup/build-once.ts makes for child processes, and how to run one of
 * this checkout's TypeScript entry points in a child: its compiled .js once the build is there,
 * through tsx when there is none (a bench, or a test run outside vitest).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Set by the globalSetup for the workers it starts. Not KEYHUB_*: the config refuses unknown ones. */
export const BUILT_DIR_ENV = 'KH_TEST_BUILD_DIR';
export const BUILD_DONE = 'BUILT';
export const BUILD_FAILED = '.failed';

/** Waits for this run's build; undefined when no build was asked for. */
export async function builtDir(timeoutMs = 300_000): Promise<string | undefined> {
  const dir = process.env[BUILT_DIR_ENV];
  if (dir === undefined || dir === '') return undefined;
  const end = Date.now() + timeoutMs;
  while (!existsSync(join(dir, BUILD_DONE))) {
    if (existsSync(`${dir}${BUILD_FAILED}`)) throw new Error(`the test build failed: see ${dir}${BUILD_FAILED}`);
    if (Date.now() > end) throw new Error(`the test build did not finish within ${timeoutMs / 1000} s (${dir})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return dir;
}

/** Node's arguments to run `source` (a .ts file of this checkout) in a child process. */
export async function nodeArgsFor(source: string): Promise<string[]> {
  const dir = await builtDir();
  if (dir === undefined) return ['--import', 'tsx', source];
  return [join(dir, relative(REPO_ROOT, source).replace(/\.ts$/, '.js'))];
}
