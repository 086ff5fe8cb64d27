import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../hub/system/errors.js';
import { parseNodeRange, runtimeRefusal } from '../../hub/system/runtime.js';
import { keyhubNodeRange } from '../../hub/system/version.js';
import { KEYHUB_BIN, cleanEnv, finished } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';

/**
 * The operating system's own node (Debian's image here ships Node 20, which npm itself runs on) is
 * what an installer gets when they start bin/keyhub.js by hand instead of through the runtime
 * npm ci installed. It must be refused with a line saying what to do, never left to crash.
 */
const SYSTEM_NODES = ['/usr/bin/node', '/usr/local/bin/node'];
const range = keyhubNodeRange() ?? '';

function olderSystemNode(): { path: string; version: string } | undefined {
  for (const path of SYSTEM_NODES) {
    if (!existsSync(path)) continue;
    const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (runtimeRefusal({ node: version, execPath: path, range, localNode: undefined }) !== null) return { path, version };
  }
  return undefined;
}

const older = olderSystemNode();

describe('bin/keyhub.js on an unsupported Node', () => {
  it.runIf(older !== undefined)(`exits ${ExitCode.CONFIG} with E820 before opening the store (${older?.path ?? 'no older node here'})`, async () => {
    expect(parseNodeRange(range)).toBeDefined();
    const dir = tempDir('keyhub-runtime-');
    try {
      const child = spawn(older?.path ?? '', [KEYHUB_BIN, '--state-dir', dir.path, 'status', '--json'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      const out = await finished(child);
      expect(out.signal).toBeNull();
      expect(out.code).toBe(ExitCode.CONFIG);
      expect(out.stdout).toBe('');
      expect(out.stderr).toContain(`E820 RUNTIME_UNSUPPORTED: keyhub needs Node ${range}; this is Node ${older?.version} (${older?.path})`);
      // The refusal comes before the store: nothing was created in the state directory.
      expect(existsSync(`${dir.path}/keyhub.db`)).toBe(false);
    } finally {
      dir.cleanup();
    }
  });
});
