import { createLogger, type Logger } from '../../hub/system/logger.js';

export function silentLog(): Logger {
  return createLogger({ level: 'silent', format: 'json' });
}
