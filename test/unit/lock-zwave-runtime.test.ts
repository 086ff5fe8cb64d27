import { describe, expect, it } from 'vitest';
import { loadZwave, radio, radioError, zwaveRejectionGuard } from '../../hub/lock/zwave/zwave-runtime.js';
import { ErrorCode, HubError, isHubError } from '../../hub/system/errors.js';
import { silentLog } from '../support/silent-log.js';

describe('zwave-js runtime glue', () => {
  const zw = loadZwave();
  const zwaveError = new zw.zw.ZWaveError('Node 2 does not support the Command Class Security!', zw.core.ZWaveErrorCodes.CC_NotSupported);
  const abort = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });

  it('drops a ZWaveError nobody awaited (a frame zwave-js failed on) instead of ending the process', () => {
    expect(() => zwaveRejectionGuard(zw, silentLog(), false)(zwaveError)).not.toThrow();
  });

  it('rethrows anything else, as Node would by default', () => {
    const other = new Error('a bug elsewhere');
    expect(() => zwaveRejectionGuard(zw, silentLog(), false)(other)).toThrow(other);
    expect(() => zwaveRejectionGuard(undefined, silentLog(), false)(zwaveError)).toThrow();
  });

  it('tolerates an AbortError only while a driver is being closed', () => {
    expect(() => zwaveRejectionGuard(zw, silentLog(), true)(abort)).not.toThrow();
    expect(() => zwaveRejectionGuard(zw, silentLog(), false)(abort)).toThrow(abort);
  });

  it('turns a failed exchange into LOCK_UNREACHABLE with the cause kept, and lets a HubError through', async () => {
    const err = await radio(() => Promise.reject(zwaveError), 'unlock').catch((e: unknown) => e);
    expect(isHubError(err, ErrorCode.LOCK_UNREACHABLE)).toBe(true);
    expect((err as HubError).cause).toBe(zwaveError);
    const timeout = new HubError(ErrorCode.LOCK_TIMEOUT, 'no outcome');
    expect(radioError(timeout, 'unlock')).toBe(timeout);
    await expect(radio(async () => 7, 'read')).resolves.toBe(7);
  });
});
