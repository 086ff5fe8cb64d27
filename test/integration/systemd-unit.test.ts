import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const UNIT_PATH = fileURLToPath(new URL('../../systemd/keyhub.service', import.meta.url));
const UNIT_NAME = 'keyhub.service';
/** The runtime `npm ci --omit=dev` installs under /opt/keyhub (package.json's node-linux-<arch>). */
const NODE = '/opt/keyhub/node_modules/.bin/node';

/**
 * `systemd-analyze security` exposure ceiling (0 = locked down, 10 = unsandboxed). The target was
 * 2.0; what the hub cannot give up keeps it at 2.1: the host network (PrivateNetwork, IP allow
 * list: the cloud is anywhere on the internet), Bluetooth sockets and CAP_NET_RAW/CAP_NET_ADMIN
 * (so no PrivateUsers either), the serial stick (no PrivateDevices, group dialout), netlink
 * (getifaddrs for mDNS, getaddrinfo's AI_ADDRCONFIG) and V8's JIT (no MemoryDenyWriteExecute).
 * Lower it when one of those goes; never raise it without saying which setting and why.
 */
const MAX_EXPOSURE = 2.1;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs systemd-analyze; a missing binary fails the test (CI installs systemd), it never skips. */
function analyze(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('systemd-analyze', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        const why = err.code === 'ENOENT' ? 'systemd-analyze is not installed (CI installs systemd)' : err.message;
        reject(new Error(`cannot run systemd-analyze ${args.join(' ')}: ${why}`, { cause: err }));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

type Unit = Map<string, Map<string, string[]>>;

/**
 * The unit file as systemd reads it (systemd.syntax(7)): [Section] headers, Key=Value lines,
 * '#'/';' comments, backslash continuations. A key may repeat; an empty assignment resets its list.
 */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${(lines[++i] ?? '').trim()}`;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      const name = header[1] ?? '';
      section = unit.get(name) ?? new Map<string, string[]>();
      unit.set(name, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (section === undefined || eq <= 0) throw new Error(`unit line ${i + 1} is not Key=Value in a section: ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    section.set(key, value === '' ? [] : [...(section.get(key) ?? []), value]);
  }
  return unit;
}

const BOOLEAN = new Map([...['yes', 'true', 'on', '1'].map((v) => [v, 'yes'] as const), ...['no', 'false', 'off', '0'].map((v) => [v, 'no'] as const)]);
const normalize = (value: string): string => BOOLEAN.get(value.toLowerCase()) ?? value;

/** Settings with one value, as the brief for the unit lists them. */
const SINGLE: Record<string, Record<string, string>> = {
  Service: {
    Type: 'notify',
    NotifyAccess: 'main',
    ExecStart: `${NODE} /opt/keyhub/bin/keyhub.js run`,
    Environment: 'NODE_ENV=production',
    WatchdogSec: '30',
    Restart: 'on-failure',
    RestartSec: '2',
    // Above the daemon's default shutdown deadline (shutdown.deadlineS = 10).
    TimeoutStopSec: '15',
    User: 'keyhub',
    Group: 'keyhub',
    SupplementaryGroups: 'dialout',
    StateDirectory: 'keyhub',
    StateDirectoryMode: '0700',
    ConfigurationDirectory: 'keyhub',
    UMask: '0077',
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    DevicePolicy: 'closed',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectControlGroups: 'yes',
    ProtectClock: 'yes',
    ProtectHostname: 'yes',
    ProtectProc: 'invisible',
    ProcSubset: 'pid',
    KeyringMode: 'private',
    RemoveIPC: 'yes',
    RestrictNamespaces: 'yes',
    RestrictRealtime: 'yes',
    RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes',
    SystemCallArchitectures: 'native',
    SystemCallErrorNumber: 'EPERM',
  },
};

