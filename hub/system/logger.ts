import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type Logger = PinoLogger;
export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** File descriptor to write to; stderr by default, so stdout stays clean for command output. */
  fd?: number;
}

/**
 * The root logger. Modules never create loggers: main.ts hands each one `log.child({ module })`.
 * Pretty output is formatted synchronously in-process (no transport worker thread), which keeps
 * startup and idle memory low and loses no lines on exit. pino-pretty (a CommonJS package) is
 * required only for a pretty logger: a production daemon logs JSON and never loads it.
 */
export function createLogger(options: LoggerOptions): Logger {
  const fd = options.fd ?? 2;
  const base = {
    level: options.level,
    base: { pid: process.pid },
    // Secrets that may sit in config or in error objects never reach a log.
    redact: { paths: ['*.password', '*.secret', '*.s2Keys', '*.privateKey', 'config.*.password'], censor: '[redacted]' },
  };
  if (options.format === 'pretty') {
    const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino(base, pinoPretty({ destination: fd, sync: true, colorize: process.stderr.isTTY, ignore: 'pid,hostname' }));
  }
  return pino(base, pino.destination({ fd, sync: true }));
}
