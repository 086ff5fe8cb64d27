import { join, resolve } from 'node:path';
import type { ConfigSource, RawObject } from './layers.js';

/**
 * The defaults that depend on how keyhub runs. Mode-independent defaults sit in the schema.
 *
 * production: a systemd service. systemd passes `ConfigurationDirectory=` and `StateDirectory=`
 *   as `$CONFIGURATION_DIRECTORY` / `$STATE_DIRECTORY` (a colon-separated list when the unit
 *   names several; keyhub uses the first), else the FHS places. JSON logs to the journal,
 *   sd_notify on.
 * dev: `npm start` in a checkout. Everything under `./.keyhub` in the working directory,
 *   pretty debug logs, no sd_notify, the embedded MQTT broker.
 */

export type ConfigMode = 'production' | 'dev';

export const PRODUCTION_CONFIG_PATH = '/etc/keyhub/config.json';
export const PRODUCTION_STATE_DIR = '/var/lib/keyhub';
export const DEV_DIR = '.keyhub';
export const CONFIG_FILE_NAME = 'config.json';

export interface ModeDefaults {
  readonly layer: RawObject;
  /** The defaults layer's source for `stateDir` (an env variable when systemd gave it). */
  readonly stateDirSource: ConfigSource;
}

/** The first entry of a systemd directory variable, or undefined when unset or empty. */
export function systemdDirectory(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const first = env[name]?.split(':')[0];
  return first === undefined || first === '' ? undefined : first;
}

/** Where the config file is looked for when neither `--config` nor `KEYHUB_CONFIG` names one. */
export function defaultConfigPath(mode: ConfigMode, env: NodeJS.ProcessEnv, cwd: string): string {
  if (mode === 'dev') return resolve(cwd, DEV_DIR, CONFIG_FILE_NAME);
  const dir = systemdDirectory(env, 'CONFIGURATION_DIRECTORY');
  return dir === undefined ? PRODUCTION_CONFIG_PATH : resolve(cwd, join(dir, CONFIG_FILE_NAME));
}

export function modeDefaults(mode: ConfigMode, env: NodeJS.ProcessEnv, cwd: string): ModeDefaults {
  if (mode === 'dev') {
    return {
      layer: {
        stateDir: resolve(cwd, DEV_DIR),
        log: { level: 'debug', format: 'pretty' },
        systemd: { notify: false },
        // The simulated home: aedes in-process on 127.0.0.1 with a CA made at first start.
        cloud: { broker: 'embedded' },
      },
      stateDirSource: { kind: 'default' },
    };
  }
  const stateDir = systemdDirectory(env, 'STATE_DIRECTORY');
  return {
    layer: {
      stateDir: resolve(cwd, stateDir ?? PRODUCTION_STATE_DIR),
      log: { level: 'info', format: 'json' },
      systemd: { notify: true },
    },
    stateDirSource: stateDir === undefined ? { kind: 'default' } : { kind: 'env', name: 'STATE_DIRECTORY' },
  };
}
