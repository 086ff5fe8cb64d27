// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';

/** Node modules that do I/O or keep time: protocols/ is pure code over bytes (DESIGN.md, Layout). */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'dgram', 'tls', 'http', 'https', 'http2', 'child_process', 'cluster',
  'worker_threads', 'timers', 'timers/promises', 'readline', 'os', 'process', 'dns',
].flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-unresolved': 'error',
      // One-way dependencies: protocols → hub → hub/main.ts (→ hub/cli). sim may use protocols and
      // the hub's types (below); nothing in hub/ or protocols/ may import sim/ or test/.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './protocols', from: './hub', message: 'protocols/ is pure and must not import hub/.' },
            { target: './protocols', from: './sim', message: 'protocols/ must not import sim/.' },
            { target: './protocols', from: './test', message: 'protocols/ must not import test/.' },
            { target: './hub', from: './sim', message: 'hub/ must not import the simulators.' },
            { target: './hub', from: './test', message: 'hub/ must not import tests.' },
            {
              target: './hub',
              from: './hub/main.ts',
              except: [],
              message: 'Only the CLI may import the composition root (hub/main.ts); modules get interfaces passed in.',
            },
          ],
        },
      ],
    },
  },
  {
    // Belt and braces for imports the resolver cannot follow (a file not written yet): by path shape.
    files: ['hub/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/sim/**', '**/test/**'], message: 'hub/ must not import the simulators or tests.' }] },
      ],
    },
  },
  {
    // The CLI sits above the composition root: `keyhub run` calls it.
    files: ['hub/cli/**'],
    rules: { 'import-x/no-restricted-paths': 'off' },
  },
  {
    files: ['hub/cli/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        { zones: [{ target: './hub/cli', from: './sim' }, { target: './hub/cli', from: './test' }] },
      ],
    },
  },
  {
    // sim/ is the other end of the wire: it runs protocols/ and may name the hub's types (the Clock
    // a test hands it), never the hub's code, so a simulator cannot agree with the hub by sharing
    // its bugs.
    files: ['sim/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/hub/**'], allowTypeImports: true, message: 'sim/ may import only types from hub/ (import type).' }] },
      ],
    },
  },
  {
    files: ['protocols/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_MODULES.map((name) => ({ name, message: 'protocols/ does no I/O.' })),
          patterns: [{ group: ['**/hub/**', '**/sim/**', '**/test/**'], message: 'protocols/ is pure: no hub/, sim/ or test/.' }],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'Date', 'performance', 'process'],
    },
  },
);
