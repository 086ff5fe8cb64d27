import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config/load.js';
import { networkKeyProblems } from '../../hub/config/network-keys.js';
import { parseNetworkKeys } from '../../hub/lock/zwave/security-keys.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: { cleanup(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

function load(env: Record<string, string>) {
  const dir = tempDir();
  dirs.push(dir);
  return loadConfig({ mode: 'dev', env, cwd: dir.path });
}

const failure = (env: Record<string, string>): string[] => {
  try {
    load(env);
  } catch (err) {
    if (isHubError(err, ErrorCode.CONFIG_INVALID)) return [...err.details];
    throw err;
  }
  throw new Error('config was accepted');
};

const AC = '00112233445566778899aabbccddeeff';
const AUTH = 'ffeeddccbbaa99887766554433221100';

describe('lock config', () => {
  it('defaults to no lock, a 15 s command timeout and a 1 h state max age', () => {
    expect(load({}).config.lock).toEqual({ driver: 'none', commandTimeoutMs: 15_000, stateMaxAgeS: 3600, zwave: { keys: {} } });
  });

  it('selects the Z-Wave driver with its port and S2 keys from the environment', () => {
    const { lock } = load({
      KEYHUB_LOCK__DRIVER: 'zwave',
      KEYHUB_LOCK__ZWAVE__PORT: '/dev/serial/by-id/usb-zooz',
      KEYHUB_LOCK__ZWAVE__KEYS__S2_ACCESS_CONTROL: AC,
      KEYHUB_LOCK__COMMAND_TIMEOUT_MS: '8000',
    }).config;
    expect(lock).toMatchObject({ driver: 'zwave', commandTimeoutMs: 8000, zwave: { port: '/dev/serial/by-id/usb-zooz', keys: { s2AccessControl: AC } } });
  });

  it('selects the BLE driver', () => {
    expect(load({ KEYHUB_LOCK__DRIVER: 'ble' }).config.lock.driver).toBe('ble');
  });

  it('refuses the Z-Wave driver without a port or without the S2 Access Control key', () => {
    const problems = failure({ KEYHUB_LOCK__DRIVER: 'zwave' }).join('\n');
    expect(problems).toContain('lock.zwave.port');
    expect(problems).toContain('lock.zwave.keys.s2AccessControl');
  });

  it('refuses a key that is not 32 hex digits, an all-zero key, and one key for two classes', () => {
    expect(failure({ KEYHUB_LOCK__ZWAVE__KEYS__S2_ACCESS_CONTROL: 'abc' }).join('\n')).toContain('32 hex digits');
    expect(failure({ KEYHUB_LOCK__ZWAVE__KEYS__S2_ACCESS_CONTROL: '0'.repeat(32) }).join('\n')).toContain('all-zero');
    expect(failure({ KEYHUB_LOCK__ZWAVE__KEYS__S2_ACCESS_CONTROL: AC, KEYHUB_LOCK__ZWAVE__KEYS__S0_LEGACY: AC.toUpperCase() }).join('\n')).toContain(
      'same key as s2AccessControl',
    );
  });
});

describe('network keys', () => {
  it('converts hex keys to the byte arrays zwave-js takes, under its names', () => {
    const keys = parseNetworkKeys({ s2AccessControl: AC, s2Authenticated: AUTH });
    expect(Buffer.from(keys.S2_AccessControl as Uint8Array).toString('hex')).toBe(AC);
    expect(Buffer.from(keys.S2_Authenticated as Uint8Array).toString('hex')).toBe(AUTH);
    expect(keys.S0_Legacy).toBeUndefined();
  });

  it('throws LOCK_DRIVER_FAILED with one line per problem when handed bad keys directly', () => {
    const err = (() => {
      try {
        parseNetworkKeys({ s2AccessControl: 'xyz', s0Legacy: '0'.repeat(32) });
      } catch (e) {
        return e;
      }
    })();
    expect(isHubError(err, ErrorCode.LOCK_DRIVER_FAILED)).toBe(true);
    expect((err as { details: string[] }).details).toHaveLength(2);
  });

  it('property: any 16 distinct non-zero bytes per class pass, and parse back to the same bytes', () => {
    const key = fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b.some((x) => x !== 0));
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 4, maxLength: 4, selector: (b) => Buffer.from(b).toString('hex') }), (keys) => {
        const hex = keys.map((k) => Buffer.from(k).toString('hex'));
        const set = { s2AccessControl: hex[0], s2Authenticated: hex[1], s2Unauthenticated: hex[2], s0Legacy: hex[3] };
        expect(networkKeyProblems(set)).toEqual([]);
        expect(Buffer.from(parseNetworkKeys(set).S0_Legacy as Uint8Array).toString('hex')).toBe(hex[3]);
      }),
    );
  });

  it('property: any string that is not exactly 32 hex digits is a problem', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^[0-9a-fA-F]{32}$/.test(s)),
        (s) => {
          expect(networkKeyProblems({ s2AccessControl: s })).toHaveLength(1);
        },
      ),
    );
  });
});
