import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, ExitCode, HubError } from './errors.js';
import { keyhubNodeRange } from './version.js';

/**
 * The Node runtime keyhub runs on is checked before anything native is loaded: better-sqlite3 13
 * is built for Node-API 10, which no Node 20 has, and there loading it crashes the process
 * (SIGSEGV) instead of throwing. A daemon that opens a front door says why it will not start.
 */

type Version = readonly [number, number, number];

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/** `MAJOR.MINOR.PATCH`, or undefined for anything else (a pre-release build included). */
export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** package.json `engines.node` in the one form keyhub writes it, `>=MAJOR.MINOR.PATCH`; else undefined. */
export function parseNodeRange(range: string): Version | undefined {
  return range.startsWith('>=') ? parseVersion(range.slice(2)) : undefined;
}

function atLeast(have: Version, min: Version): boolean {
  return (have[0] - min[0] || have[1] - min[1] || have[2] - min[2]) >= 0;
}

export interface RuntimeFacts {
  /** process.versions.node */
  node: string;
  /** process.execPath */
  execPath: string;
  /** package.json engines.node */
  range: string | undefined;
  /** The runtime `npm ci` put in node_modules/.bin, when it is there. */
  localNode: string | undefined;
}

/** Why this runtime cannot run keyhub, or null when it can. */
export function runtimeRefusal(facts: RuntimeFacts): HubError | null {
  if (facts.range === undefined) {
    return new HubError(ErrorCode.RUNTIME_UNSUPPORTED, "keyhub's package.json has no engines.node: cannot tell which Node it needs");
  }
  const min = parseNodeRange(facts.range);
  if (min === undefined) {
    return new HubError(ErrorCode.RUNTIME_UNSUPPORTED, `engines.node "${facts.range}" in keyhub's package.json is not of the form >=X.Y.Z`);
  }
  const have = parseVersion(facts.node);
  if (have !== undefined && atLeast(have, min)) return null;
  const fix =
    facts.localNode === undefined
      ? `run it with a Node ${facts.range} (npm ci installs one into node_modules/.bin on linux x64 and arm64)`
      : `run it with ${facts.localNode} (the runtime npm ci installed), or through npm start / npx keyhub`;
  return new HubError(ErrorCode.RUNTIME_UNSUPPORTED, `keyhub needs Node ${facts.range}; this is Node ${facts.node} (${facts.execPath}): ${fix}`);
}

/** The facts of this process; node_modules/.bin/node is looked for from `packageRoot`. */
export function currentRuntime(packageRoot: URL): RuntimeFacts {
  const local = fileURLToPath(new URL('node_modules/.bin/node', packageRoot));
  return {
    node: process.versions.node,
    execPath: process.execPath,
    range: keyhubNodeRange(),
    localNode: existsSync(local) ? local : undefined,
  };
}

/**
 * bin/keyhub.js calls this first. A wrong runtime is an installation problem a person must fix,
 * so it exits like a configuration error (78): systemd's RestartPreventExitStatus=78 then leaves
 * it stopped instead of restarting it into the same refusal.
 */
export function exitUnlessSupportedRuntime(packageRoot: URL): void {
  const refusal = runtimeRefusal(currentRuntime(packageRoot));
  if (refusal === null) return;
  process.stderr.write(`${refusal.toLine()}\n`);
  process.exit(ExitCode.CONFIG);
}
