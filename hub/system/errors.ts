/**
 * One error type for the whole hub. Every failure a person may have to act on carries a numeric
 * code from one enum, in ranges (DESIGN.md, "Rules of the house"):
 *   1xx config · 2xx access · 3xx lock · 4xx camera · 5xx cloud · 6xx store · 7xx lan · 8xx system.
 * A code, once shipped, keeps its number and meaning: couriers' handhelds, the cloud and exported
 * audit logs see it. Add new codes at the end of their range; never renumber.
 */
export enum ErrorCode {
  // 1xx config
  CONFIG_INVALID = 100,
  CONFIG_UNREADABLE = 101,
  CONFIG_NEWER_VERSION = 102,
  CONFIG_MIGRATION_MISSING = 103,

  // 6xx store
  STORE_OPEN_FAILED = 600,
  STORE_NEWER_SCHEMA = 601,
  STORE_MIGRATION_FAILED = 602,
  STORE_MIGRATIONS_BROKEN = 603,
  STORE_BACKUP_FAILED = 604,

  // 8xx system (daemon lifecycle, service manager)
  MODULE_START_FAILED = 800,
  SHUTDOWN_DEADLINE_EXCEEDED = 801,
}

export type ErrorRange = 'config' | 'access' | 'lock' | 'camera' | 'cloud' | 'store' | 'lan' | 'system';

const RANGES: readonly ErrorRange[] = ['config', 'access', 'lock', 'camera', 'cloud', 'store', 'lan', 'system'];

export function rangeOf(code: ErrorCode): ErrorRange {
  const range = RANGES[Math.floor(code / 100) - 1];
  if (range === undefined) throw new RangeError(`error code ${code} is outside every range`);
  return range;
}

export interface HubErrorOptions {
  cause?: unknown;
  /** Extra lines a person needs to act (e.g. one per config problem). */
  details?: readonly string[];
}

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: ErrorCode;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }

  /** The enum name, e.g. `STORE_NEWER_SCHEMA`. */
  get codeName(): string {
    return ErrorCode[this.code];
  }

  get range(): ErrorRange {
    return rangeOf(this.code);
  }

  /** One line for a terminal or a journal: `E601 STORE_NEWER_SCHEMA: …`. */
  toLine(): string {
    return `E${this.code} ${this.codeName}: ${this.message}`;
  }

  toJSON(): { code: number; codeName: string; message: string; details: readonly string[] } {
    return { code: this.code, codeName: this.codeName, message: this.message, details: this.details };
  }
}

export function isHubError(err: unknown, code?: ErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}

/** sysexits.h: the service manager and installers read these. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  SOFTWARE: 70,
  CONFIG: 78,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof HubError && err.range === 'config') return ExitCode.CONFIG;
  return ExitCode.FAILURE;
}
