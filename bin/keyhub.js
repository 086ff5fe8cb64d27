#!/usr/bin/env node
// `keyhub` entry. In a source checkout (hub/cli/main.ts present) it runs the TypeScript through
// tsx; in an installed package it runs the compiled dist/. Either way, main() does the work.
import { existsSync } from 'node:fs';

const source = new URL('../hub/cli/main.ts', import.meta.url);
let entry;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import(source.href);
} else {
  // eslint-disable-next-line import-x/no-unresolved -- exists only after `npm run build`
  entry = await import('../dist/hub/cli/main.js');
}
await entry.main();
