#!/usr/bin/env node
// `keyhub` entry. In a source checkout (hub/cli/main.ts present) it runs the TypeScript through
// tsx; in an installed package it runs the compiled dist/. Either way it first refuses a Node older
// than package.json engines.node (hub/system/runtime.ts), then main() does the work.
//
// `env node` is the first node on PATH: under npm scripts and npx that is node_modules/.bin/node,
// the Node 24 that `npm ci` installs from package.json; the systemd unit names that runtime itself.
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const source = new URL('hub/cli/main.ts', root);
let base;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  base = { runtime: new URL('hub/system/runtime.ts', root), main: source };
} else {
  // Exists only after `npm run build`; a computed specifier keeps lint from resolving it.
  base = { runtime: new URL('dist/hub/system/runtime.js', root), main: new URL('dist/hub/cli/main.js', root) };
}
const { exitUnlessSupportedRuntime } = await import(base.runtime.href);
exitUnlessSupportedRuntime(root);
const entry = await import(base.main.href);
await entry.main();
