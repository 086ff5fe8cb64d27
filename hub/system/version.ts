import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface KeyhubPackage {
  name?: string;
  version?: string;
  engines?: { node?: string };
}

/** The package.json above this file whose name is keyhub (works from source and from dist/). */
function keyhubPackage(): KeyhubPackage | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as KeyhubPackage;
      if (pkg.name === 'keyhub') return pkg;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** keyhub's own version. */
export function keyhubVersion(): string {
  const version = keyhubPackage()?.version;
  return typeof version === 'string' ? version : '0.0.0-unknown';
}

/** The Node versions keyhub supports: package.json `engines.node`, undefined when it is missing. */
export function keyhubNodeRange(): string | undefined {
  const range = keyhubPackage()?.engines?.node;
  return typeof range === 'string' ? range : undefined;
}
