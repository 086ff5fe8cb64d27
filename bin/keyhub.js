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
  // Exists only after `npm run build`; a computed specifier keeps lint from resolving it.
  const compiled = new URL('../dist/hub/cli/main.js', import.meta.url);
  entry = await import(compiled.href);
}
await entry.main();
