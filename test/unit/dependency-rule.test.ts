import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** Lints `code` as if it lived at `filePath`, with the repository's own eslint config. */
async function lintAs(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: process.cwd() });
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const only = (messages: string[], rule: string) => messages.filter((m) => m.startsWith(rule));

describe('one-way dependencies (npm run lint)', () => {
  it('fails when protocols/ imports from hub/', async () => {
    const messages = await lintAs('protocols/grant/x.ts', "import { HubError } from '../../hub/system/errors.js';\nexport const e = HubError;\n");
    expect(only(messages, 'import-x/no-restricted-paths')).toHaveLength(1);
  });

  it('fails when hub/ imports the simulators or the tests', async () => {
    const fromSim = await lintAs('hub/store/x.ts', "import { x } from '../../sim/home/y.js';\nexport const z = x;\n");
    expect(fromSim.some((m) => m.includes('hub/ must not import the simulators'))).toBe(true);
    expect(only(fromSim, 'no-restricted-imports')).toHaveLength(1);
    const fromTest = await lintAs('hub/store/x.ts', "import { tempDir } from '../../test/support/temp-dir.js';\nexport const z = tempDir;\n");
    expect(only(fromTest, 'import-x/no-restricted-paths')).toHaveLength(1);
  });

  it('fails when a module imports the composition root, but lets the CLI do so', async () => {
    const fromModule = await lintAs('hub/store/x.ts', "import { runHub } from '../main.js';\nexport const r = runHub;\n");
    expect(only(fromModule, 'import-x/no-restricted-paths')).toHaveLength(1);
    const fromCli = await lintAs('hub/cli/commands/x.ts', "import { runHub } from '../../main.js';\nexport const r = runHub;\n");
    expect(only(fromCli, 'import-x/no-restricted-paths')).toEqual([]);
  });

  it('fails when protocols/ does I/O or reads the time', async () => {
    const messages = await lintAs('protocols/rtsp/x.ts', "import { readFileSync } from 'node:fs';\nexport const t = Date.now() + readFileSync.length;\n");
    expect(only(messages, 'no-restricted-imports')).toHaveLength(1);
    expect(only(messages, 'no-restricted-globals')).toHaveLength(1);
  });

  it('fails when sim/ runs hub code, but lets it name hub types', async () => {
    const code = await lintAs('sim/lock/x.ts', "import { systemClock } from '../../hub/system/clock.js';\nexport const c = systemClock();\n");
    expect(only(code, '@typescript-eslint/no-restricted-imports')).toHaveLength(1);
    const types = await lintAs('sim/lock/x.ts', "import type { Clock } from '../../hub/system/clock.js';\nexport const c = (clock: Clock) => clock.now();\n");
    expect(types).toEqual([]);
  });

  it('lets hub/ use protocols/ and its own rooms', async () => {
    const messages = await lintAs('hub/store/x.ts', "import { ErrorCode } from '../system/errors.js';\nexport const c = ErrorCode.STORE_OPEN_FAILED;\n");
    expect(messages).toEqual([]);
  });
});
