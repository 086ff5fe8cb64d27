import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keepAliveIntervalMs, keepAliveMethod, parseSessionHeader, publicMethods } from '../../protocols/rtsp/keep-alive.js';
import { refusesTransport, transportRequest } from '../../protocols/rtsp/transport.js';

describe('the Session header and the keep-alive it calls for (RFC 2326 §12.37)', () => {
  it('reads the session id and timeout, with 60 s when there is none', () => {
    expect(parseSessionHeader('12345678;timeout=20')).toEqual({ id: '12345678', timeoutS: 20 });
    expect(parseSessionHeader('abc; Timeout = 7')).toEqual({ id: 'abc', timeoutS: 7 });
    expect(parseSessionHeader('abc')).toEqual({ id: 'abc', timeoutS: 60 });
    expect(parseSessionHeader('abc;timeout=0')).toEqual({ id: 'abc', timeoutS: 60 });
    expect(parseSessionHeader('abc;timeout=-5')).toEqual({ id: 'abc', timeoutS: 60 });
    expect(parseSessionHeader('abc;timeout=1e9')).toEqual({ id: 'abc', timeoutS: 60 });
  });

  it('refuses an empty or unprintable session id', () => {
    expect(parseSessionHeader('')).toBeUndefined();
    expect(parseSessionHeader(' ;timeout=5')).toBeUndefined();
    expect(parseSessionHeader('a b')).toBeUndefined();
    expect(parseSessionHeader('x'.repeat(257))).toBeUndefined();
  });

  it('refreshes at half the timeout, never slower than every 30 s nor faster than twice a second, whatever the camera says', () => {
    expect(keepAliveIntervalMs(60)).toBe(30_000);
    expect(keepAliveIntervalMs(10)).toBe(5_000);
    expect(keepAliveIntervalMs(1)).toBe(500);
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (param) => {
        const parsed = parseSessionHeader(`id;${param}`);
        const ms = keepAliveIntervalMs(parsed?.timeoutS ?? 60);
        expect(ms).toBeGreaterThanOrEqual(500);
        expect(ms).toBeLessThanOrEqual(30_000);
        // Always within the timeout the camera gave, so one refresh lands before it expires the session.
        expect(ms).toBeLessThan((parsed?.timeoutS ?? 60) * 1000);
      }),
    );
  });

  it('uses GET_PARAMETER only when the server lists it in Public, OPTIONS otherwise', () => {
    expect(keepAliveMethod('OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN')).toBe('GET_PARAMETER');
    expect(keepAliveMethod('options,describe,setup,play,get_parameter')).toBe('GET_PARAMETER');
    expect(keepAliveMethod('OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN')).toBe('OPTIONS');
    expect(keepAliveMethod('OPTIONS, SET_PARAMETER')).toBe('OPTIONS');
    expect(keepAliveMethod(undefined)).toBe('OPTIONS');
    expect([...publicMethods(' PLAY ,, TEARDOWN')]).toEqual(['PLAY', 'TEARDOWN']);
  });
});

describe('SETUP transports (RFC 2326 §12.39)', () => {
  it('asks for interleaved TCP on channels 0-1 or UDP on an even port pair', () => {
    expect(transportRequest('tcp')).toBe('RTP/AVP/TCP;unicast;interleaved=0-1');
    expect(transportRequest('udp', 50_000)).toBe('RTP/AVP;unicast;client_port=50000-50001');
    expect(() => transportRequest('udp')).toThrow(RangeError);
  });

  it('takes 461 Unsupported Transport and 400 Bad Request as a refusal of the transport, other answers not', () => {
    expect(refusesTransport(461)).toBe(true);
    expect(refusesTransport(400)).toBe(true);
    for (const status of [200, 401, 403, 404, 453, 454, 500, 501, 503]) expect(refusesTransport(status)).toBe(false);
  });
});
