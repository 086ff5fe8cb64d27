import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONFIG_MIGRATIONS,
  CONFIG_VERSION,
  defaultConfigPath,
  listConfigEnvVars,
  loadConfig,
  type ConfigMigration,
  type LoadConfigOptions,
} from '../../hub/config/index.js';
import { parseTextValue } from '../../hub/config/env.js';
import { ErrorCode, HubError, exitCodeFor } from '../../hub/system/errors.js';

const LEVELS = 'trace|debug|info|warn|error|fatal|silent';
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyhub-config-'));
  dirs.push(dir);
  return dir;
}

/** A dev-mode checkout: `cwd` and its `.keyhub/config.json` (written when `content` is given). */
function checkout(content?: unknown): { cwd: string; file: string } {
  const cwd = tempDir();
  const file = path.join(cwd, '.keyhub', 'config.json');
  if (content !== undefined) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return { cwd, file };
}

function dev(cwd: string, rest: Partial<LoadConfigOptions> = {}) {
  return loadConfig({ mode: 'dev', env: {}, cwd, ...rest });
}

function thrown(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HubError) return err;
    throw err;
  }
  throw new Error('expected a HubError');
}

/** The problem lines of a CONFIG_INVALID error. */
function problems(fn: () => unknown): readonly string[] {
  const err = thrown(fn);
  expect(err.codeName).toBe('CONFIG_INVALID');
  expect(err.message).toBe(`configuration has ${err.details.length} problem${err.details.length === 1 ? '' : 's'}`);
  return err.details;
}

