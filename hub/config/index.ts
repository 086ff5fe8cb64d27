/** The configuration's public face: main.ts and the CLI import from here. */
export { CONFIG_VERSION, LOG_FORMATS, LOG_LEVELS, configSchema, type HubConfig } from './schema.js';
export { loadConfig, type LoadConfigOptions, type LoadedConfig } from './load.js';
export { CONFIG_MIGRATIONS, type ConfigMigration } from './migrations.js';
export {
  ENV_PREFIX,
  RESERVED_ENV_VARS,
  envVarName,
  listConfigEnvVars,
  type ConfigEnvVar,
} from './env.js';
export { defaultConfigPath, type ConfigMode } from './defaults.js';
export { describeSource, type ConfigSource } from './layers.js';
