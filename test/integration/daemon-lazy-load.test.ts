/**
 * What the daemon loads is what its config uses: a hub's memory is shared with zwave-js and the
 * camera, and code it never runs is resident all the same. Each case runs the real `keyhub run`
 * with a Node preload that lists every package it resolved (ESM imports through a module.register
 * resolve hook, CommonJS requires from require.cache at exit), then stops it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../hub/cloud/pki.js';
import { ExitCode } from '../../hub/system/errors.js';
import { nodeArgsFor, REPO_ROOT } from '../support/built.js';
import { freePort } from '../support/free-port.js';
import { cleanEnv, finished } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

/** The preload: writes one resolved URL or CommonJS file name per line to `out`. */
function tracePreload(out: string): string {
  const hook = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(out)}, r.url + '\\n');
  return r;
}`;
  return `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join('\\n') + '\\n'));
`;
}

/** The packages (by name, scoped ones whole) in a trace. */
function packagesIn(trace: string): Set<string> {
  const names = new Set<string>();
  for (const line of trace.split('\n')) {
    const at = line.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const parts = line.slice(at + 'node_modules/'.length).split('/');
    names.add(parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
  }
  return names;
}

/** Runs `keyhub run` (production mode) on `config` until ready, stops it, and returns what it loaded. */
async function packagesLoadedBy(config: Record<string, unknown>): Promise<Set<string>> {
  const dir = tempDir();
  try {
    const trace = join(dir.path, 'trace.txt');
    const preload = join(dir.path, 'trace.mjs');
    writeFileSync(preload, tracePreload(trace));
    const configPath = join(dir.path, 'config.json');
    writeFileSync(configPath, JSON.stringify({ version: 1, log: { level: 'info', format: 'json' }, ...config }));
    const cli = await nodeArgsFor(join(REPO_ROOT, 'hub', 'cli', 'main.ts'));
    const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, ...cli, '--config', configPath, '--state-dir', join(dir.path, 'state'), 'run'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await until(() => stderr.includes('keyhub ready'), 'the daemon ready', 30_000);
    child.kill('SIGTERM');
    const out = await done;
    expect(out.code, out.stderr).toBe(ExitCode.OK);
    expect(existsSync(trace)).toBe(true);
    return packagesIn(readFileSync(trace, 'utf8'));
  } finally {
    dir.cleanup();
  }
}

/** Packages only a cloud, the embedded broker, a BLE lock, Z-Wave or pretty logs need. */
const CLOUD = ['mqtt'];
const EMBEDDED_BROKER = ['aedes', '@peculiar/x509', 'reflect-metadata'];
const BLE_LOCK = ['@stoprocent/noble', 'tweetnacl'];
const OTHERS = ['zwave-js', '@zwave-js/core', 'pino-pretty'];

describe('keyhub run loads only what its config uses', () => {
  it('a hub with no cloud and no lock, logging JSON, loads neither mqtt.js, aedes, the PKI library, noble, tweetnacl, zwave-js nor pino-pretty', { timeout: 60_000 }, async () => {
    const loaded = await packagesLoadedBy({});
    // The trace sees packages at all: the store's and the logger's are there.
    expect(loaded).toContain('better-sqlite3');
    expect(loaded).toContain('pino');
    for (const name of [...CLOUD, ...EMBEDDED_BROKER, ...BLE_LOCK, ...OTHERS]) expect(loaded, name).not.toContain(name);
  });

  it('a hub on a real broker loads mqtt.js but not the embedded broker (aedes) nor the PKI library', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    try {
      const nowMs = Date.now();
      const ca = await createCertificateAuthority({ commonName: 'lazy-load test CA', nowMs });
      const hub = await ca.issue({ commonName: 'kh-lazy', usage: 'client', nowMs });
      const files = { caFile: join(dir.path, 'ca.pem'), certFile: join(dir.path, 'hub.pem'), keyFile: join(dir.path, 'hub.key') };
      writeFileSync(files.caFile, ca.cert);
      writeFileSync(files.certFile, hub.cert);
      writeFileSync(files.keyFile, hub.key);
      // Nothing listens there: the link keeps retrying, and the hub is ready regardless (it works offline).
      const loaded = await packagesLoadedBy({ cloud: { broker: 'external', url: `mqtts://127.0.0.1:${await freePort()}`, ...files } });
      expect(loaded).toContain('mqtt');
      for (const name of [...EMBEDDED_BROKER, ...BLE_LOCK, ...OTHERS]) expect(loaded, name).not.toContain(name);
    } finally {
      dir.cleanup();
    }
  });

  it('pretty logs load pino-pretty (a CommonJS require: the trace sees those too)', { timeout: 60_000 }, async () => {
    const loaded = await packagesLoadedBy({ log: { level: 'info', format: 'pretty' } });
    expect(loaded).toContain('pino-pretty');
    for (const name of [...CLOUD, ...EMBEDDED_BROKER, ...BLE_LOCK]) expect(loaded, name).not.toContain(name);
  });
});