describe('defaults per mode', () => {
  it('dev mode without a file runs on dev defaults under ./.keyhub and says the file was not found', () => {
    const { cwd, file } = checkout();
    const loaded = dev(cwd);
    expect(loaded.config).toEqual({
      version: CONFIG_VERSION,
      stateDir: path.join(cwd, '.keyhub'),
      log: { level: 'debug', format: 'pretty' },
      systemd: { notify: false },
      shutdown: { deadlineS: 10 },
      store: { busyTimeoutMs: 5000 },
      lock: { driver: 'none', commandTimeoutMs: 15_000, stateMaxAgeS: 3600, zwave: { keys: {} } },
      access: { clockSkewS: 300, rssiFloorDbm: -70, cloudRadiusM: 50 },
      audit: { checkpointEvery: 100, retentionDays: 365 },
      cloud: { broker: 'embedded', port: 8883, refusals: { inFullPerKind: 5, inFullTotal: 20, intervalS: 60 } },
      camera: { transport: 'auto', preRollS: 10, stallS: 3, frozenKeyframes: 3, postRollS: 10, clipQuotaMb: 4096, visitClipQuotaMb: 3072 },
      schedule: { slots: { first: 11, last: 30 }, pinDigits: { min: 4, max: 8 }, reconcileEveryS: 21_600, wrongCodes: { limit: 5, windowS: 600 } },
      delivery: { doorAjarS: 300, relockRetries: 8 },
    });
    expect(loaded.path).toBe(file);
    expect(loaded.fileFound).toBe(false);
    expect(loaded.migratedFrom).toBeUndefined();
    expect(Object.values(loaded.sources).every((s) => s.kind === 'default')).toBe(true);
  });

  it('production mode uses the directories systemd passes, JSON logs and sd_notify', () => {
    const cwd = tempDir();
    const confDir = tempDir();
    const env = { CONFIGURATION_DIRECTORY: `${confDir}:/elsewhere`, STATE_DIRECTORY: '/var/lib/keyhub-test:/other' };
    const loaded = loadConfig({ mode: 'production', env, cwd });
    expect(loaded.path).toBe(path.join(confDir, 'config.json'));
    expect(loaded.fileFound).toBe(false);
    expect(loaded.config).toMatchObject({
      stateDir: '/var/lib/keyhub-test',
      log: { level: 'info', format: 'json' },
      systemd: { notify: true },
      shutdown: { deadlineS: 10 },
      store: { busyTimeoutMs: 5000 },
    });
    expect(loaded.sources.stateDir).toEqual({ kind: 'env', name: 'STATE_DIRECTORY' });
  });

  it('production mode without systemd variables uses /etc/keyhub and /var/lib/keyhub', () => {
    expect(defaultConfigPath('production', {}, '/srv')).toBe('/etc/keyhub/config.json');
    const file = path.join(tempDir(), 'config.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1 }));
    const loaded = loadConfig({ mode: 'production', path: file, env: {}, cwd: '/' });
    expect(loaded.config.stateDir).toBe('/var/lib/keyhub');
    expect(loaded.fileFound).toBe(true);
  });

  it('returns a deeply frozen config', () => {
    const loaded = dev(checkout().cwd);
    expect(Object.isFrozen(loaded)).toBe(true);
    expect(Object.isFrozen(loaded.config.log)).toBe(true);
    expect(Object.isFrozen(loaded.sources)).toBe(true);
    expect(() => {
      (loaded.config.log as { level: string }).level = 'trace';
    }).toThrow(TypeError);
  });
});

describe('the config file', () => {
  it('overrides the mode defaults and is named as the source of what it sets', () => {
    const { cwd, file } = checkout({ version: 1, log: { level: 'warn' }, store: { busyTimeoutMs: 100 } });
    const loaded = dev(cwd);
    expect(loaded.fileFound).toBe(true);
    expect(loaded.config.log).toEqual({ level: 'warn', format: 'pretty' });
    expect(loaded.config.store.busyTimeoutMs).toBe(100);
    expect(loaded.sources['log.level']).toEqual({ kind: 'file', path: file });
    expect(loaded.sources['log.format']).toEqual({ kind: 'default' });
  });

  it('resolves a relative stateDir against the directory of the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, stateDir: 'state' }));
    const loaded = loadConfig({ mode: 'production', path: file, env: {}, cwd: tempDir() });
    expect(loaded.config.stateDir).toBe(path.join(dir, 'state'));
  });

  it('is read from KEYHUB_CONFIG when no path is given, relative to cwd', () => {
    const cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'my.json'), JSON.stringify({ version: 1, log: { level: 'error' } }));
    const loaded = dev(cwd, { env: { KEYHUB_CONFIG: 'my.json' } });
    expect(loaded.path).toBe(path.join(cwd, 'my.json'));
    expect(loaded.config.log.level).toBe('error');
  });

  it('must exist when named explicitly', () => {
    const cwd = tempDir();
    const err = thrown(() => dev(cwd, { path: 'nope.json' }));
    expect(err.code).toBe(ErrorCode.CONFIG_UNREADABLE);
    expect(err.message).toBe(`configuration file ${path.join(cwd, 'nope.json')} does not exist`);
  });

  it('that cannot be read is CONFIG_UNREADABLE', () => {
    const dir = tempDir();
    const err = thrown(() => dev(dir, { path: dir }));
    expect(err.code).toBe(ErrorCode.CONFIG_UNREADABLE);
    expect(exitCodeFor(err)).toBe(78);
  });

  it('that is not JSON is refused with the line and column of the mistake', () => {
    const { cwd, file } = checkout('{\n  "version": 1,\n}\n');
    const err = thrown(() => dev(cwd));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toBe(`configuration file ${file} is not valid JSON`);
    expect(err.details).toHaveLength(1);
    expect(err.details[0]).toMatch(new RegExp(`^${file}: .*\\(line 3, column 1\\)$`));
    // Said once, in one form, whichever V8 parsed it (Node 24's adds its own "(line 3 column 1)").
    expect(err.details[0]?.match(/\(line/g)).toHaveLength(1);
  });

  it('must hold a JSON object', () => {
    const { cwd, file } = checkout('[1, 2]');
    expect(problems(() => dev(cwd))).toEqual([`(root) = [1,2] (from ${file}): expected an object`]);
  });

  it('may start with a byte order mark', () => {
    const { cwd } = checkout(`\uFEFF${JSON.stringify({ version: 1 })}`);
    expect(dev(cwd).fileFound).toBe(true);
  });

  it('is not rewritten by loading', () => {
    const text = '{ "version": 1, "log": { "level": "warn" } }';
    const { cwd, file } = checkout(text);
    dev(cwd);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('range and type violations name path, value, expectation and source', () => {
  /** The problem lines for a file with these settings, its path written as `<file>`. */
  function lineFor(settings: Record<string, unknown>): readonly string[] {
    const { cwd, file } = checkout({ version: 1, ...settings });
    return problems(() => dev(cwd)).map((line) => line.replace(file, '<file>'));
  }

  it('shutdown.deadlineS must be within 1..120', () => {
    expect(lineFor({ shutdown: { deadlineS: 121 } })).toEqual([
      `shutdown.deadlineS = 121 (from <file>): expected a number from 1 to 120`,
    ]);
    expect(lineFor({ shutdown: { deadlineS: 0.5 } })).toEqual([
      `shutdown.deadlineS = 0.5 (from <file>): expected a number from 1 to 120`,
    ]);
  });

  it('store.busyTimeoutMs must be an integer within 0..60000', () => {
    expect(lineFor({ store: { busyTimeoutMs: 60_001 } })).toEqual([
      `store.busyTimeoutMs = 60001 (from <file>): expected an integer from 0 to 60000`,
    ]);
    expect(lineFor({ store: { busyTimeoutMs: 2.5 } })).toEqual([
      `store.busyTimeoutMs = 2.5 (from <file>): expected an integer from 0 to 60000`,
    ]);
  });

  it('log.level must be a pino level', () => {
    expect(lineFor({ log: { level: 'loud' } })).toEqual([`log.level = "loud" (from <file>): expected one of ${LEVELS}`]);
  });

  it('log.format must be json or pretty', () => {
    expect(lineFor({ log: { format: 'xml' } })).toEqual([`log.format = "xml" (from <file>): expected one of json|pretty`]);
  });

  it('systemd.notify must be a boolean', () => {
    expect(lineFor({ systemd: { notify: 'yes' } })).toEqual([`systemd.notify = "yes" (from <file>): expected true or false`]);
  });

  it('stateDir must be a non-empty string', () => {
    expect(lineFor({ stateDir: '' })).toEqual([`stateDir = "" (from <file>): expected a non-empty string`]);
    expect(lineFor({ stateDir: 42 })).toEqual([`stateDir = 42 (from <file>): expected a string`]);
  });

  it('a section must be an object', () => {
    expect(lineFor({ log: 'debug' })).toEqual([`log = "debug" (from <file>): expected an object`]);
  });

  it('a value that cannot be placed because a section is not an object is reported, not dropped', () => {
    const { cwd, file } = checkout({ version: 1, log: 'debug' });
    expect(problems(() => dev(cwd, { env: { KEYHUB_LOG__LEVEL: 'warn' }, overrides: { 'systemd.notify.x': true } }))).toEqual([
      'log.level (from KEYHUB_LOG__LEVEL): cannot be set inside log = "debug", which is not an object',
      'systemd.notify.x (from --systemd-notify-x): cannot be set inside systemd.notify = false, which is not an object',
      `log = "debug" (from ${file}): expected an object`,
    ]);
  });

  it('long values are cut to about 60 characters', () => {
    const [line] = lineFor({ log: { level: 'x'.repeat(200) } });
    expect(line).toBe(`log.level = "${'x'.repeat(58)}… (from <file>): expected one of ${LEVELS}`);
  });
});

describe('unknown keys', () => {
  it('at the top level of the file are errors', () => {
    const { cwd, file } = checkout({ version: 1, frobnicate: true });
    expect(problems(() => dev(cwd))).toEqual([`frobnicate (from ${file}): unknown key`]);
  });

  it('inside a section of the file are errors', () => {
    const { cwd, file } = checkout({ version: 1, log: { level: 'info', colour: true } });
    expect(problems(() => dev(cwd))).toEqual([`log.colour (from ${file}): unknown key`]);
  });

  it('named __proto__ are plain unknown keys, not a prototype', () => {
    const { cwd, file } = checkout('{ "version": 1, "__proto__": { "polluted": true } }');
    expect(problems(() => dev(cwd))).toEqual([`__proto__ (from ${file}): unknown key`]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('in overrides are errors naming the flag', () => {
    expect(problems(() => dev(checkout().cwd, { overrides: { 'log.colour': 'red' } }))).toEqual([
      'log.colour (from --log-colour): unknown key',
    ]);
  });

  it('an unknown KEYHUB_ variable is an error; KEYHUB_CONFIG and KEYHUB_MODE are reserved', () => {
    const { cwd } = checkout({ version: 1 });
    const env = { KEYHUB_FROBNICATE: '1', KEYHUB_VERSION: '2', KEYHUB_MODE: 'dev', KEYHUB_CONFIG: '.keyhub/config.json' };
    expect(problems(() => dev(cwd, { env }))).toEqual([
      'KEYHUB_FROBNICATE (from environment): unknown variable; no setting has this name',
      'KEYHUB_VERSION (from environment): unknown variable; no setting has this name',
    ]);
  });
});

describe('KEYHUB_* environment overrides', () => {
  it('are derived from the schema, one per setting, version excluded', () => {
    expect(listConfigEnvVars()).toEqual([
      { name: 'KEYHUB_STATE_DIR', path: 'stateDir', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_LOG__LEVEL', path: 'log.level', kind: 'enum', expected: `one of ${LEVELS}` },
      { name: 'KEYHUB_LOG__FORMAT', path: 'log.format', kind: 'enum', expected: 'one of json|pretty' },
      { name: 'KEYHUB_SYSTEMD__NOTIFY', path: 'systemd.notify', kind: 'boolean', expected: 'true or false' },
      { name: 'KEYHUB_SHUTDOWN__DEADLINE_S', path: 'shutdown.deadlineS', kind: 'number', expected: 'a number from 1 to 120' },
      { name: 'KEYHUB_STORE__BUSY_TIMEOUT_MS', path: 'store.busyTimeoutMs', kind: 'integer', expected: 'an integer from 0 to 60000' },
      { name: 'KEYHUB_LOCK__DRIVER', path: 'lock.driver', kind: 'enum', expected: 'one of zwave|ble|none' },
      { name: 'KEYHUB_LOCK__COMMAND_TIMEOUT_MS', path: 'lock.commandTimeoutMs', kind: 'integer', expected: 'an integer from 1000 to 120000' },
      { name: 'KEYHUB_LOCK__STATE_MAX_AGE_S', path: 'lock.stateMaxAgeS', kind: 'integer', expected: 'an integer from 10 to 86400' },
      { name: 'KEYHUB_LOCK__ZWAVE__PORT', path: 'lock.zwave.port', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_LOCK__ZWAVE__NODE_ID', path: 'lock.zwave.nodeId', kind: 'integer', expected: 'an integer from 2 to 232' },
      { name: 'KEYHUB_LOCK__ZWAVE__KEYS__S2_ACCESS_CONTROL', path: 'lock.zwave.keys.s2AccessControl', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_LOCK__ZWAVE__KEYS__S2_AUTHENTICATED', path: 'lock.zwave.keys.s2Authenticated', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_LOCK__ZWAVE__KEYS__S2_UNAUTHENTICATED', path: 'lock.zwave.keys.s2Unauthenticated', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_LOCK__ZWAVE__KEYS__S0_LEGACY', path: 'lock.zwave.keys.s0Legacy', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_ACCESS__CLOCK_SKEW_S', path: 'access.clockSkewS', kind: 'integer', expected: 'an integer from 0 to 3600' },
      { name: 'KEYHUB_ACCESS__RSSI_FLOOR_DBM', path: 'access.rssiFloorDbm', kind: 'integer', expected: 'an integer from -127 to 0' },
      { name: 'KEYHUB_ACCESS__CLOUD_RADIUS_M', path: 'access.cloudRadiusM', kind: 'integer', expected: 'an integer from 10 to 1000' },
      { name: 'KEYHUB_ACCESS__HOME__LAT_E7', path: 'access.home.latE7', kind: 'integer', expected: 'an integer from -900000000 to 900000000' },
      { name: 'KEYHUB_ACCESS__HOME__LON_E7', path: 'access.home.lonE7', kind: 'integer', expected: 'an integer from -1800000000 to 1800000000' },
      { name: 'KEYHUB_AUDIT__CHECKPOINT_EVERY', path: 'audit.checkpointEvery', kind: 'integer', expected: 'an integer from 1 to 100000' },
      { name: 'KEYHUB_AUDIT__RETENTION_DAYS', path: 'audit.retentionDays', kind: 'integer', expected: 'an integer from 1 to 3650' },
      { name: 'KEYHUB_CLOUD__BROKER', path: 'cloud.broker', kind: 'enum', expected: 'one of none|embedded|external' },
      { name: 'KEYHUB_CLOUD__PORT', path: 'cloud.port', kind: 'integer', expected: 'an integer from 1 to 65535' },
      { name: 'KEYHUB_CLOUD__URL', path: 'cloud.url', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CLOUD__CERT_FILE', path: 'cloud.certFile', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CLOUD__KEY_FILE', path: 'cloud.keyFile', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CLOUD__CA_FILE', path: 'cloud.caFile', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CLOUD__REFUSALS__IN_FULL_PER_KIND', path: 'cloud.refusals.inFullPerKind', kind: 'integer', expected: 'an integer from 1 to 1000' },
      { name: 'KEYHUB_CLOUD__REFUSALS__IN_FULL_TOTAL', path: 'cloud.refusals.inFullTotal', kind: 'integer', expected: 'an integer from 1 to 10000' },
      { name: 'KEYHUB_CLOUD__REFUSALS__INTERVAL_S', path: 'cloud.refusals.intervalS', kind: 'integer', expected: 'an integer from 1 to 86400' },
      { name: 'KEYHUB_CAMERA__URL', path: 'camera.url', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CAMERA__TRANSPORT', path: 'camera.transport', kind: 'enum', expected: 'one of auto|tcp|udp' },
      { name: 'KEYHUB_CAMERA__USERNAME', path: 'camera.username', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CAMERA__PASSWORD', path: 'camera.password', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_CAMERA__PRE_ROLL_S', path: 'camera.preRollS', kind: 'integer', expected: 'an integer from 1 to 60' },
      { name: 'KEYHUB_CAMERA__STALL_S', path: 'camera.stallS', kind: 'integer', expected: 'an integer from 1 to 30' },
      { name: 'KEYHUB_CAMERA__FROZEN_KEYFRAMES', path: 'camera.frozenKeyframes', kind: 'integer', expected: 'an integer from 2 to 30' },
      { name: 'KEYHUB_CAMERA__POST_ROLL_S', path: 'camera.postRollS', kind: 'integer', expected: 'an integer from 0 to 120' },
      { name: 'KEYHUB_CAMERA__CLIP_QUOTA_MB', path: 'camera.clipQuotaMb', kind: 'integer', expected: 'an integer from 64 to 1048576' },
      { name: 'KEYHUB_CAMERA__VISIT_CLIP_QUOTA_MB', path: 'camera.visitClipQuotaMb', kind: 'integer', expected: 'an integer from 32 to 1048576' },
      { name: 'KEYHUB_SCHEDULE__ZONE', path: 'schedule.zone', kind: 'string', expected: 'a string' },
      { name: 'KEYHUB_SCHEDULE__SLOTS__FIRST', path: 'schedule.slots.first', kind: 'integer', expected: 'an integer from 1 to 255' },
      { name: 'KEYHUB_SCHEDULE__SLOTS__LAST', path: 'schedule.slots.last', kind: 'integer', expected: 'an integer from 1 to 255' },
      { name: 'KEYHUB_SCHEDULE__PIN_DIGITS__MIN', path: 'schedule.pinDigits.min', kind: 'integer', expected: 'an integer from 4 to 10' },
      { name: 'KEYHUB_SCHEDULE__PIN_DIGITS__MAX', path: 'schedule.pinDigits.max', kind: 'integer', expected: 'an integer from 4 to 10' },
      { name: 'KEYHUB_SCHEDULE__RECONCILE_EVERY_S', path: 'schedule.reconcileEveryS', kind: 'integer', expected: 'an integer from 60 to 86400' },
      { name: 'KEYHUB_SCHEDULE__WRONG_CODES__LIMIT', path: 'schedule.wrongCodes.limit', kind: 'integer', expected: 'an integer from 2 to 100' },
      { name: 'KEYHUB_SCHEDULE__WRONG_CODES__WINDOW_S', path: 'schedule.wrongCodes.windowS', kind: 'integer', expected: 'an integer from 60 to 86400' },
      { name: 'KEYHUB_DELIVERY__DOOR_AJAR_S', path: 'delivery.doorAjarS', kind: 'integer', expected: 'an integer from 10 to 86400' },
      { name: 'KEYHUB_DELIVERY__RELOCK_RETRIES', path: 'delivery.relockRetries', kind: 'integer', expected: 'an integer from 0 to 50' },
    ]);
  });

  it('set numbers, integers, booleans, enums and strings, nested or not', () => {
    const cwd = checkout().cwd;
    const loaded = dev(cwd, {
      env: {
        KEYHUB_SHUTDOWN__DEADLINE_S: '2.5',
        KEYHUB_STORE__BUSY_TIMEOUT_MS: ' 250 ',
        KEYHUB_SYSTEMD__NOTIFY: 'TRUE',
        KEYHUB_LOG__LEVEL: 'warn',
        KEYHUB_LOG__FORMAT: 'json',
        KEYHUB_STATE_DIR: 'var/state',
      },
    });
    expect(loaded.config).toMatchObject({
      shutdown: { deadlineS: 2.5 },
      store: { busyTimeoutMs: 250 },
      systemd: { notify: true },
      log: { level: 'warn', format: 'json' },
      stateDir: path.join(cwd, 'var/state'),
    });
    expect(loaded.sources['log.level']).toEqual({ kind: 'env', name: 'KEYHUB_LOG__LEVEL' });
  });

  it('read booleans as true/false/1/0 and leave anything else for validation to refuse', () => {
    expect(parseTextValue('boolean', '1')).toBe(true);
    expect(parseTextValue('boolean', '0')).toBe(false);
    expect(parseTextValue('boolean', 'false')).toBe(false);
    expect(problems(() => dev(checkout().cwd, { env: { KEYHUB_SYSTEMD__NOTIFY: 'yes' } }))).toEqual([
      'systemd.notify = "yes" (from KEYHUB_SYSTEMD__NOTIFY): expected true or false',
    ]);
  });

  it('read arrays and objects as JSON', () => {
    expect(parseTextValue('json', '["a", 1]')).toEqual(['a', 1]);
    expect(parseTextValue('json', '{"a": {"b": true}}')).toEqual({ a: { b: true } });
    expect(parseTextValue('json', '[oops')).toBe('[oops');
  });

  it('that are not numbers are reported with the variable name', () => {
    expect(problems(() => dev(checkout().cwd, { env: { KEYHUB_SHUTDOWN__DEADLINE_S: 'soon' } }))).toEqual([
      'shutdown.deadlineS = "soon" (from KEYHUB_SHUTDOWN__DEADLINE_S): expected a number from 1 to 120',
    ]);
  });

  it('that are empty count as unset', () => {
    expect(dev(checkout().cwd, { env: { KEYHUB_LOG__LEVEL: '' } }).config.log.level).toBe('debug');
  });
});

describe('precedence: mode defaults < file < env < overrides', () => {
  it('env wins over the file', () => {
    const { cwd } = checkout({ version: 1, log: { level: 'warn' } });
    const loaded = dev(cwd, { env: { KEYHUB_LOG__LEVEL: 'error' } });
    expect(loaded.config.log.level).toBe('error');
  });

  it('overrides win over env, with text read by type, and are named by their flag', () => {
    const { cwd } = checkout({ version: 1, stateDir: '/from/file' });
    const loaded = dev(cwd, {
      env: { KEYHUB_STATE_DIR: '/from/env', KEYHUB_SHUTDOWN__DEADLINE_S: '5' },
      overrides: { stateDir: 'mine', 'shutdown.deadlineS': '30', 'log.level': undefined },
    });
    expect(loaded.config.stateDir).toBe(path.join(cwd, 'mine'));
    expect(loaded.config.shutdown.deadlineS).toBe(30);
    expect(loaded.sources.stateDir).toEqual({ kind: 'override', key: 'stateDir', flag: '--state-dir' });
    expect(loaded.sources['log.level']).toEqual({ kind: 'default' });
  });

  it('a bad override names the flag the CLI says it came from', () => {
    const cwd = checkout().cwd;
    expect(problems(() => dev(cwd, { overrides: { 'log.level': 'loud' }, overrideFlags: { 'log.level': '-v' } }))).toEqual([
      `log.level = "loud" (from -v): expected one of ${LEVELS}`,
    ]);
    expect(problems(() => dev(cwd, { overrides: { version: 2 } }))).toEqual([
      'version = 2 (from --version): the format version comes from the file',
    ]);
  });
});

describe('several problems', () => {
  it('are all reported together, one line each', () => {
    const { cwd, file } = checkout({ version: 1, log: { level: 'loud' }, frobnicate: 1, store: { busyTimeoutMs: -1 } });
    const err = thrown(() =>
      dev(cwd, { env: { KEYHUB_SHUTDOWN__DEADLINE_S: '500', KEYHUB_NOPE: 'x' }, overrides: { 'systemd.notify': 'maybe' } }),
    );
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(exitCodeFor(err)).toBe(78);
    expect(err.message).toBe('configuration has 6 problems');
    expect([...err.details].sort()).toEqual(
      [
        'KEYHUB_NOPE (from environment): unknown variable; no setting has this name',
        `log.level = "loud" (from ${file}): expected one of ${LEVELS}`,
        'systemd.notify = "maybe" (from --systemd-notify): expected true or false',
        'shutdown.deadlineS = 500 (from KEYHUB_SHUTDOWN__DEADLINE_S): expected a number from 1 to 120',
        `store.busyTimeoutMs = -1 (from ${file}): expected an integer from 0 to 60000`,
        `frobnicate (from ${file}): unknown key`,
      ].sort(),
    );
  });
});

describe('versions and migrations', () => {
  /** A history where settings moved twice: v1 had flat keys, v2 nested the log, v3 the shutdown. */
  const history: readonly ConfigMigration[] = [
    {
      from: 2,
      describe: 'shutdownDeadline → shutdown.deadlineS',
      migrate: ({ shutdownDeadline, ...rest }) => ({ ...rest, shutdown: { deadlineS: shutdownDeadline } }),
    },
    {
      from: 1,
      describe: 'logLevel → log.level',
      migrate: ({ logLevel, ...rest }) => ({ ...rest, log: { level: logLevel } }),
    },
  ];

  it('the real chain is complete up to CONFIG_VERSION', () => {
    for (let v = 1; v < CONFIG_VERSION; v++) expect(CONFIG_MIGRATIONS.filter((m) => m.from === v)).toHaveLength(1);
  });

  it('an old file is migrated step by step in memory, and the file is left as it was', () => {
    const text = JSON.stringify({ version: 1, logLevel: 'warn', shutdownDeadline: 7 });
    const { cwd, file } = checkout(text);
    const loaded = dev(cwd, { migrations: history, currentVersion: 3 });
    expect(loaded.migratedFrom).toBe(1);
    expect(loaded.config).toMatchObject({ version: 3, log: { level: 'warn', format: 'pretty' }, shutdown: { deadlineS: 7 } });
    expect(loaded.sources['shutdown.deadlineS']).toEqual({ kind: 'file', path: file });
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  it('a file at an intermediate version runs only the remaining steps', () => {
    const { cwd } = checkout({ version: 2, log: { level: 'error' }, shutdownDeadline: 9 });
    const loaded = dev(cwd, { migrations: history, currentVersion: 3 });
    expect(loaded.migratedFrom).toBe(2);
    expect(loaded.config.shutdown.deadlineS).toBe(9);
  });

  it('a current file is not migrated', () => {
    const { cwd } = checkout({ version: 3 });
    expect(dev(cwd, { migrations: history, currentVersion: 3 }).migratedFrom).toBeUndefined();
  });

  it('a migrated file is validated like any other', () => {
    const { cwd, file } = checkout({ version: 1, logLevel: 'loud', shutdownDeadline: 7 });
    expect(problems(() => dev(cwd, { migrations: history, currentVersion: 3 }))).toEqual([
      `log.level = "loud" (from ${file}): expected one of ${LEVELS}`,
    ]);
  });

  it('a file newer than this keyhub is refused, saying both versions', () => {
    const { cwd, file } = checkout({ version: CONFIG_VERSION + 1 });
    const err = thrown(() => dev(cwd));
    expect(err.code).toBe(ErrorCode.CONFIG_NEWER_VERSION);
    expect(err.message).toBe(
      `configuration file ${file} is version ${CONFIG_VERSION + 1}; this keyhub understands versions up to ${CONFIG_VERSION}`,
    );
    expect(exitCodeFor(err)).toBe(78);
  });

  it('a gap in the chain is CONFIG_MIGRATION_MISSING, before any step runs', () => {
    let ran = 0;
    const partial: ConfigMigration[] = [{ from: 1, describe: 'counted', migrate: (raw) => (ran++, raw) }];
    const { cwd } = checkout({ version: 1 });
    const err = thrown(() => dev(cwd, { migrations: partial, currentVersion: 3 }));
    expect(err.code).toBe(ErrorCode.CONFIG_MIGRATION_MISSING);
    expect(err.message).toBe('no migration from config version 2 to 3');
    expect(ran).toBe(0);
  });

  it('a migration that throws is reported with its step', () => {
    const broken: ConfigMigration[] = [{ from: 1, describe: 'explodes', migrate: () => { throw new Error('boom'); } }];
    const { cwd } = checkout({ version: 1 });
    const err = thrown(() => dev(cwd, { migrations: broken, currentVersion: 2 }));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.details).toEqual(['version 1 → 2 (explodes): boom']);
  });

  it('a file without a version is refused rather than guessed at', () => {
    const { cwd, file } = checkout({ log: { level: 'warn' } });
    expect(problems(() => dev(cwd))).toEqual([`version (from ${file}): missing; a config file starts with "version": 1`]);
  });

  it('a version that is not a positive integer is a problem', () => {
    const { cwd, file } = checkout({ version: '1' });
    expect(problems(() => dev(cwd))).toEqual([`version = "1" (from ${file}): expected an integer >= 1`]);
  });
});

describe('camera clip quotas', () => {
  it('refuses a visit clips share larger than the quota of all clips', () => {
    const { cwd } = checkout({ version: 1, camera: { clipQuotaMb: 100, visitClipQuotaMb: 200 } });
    expect(problems(() => dev(cwd))).toEqual([expect.stringContaining('camera.visitClipQuotaMb')]);
  });
});

describe('properties of numeric env overrides', () => {
  const numeric = [
    { name: 'KEYHUB_SHUTDOWN__DEADLINE_S', path: ['shutdown', 'deadlineS'], min: 1, max: 120, int: false },
    { name: 'KEYHUB_STORE__BUSY_TIMEOUT_MS', path: ['store', 'busyTimeoutMs'], min: 0, max: 60_000, int: true },
    { name: 'KEYHUB_LOCK__COMMAND_TIMEOUT_MS', path: ['lock', 'commandTimeoutMs'], min: 1000, max: 120_000, int: true },
    { name: 'KEYHUB_LOCK__STATE_MAX_AGE_S', path: ['lock', 'stateMaxAgeS'], min: 10, max: 86_400, int: true },
    { name: 'KEYHUB_LOCK__ZWAVE__NODE_ID', path: ['lock', 'zwave', 'nodeId'], min: 2, max: 232, int: true },
    { name: 'KEYHUB_ACCESS__CLOCK_SKEW_S', path: ['access', 'clockSkewS'], min: 0, max: 3600, int: true },
    { name: 'KEYHUB_ACCESS__RSSI_FLOOR_DBM', path: ['access', 'rssiFloorDbm'], min: -127, max: 0, int: true },
    { name: 'KEYHUB_ACCESS__CLOUD_RADIUS_M', path: ['access', 'cloudRadiusM'], min: 10, max: 1000, int: true },
    // The home is both coordinates or neither: each is tried with a valid partner.
    { name: 'KEYHUB_ACCESS__HOME__LAT_E7', path: ['access', 'home', 'latE7'], min: -900_000_000, max: 900_000_000, int: true, partner: { KEYHUB_ACCESS__HOME__LON_E7: '0' } },
    { name: 'KEYHUB_ACCESS__HOME__LON_E7', path: ['access', 'home', 'lonE7'], min: -1_800_000_000, max: 1_800_000_000, int: true, partner: { KEYHUB_ACCESS__HOME__LAT_E7: '0' } },
    { name: 'KEYHUB_AUDIT__CHECKPOINT_EVERY', path: ['audit', 'checkpointEvery'], min: 1, max: 100_000, int: true },
    { name: 'KEYHUB_AUDIT__RETENTION_DAYS', path: ['audit', 'retentionDays'], min: 1, max: 3650, int: true },
    { name: 'KEYHUB_CLOUD__PORT', path: ['cloud', 'port'], min: 1, max: 65_535, int: true },
    { name: 'KEYHUB_CLOUD__REFUSALS__IN_FULL_PER_KIND', path: ['cloud', 'refusals', 'inFullPerKind'], min: 1, max: 1000, int: true },
    { name: 'KEYHUB_CLOUD__REFUSALS__IN_FULL_TOTAL', path: ['cloud', 'refusals', 'inFullTotal'], min: 1, max: 10_000, int: true },
    { name: 'KEYHUB_CLOUD__REFUSALS__INTERVAL_S', path: ['cloud', 'refusals', 'intervalS'], min: 1, max: 86_400, int: true },
    { name: 'KEYHUB_CAMERA__PRE_ROLL_S', path: ['camera', 'preRollS'], min: 1, max: 60, int: true },
    { name: 'KEYHUB_CAMERA__STALL_S', path: ['camera', 'stallS'], min: 1, max: 30, int: true },
    { name: 'KEYHUB_CAMERA__FROZEN_KEYFRAMES', path: ['camera', 'frozenKeyframes'], min: 2, max: 30, int: true },
    { name: 'KEYHUB_CAMERA__POST_ROLL_S', path: ['camera', 'postRollS'], min: 0, max: 120, int: true },
    // The visit clips' share may not exceed all clips' quota: each is tried with a partner that fits.
    { name: 'KEYHUB_CAMERA__CLIP_QUOTA_MB', path: ['camera', 'clipQuotaMb'], min: 64, max: 1_048_576, int: true, partner: { KEYHUB_CAMERA__VISIT_CLIP_QUOTA_MB: '32' } },
    { name: 'KEYHUB_CAMERA__VISIT_CLIP_QUOTA_MB', path: ['camera', 'visitClipQuotaMb'], min: 32, max: 1_048_576, int: true, partner: { KEYHUB_CAMERA__CLIP_QUOTA_MB: '1048576' } },
    // A range's ends are tried with the other end at its widest.
    { name: 'KEYHUB_SCHEDULE__SLOTS__FIRST', path: ['schedule', 'slots', 'first'], min: 1, max: 255, int: true, partner: { KEYHUB_SCHEDULE__SLOTS__LAST: '255' } },
    { name: 'KEYHUB_SCHEDULE__SLOTS__LAST', path: ['schedule', 'slots', 'last'], min: 1, max: 255, int: true, partner: { KEYHUB_SCHEDULE__SLOTS__FIRST: '1' } },
    { name: 'KEYHUB_SCHEDULE__PIN_DIGITS__MIN', path: ['schedule', 'pinDigits', 'min'], min: 4, max: 10, int: true, partner: { KEYHUB_SCHEDULE__PIN_DIGITS__MAX: '10' } },
    { name: 'KEYHUB_SCHEDULE__PIN_DIGITS__MAX', path: ['schedule', 'pinDigits', 'max'], min: 4, max: 10, int: true, partner: { KEYHUB_SCHEDULE__PIN_DIGITS__MIN: '4' } },
    { name: 'KEYHUB_SCHEDULE__RECONCILE_EVERY_S', path: ['schedule', 'reconcileEveryS'], min: 60, max: 86_400, int: true },
    { name: 'KEYHUB_SCHEDULE__WRONG_CODES__LIMIT', path: ['schedule', 'wrongCodes', 'limit'], min: 2, max: 100, int: true },
    { name: 'KEYHUB_SCHEDULE__WRONG_CODES__WINDOW_S', path: ['schedule', 'wrongCodes', 'windowS'], min: 60, max: 86_400, int: true },
    { name: 'KEYHUB_DELIVERY__DOOR_AJAR_S', path: ['delivery', 'doorAjarS'], min: 10, max: 86_400, int: true },
    { name: 'KEYHUB_DELIVERY__RELOCK_RETRIES', path: ['delivery', 'relockRetries'], min: 0, max: 50, int: true },
  ] as const;
  type Numeric = (typeof numeric)[number];

  const valueAt = (config: unknown, at: readonly string[]): unknown =>
    at.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);

  it('covers every numeric setting', () => {
    const listed = listConfigEnvVars().filter((v) => v.kind === 'number' || v.kind === 'integer');
    expect(listed.map((v) => v.name)).toEqual(numeric.map((n) => n.name));
  });

  it('any value within range is returned as given', () => {
    const cwd = checkout().cwd;
    const inRange = (n: Numeric) =>
      (n.int ? fc.integer({ min: n.min, max: n.max }) : fc.double({ min: n.min, max: n.max, noNaN: true })).map((v) => ({ n, v }));
    fc.assert(
      fc.property(fc.oneof(...numeric.map(inRange)), ({ n, v }) => {
        const loaded = dev(cwd, { env: { ...('partner' in n ? n.partner : {}), [n.name]: String(v) } });
        expect(valueAt(loaded.config, n.path)).toBe(v);
      }),
    );
  });

  it('any value out of range is exactly one problem naming that path and variable', () => {
    const cwd = checkout().cwd;
    const outOfRange = (n: Numeric) =>
      fc
        .oneof(
          fc.double({ min: -1e12, max: n.min, maxExcluded: true, noNaN: true }),
          fc.double({ min: n.max, minExcluded: true, max: 1e12, noNaN: true }),
          fc.integer({ min: Math.max(-0x8000_0000, n.min - 1e9), max: n.min - 1 }),
          fc.integer({ min: n.max + 1, max: Math.min(0x7fff_ffff, n.max + 1e9) }),
        )
        .filter((v) => v < n.min || v > n.max) // fast-check's doubles below 0 include -0, which is 0
        .map((v) => ({ n, v }));
    fc.assert(
      fc.property(fc.oneof(...numeric.map(outOfRange)), ({ n, v }) => {
        const lines = problems(() => dev(cwd, { env: { ...('partner' in n ? n.partner : {}), [n.name]: String(v) } }));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^${n.path.join('\\.')} = \\S+ \\(from ${n.name}\\): expected `));
      }),
    );
  });
});

describe('cloud settings', () => {
  it('refuses an external broker without its URL, certificate, key and CA, one line each', () => {
    const { cwd } = checkout();
    const lines = problems(() => dev(cwd, { env: { KEYHUB_CLOUD__BROKER: 'external' } }));
    for (const key of ['url', 'certFile', 'keyFile', 'caFile']) {
      expect(lines.filter((l) => l.startsWith(`cloud.${key}`) && l.includes('required when cloud.broker is "external"'))).toHaveLength(1);
    }
  });

  it('refuses a broker URL that is not mqtts://', () => {
    const { cwd } = checkout();
    const lines = problems(() => dev(cwd, { env: { KEYHUB_CLOUD__URL: 'mqtt://cloud.example:1883' } }));
    expect(lines).toEqual([expect.stringMatching(/^cloud\.url = "mqtt:\/\/cloud\.example:1883" \(from KEYHUB_CLOUD__URL\): expected an mqtts:\/\/ URL/)]);
  });

  it('has no cloud in production until the installer sets one', () => {
    const loaded = loadConfig({ mode: 'production', env: { STATE_DIRECTORY: '/var/lib/k' }, cwd: '/' , path: undefined });
    expect(loaded.config.cloud.broker).toBe('none');
  });
});

describe('camera settings', () => {
  it('refuses a camera URL that is not rtsp://, and a username without a password', () => {
    const { cwd } = checkout();
    const lines = problems(() => dev(cwd, { env: { KEYHUB_CAMERA__URL: 'http://cam.local/stream', KEYHUB_CAMERA__USERNAME: 'hub' } }));
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.startsWith('camera.url = "http://cam.local/stream"') && l.includes('expected an rtsp:// URL'))).toBe(true);
    expect(lines.some((l) => l.startsWith('camera.password') && l.includes('username and password go together'))).toBe(true);
  });
});

describe('secrets in config errors', () => {
  it('names a bad password without echoing it', () => {
    const { cwd } = checkout();
    const secret = 'x'.repeat(129);
    const lines = problems(() => dev(cwd, { env: { KEYHUB_CAMERA__USERNAME: 'hub', KEYHUB_CAMERA__PASSWORD: secret } }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^camera\.password = \[redacted\] \(from KEYHUB_CAMERA__PASSWORD\)/);
    expect(lines[0]).not.toContain('xxxx');
  });

  it('never echoes the user info of a camera URL, with or without its scheme', () => {
    const { cwd } = checkout();
    for (const url of ['admin:hunter2@192.168.1.20:554/stream1', 'rtsps://admin:hunter2@cam.local/s']) {
      const lines = problems(() => dev(cwd, { env: { KEYHUB_CAMERA__URL: url } }));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('[redacted]@');
      expect(lines[0]).not.toContain('hunter2');
      expect(lines[0]).toContain('expected an rtsp:// URL'); // rtsps:// too: the client does not speak RTSP over TLS
    }
  });
});

describe('schedule settings', () => {
  it('takes an IANA zone for the home and refuses anything ICU does not know', () => {
    const cwd = checkout().cwd;
    expect(dev(cwd, { env: { KEYHUB_SCHEDULE__ZONE: 'Australia/Lord_Howe' } }).config.schedule.zone).toBe('Australia/Lord_Howe');
    const lines = problems(() => dev(cwd, { env: { KEYHUB_SCHEDULE__ZONE: 'Europe/Atlantis' } }));
    expect(lines).toEqual([expect.stringMatching(/^schedule\.zone = .*expected an IANA time zone/)]);
  });

  it('refuses a slot range or PIN length that runs backwards, one line each', () => {
    const cwd = checkout().cwd;
    const lines = problems(() =>
      dev(cwd, { env: { KEYHUB_SCHEDULE__SLOTS__FIRST: '20', KEYHUB_SCHEDULE__SLOTS__LAST: '10', KEYHUB_SCHEDULE__PIN_DIGITS__MIN: '8', KEYHUB_SCHEDULE__PIN_DIGITS__MAX: '6' } }),
    );
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toContain('first must not be after last');
    expect(lines.join('\n')).toContain('min must not be above max');
  });
});