/** Space-separated list settings: the union of all their assignments must be exactly this. */
const LISTS: Record<string, readonly string[]> = {
  AmbientCapabilities: ['CAP_NET_RAW', 'CAP_NET_ADMIN'],
  CapabilityBoundingSet: ['CAP_NET_RAW', 'CAP_NET_ADMIN'],
  RestrictAddressFamilies: ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_BLUETOOTH', 'AF_NETLINK'],
};

/** Settings that would break the daemon: node's JIT, BLE's capabilities, the serial stick. */
const MUST_STAY_OFF = ['MemoryDenyWriteExecute', 'PrivateUsers', 'PrivateDevices', 'PrivateNetwork'];

function tokens(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(/\s+/)).filter((t) => t !== '');
}

/**
 * systemd-analyze verify also loads the units ours refers to (network-online.target, …) and may
 * warn about those on some hosts; only lines about our unit count.
 */
function linesAboutOurUnit(run: Run, path: string): string[] {
  const otherUnit = /^(?:\S*\/)?([\w@.\\-]+\.(?:service|socket|target|mount|automount|swap|path|timer|slice|scope|device))[:\s]/;
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .filter((l) => {
      const unit = otherUnit.exec(l)?.[1];
      return unit === undefined || unit === UNIT_NAME || l.includes(path);
    });
}

describe('systemd/keyhub.service', () => {
  it('passes systemd-analyze verify with no warnings about it', async () => {
    // verify checks that ExecStart's binary exists. A host with no keyhub installed under /opt
    // (a checkout, CI) verifies a copy that points at this node; everything else is the file as shipped.
    let path = UNIT_PATH;
    let tmp: string | undefined;
    if (!(await access(NODE).then(() => true, () => false))) {
      tmp = await mkdtemp(join(tmpdir(), 'keyhub-unit-'));
      path = join(tmp, UNIT_NAME);
      const text = await readFile(UNIT_PATH, 'utf8');
      await writeFile(path, text.replace(`ExecStart=${NODE} `, `ExecStart=${process.execPath} `));
    }
    try {
      const run = await analyze(['verify', path]);
      expect(linesAboutOurUnit(run, path)).toEqual([]);
      expect(run.code).toBe(0);
    } finally {
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    }
  });

  it(`has an overall systemd-analyze security exposure of at most ${MAX_EXPOSURE}`, async () => {
    const run = await analyze(['security', '--offline=true', '--no-pager', UNIT_PATH]);
    const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(run.stdout);
    expect(match, `no overall exposure in:\n${run.stdout}\n${run.stderr}`).not.toBeNull();
    const exposure = Number(match?.[1]);
    console.log(`systemd-analyze security ${UNIT_NAME}: overall exposure ${exposure} (ceiling ${MAX_EXPOSURE})`);
    expect(exposure).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('sets every directive the service needs, with the required values', async () => {
    const unit = parseUnit(await readFile(UNIT_PATH, 'utf8'));
    const service = unit.get('Service');
    expect(service, 'no [Service] section').toBeDefined();

    for (const [sectionName, settings] of Object.entries(SINGLE)) {
      const section = unit.get(sectionName);
      for (const [key, want] of Object.entries(settings)) {
        expect(section?.get(key)?.map(normalize), `${sectionName}.${key}`).toEqual([normalize(want)]);
      }
    }
    for (const [key, want] of Object.entries(LISTS)) {
      expect(new Set(tokens(service?.get(key))), key).toEqual(new Set(want));
    }
    expect(service?.get('DeviceAllow'), 'DeviceAllow').toEqual(['char-ttyACM rw', 'char-ttyUSB rw']);

    const filters = service?.get('SystemCallFilter') ?? [];
    expect(tokens(filters.filter((f) => !f.startsWith('~'))), 'allowed system calls').toContain('@system-service');
    // V8 calls pkey_alloc() at start; outside the allow list node dies of SIGSYS before main().
    expect(tokens(filters), 'allowed system calls').toContain('@pkey');
    for (const key of MUST_STAY_OFF) {
      expect(service?.get(key)?.map(normalize) ?? ['no'], key).toEqual(['no']);
    }
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });
});
