/**
 * vitest globalSetup: compiles this checkout once per run (hub, protocols, sim and test, emit
 * only: `npm run typecheck` does the checking), so every child process a test starts runs plain
 * JavaScript as an installed hub does, instead of paying tsx's ~1.2 s of transpiling per spawn.
 *
 * The build starts in the background and tests that spawn wait for it (test/support/built.ts);
 * a run of unit tests alone never waits. It lands in test-results/build/<hash of the sources>/:
 * the same sources are built once, however many runs (even two at the same time) need them,
 * because each builds into a directory of its own and the first to finish renames it into place.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { processAlive } from '../../hub/control/status.js';
import { BUILD_DONE, BUILD_FAILED, BUILT_DIR_ENV, REPO_ROOT } from '../support/built.js';

const SOURCES = ['hub', 'protocols', 'sim', 'test'];
const CONFIG_FILES = ['tsconfig.json', 'package.json'];
/** Builds of other sources left by earlier runs go once they are this old. */
const STALE_MS = 6 * 3_600_000;

export default function setup(): () => void {
  const target = join(REPO_ROOT, 'test-results', 'build', sourceHash());
  process.env[BUILT_DIR_ENV] = target;
  removeStale(join(REPO_ROOT, 'test-results', 'build'), target);
  if (existsSync(join(target, BUILD_DONE))) return () => {};
  const work = `${target}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  rmSync(`${target}${BUILD_FAILED}`, { force: true });
  const tsc = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noCheck', '--noEmit', 'false', '--outDir', work], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  tsc.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
  tsc.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
  tsc.on('close', (code) => finish(code, output, work, target));
  return () => stop(tsc, work);
}

function finish(code: number | null, output: string, work: string, target: string): void {
  if (code !== 0) {
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(`${target}${BUILD_FAILED}`, `tsc exited ${code}:\n${output}`);
    rmSync(work, { recursive: true, force: true });
    return;
  }
  // What tsc does not emit: the SQL migrations beside their loader, the camera clips the sim reads.
  cpSync(join(REPO_ROOT, 'hub', 'store', 'migrations'), join(work, 'hub', 'store', 'migrations'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'test', 'fixtures'), join(work, 'test', 'fixtures'));
  writeFileSync(join(work, BUILD_DONE), '');
  try {
    renameSync(work, target);
  } catch {
    // A run beside this one finished the same build first: use that one.
    rmSync(work, { recursive: true, force: true });
  }
}

function stop(tsc: ChildProcess, work: string): void {
  if (tsc.exitCode === null && tsc.signalCode === null) {
    tsc.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}

/** SHA-256 over every source and config file's path and bytes. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const files = [...SOURCES.flatMap((dir) => filesUnder(join(REPO_ROOT, dir))), ...CONFIG_FILES.map((f) => join(REPO_ROOT, f))].sort();
  for (const file of files) {
    hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : filesUnder(path);
    return /\.(ts|sql)$/.test(entry.name) ? [path] : [];
  });
}

/** Old builds of other sources, and the leftovers of a run that died while building. */
function removeStale(root: string, keep: string): void {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (path === keep) continue;
    const building = /\.tmp-(\d+)$/.exec(name);
    if (building !== null && processAlive(Number(building[1]))) continue;
    if (building !== null || Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
  }
}
