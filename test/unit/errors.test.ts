import { describe, expect, it } from 'vitest';
import { ErrorCode, ExitCode, HubError, exitCodeFor, isHubError, rangeOf } from '../../hub/system/errors.js';

describe('HubError', () => {
  it('files every code in the range its hundreds digit names', () => {
    const expected: Record<number, string> = { 1: 'config', 2: 'access', 3: 'lock', 4: 'camera', 5: 'cloud', 6: 'store', 7: 'lan', 8: 'system' };
    for (const value of Object.values(ErrorCode).filter((v): v is number => typeof v === 'number')) {
      expect(rangeOf(value)).toBe(expected[Math.floor(value / 100)]);
    }
  });

  it('never gives two names the same number', () => {
    const numbers = Object.values(ErrorCode).filter((v) => typeof v === 'number');
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('prints as one line with its number and name', () => {
    const err = new HubError(ErrorCode.STORE_NEWER_SCHEMA, 'database is newer');
    expect(err.toLine()).toBe('E601 STORE_NEWER_SCHEMA: database is newer');
    expect(err.range).toBe('store');
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 601, codeName: 'STORE_NEWER_SCHEMA', message: 'database is newer', details: [] });
  });

  it('maps config errors to EX_CONFIG and everything else to a plain failure', () => {
    expect(exitCodeFor(new HubError(ErrorCode.CONFIG_INVALID, 'x'))).toBe(ExitCode.CONFIG);
    expect(exitCodeFor(new HubError(ErrorCode.STORE_OPEN_FAILED, 'x'))).toBe(ExitCode.FAILURE);
    expect(exitCodeFor(new Error('x'))).toBe(ExitCode.FAILURE);
  });

  it('keeps its cause and recognises its code', () => {
    const cause = new Error('disk');
    const err = new HubError(ErrorCode.STORE_BACKUP_FAILED, 'backup failed', { cause });
    expect(err.cause).toBe(cause);
    expect(isHubError(err, ErrorCode.STORE_BACKUP_FAILED)).toBe(true);
    expect(isHubError(err, ErrorCode.STORE_OPEN_FAILED)).toBe(false);
    expect(isHubError(cause)).toBe(false);
  });

  it('refuses a number outside every range', () => {
    expect(() => rangeOf(42 as ErrorCode)).toThrow(RangeError);
  });
});
