import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accessPolicy } from '../../hub/access/policy.js';
import { loadConfig } from '../../hub/config/index.js';
import { HubError } from '../../hub/system/errors.js';
import { tempDir } from '../support/temp-dir.js';

const dirs: Array<ReturnType<typeof tempDir>> = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.cleanup();
});

/** Loads a dev-mode config whose file holds `access`; returns the config or the problem lines. */
function load(access?: unknown, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir('keyhub-config-access-');
  dirs.push(dir);
  const file = path.join(dir.path, '.keyhub', 'config.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ version: 1, ...(access === undefined ? {} : { access }) }));
  try {
    return { config: loadConfig({ mode: 'dev', env, cwd: dir.path }).config, problems: [] as string[] };
  } catch (err) {
    if (!(err instanceof HubError)) throw err;
    expect(err.codeName).toBe('CONFIG_INVALID');
    return { config: undefined, problems: err.details.map((l) => l.replace(file, '<file>')) };
  }
}

describe('config access section', () => {
  it('defaults to a 300 s skew, a -70 dBm BLE floor, a 50 m cloud radius and no home', () => {
    const { config } = load();
    expect(config?.access).toEqual({ clockSkewS: 300, rssiFloorDbm: -70, cloudRadiusM: 50 });
  });

  it('takes a home position of both coordinates', () => {
    const { config } = load({ home: { latE7: 525_200_000, lonE7: 134_050_000 }, cloudRadiusM: 30 });
    expect(config?.access.home).toEqual({ latE7: 525_200_000, lonE7: 134_050_000 });
  });

  it('refuses a home with only one coordinate, naming the missing one', () => {
    expect(load({ home: { latE7: 525_200_000 } }).problems).toEqual(['access.home.lonE7 (not set): expected an integer from -1800000000 to 1800000000']);
  });

  it('refuses an unknown key in the section (a typo in a door setting is never ignored)', () => {
    expect(load({ rssiFloorDBm: -60 }).problems).toEqual(['access.rssiFloorDBm (from <file>): unknown key']);
  });

  it.each([
    [{ clockSkewS: 3601 }, 'access.clockSkewS = 3601 (from <file>): expected an integer from 0 to 3600'],
    [{ clockSkewS: -1 }, 'access.clockSkewS = -1 (from <file>): expected an integer from 0 to 3600'],
    [{ rssiFloorDbm: 1 }, 'access.rssiFloorDbm = 1 (from <file>): expected an integer from -127 to 0'],
    [{ rssiFloorDbm: -70.5 }, 'access.rssiFloorDbm = -70.5 (from <file>): expected an integer from -127 to 0'],
    [{ cloudRadiusM: 9 }, 'access.cloudRadiusM = 9 (from <file>): expected an integer from 10 to 1000'],
    [{ home: { latE7: 900_000_001, lonE7: 0 } }, 'access.home.latE7 = 900000001 (from <file>): expected an integer from -900000000 to 900000000'],
    [{ home: { latE7: 0, lonE7: -1_800_000_001 } }, 'access.home.lonE7 = -1800000001 (from <file>): expected an integer from -1800000000 to 1800000000'],
  ])('refuses %j, naming the path, value and range', (access, line) => {
    expect(load(access).problems).toEqual([line]);
  });

  it('is set from KEYHUB_ACCESS__* variables like any other section', () => {
    const { config } = load(undefined, { KEYHUB_ACCESS__RSSI_FLOOR_DBM: '-55', KEYHUB_ACCESS__HOME__LAT_E7: '1', KEYHUB_ACCESS__HOME__LON_E7: '-2' });
    expect(config?.access).toMatchObject({ rssiFloorDbm: -55, home: { latE7: 1, lonE7: -2 } });
  });
});

describe('accessPolicy', () => {
  it('turns seconds into milliseconds and gives the home its radius', () => {
    expect(accessPolicy({ clockSkewS: 120, rssiFloorDbm: -60, cloudRadiusM: 40, home: { latE7: 10, lonE7: 20 } })).toEqual({
      clockSkewMs: 120_000,
      rssiFloorDbm: -60,
      home: { latE7: 10, lonE7: 20, radiusM: 40 },
    });
  });

  it('leaves the home out when none is configured, so decide() refuses the cloud path', () => {
    expect(accessPolicy({ clockSkewS: 0, rssiFloorDbm: -70, cloudRadiusM: 50 })).toEqual({ clockSkewMs: 0, rssiFloorDbm: -70 });
  });
});
