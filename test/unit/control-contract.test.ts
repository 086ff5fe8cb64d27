import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../hub/system/errors.js';
import {
  CONTROL_METHODS,
  CONTROL_REQUESTS,
  encodeData,
  encodeError,
  encodeRequest,
  encodeResult,
  ENVELOPE_ERRORS,
  EXPORT_CHUNK_BYTES,
  MAX_REPLY_LINE_BYTES,
  MAX_REQUEST_BYTES,
  parseReply,
  parseRequest,
} from '../../protocols/control/contract.js';

const KEY = 'ab'.repeat(32);
const line = (text: string): string => text.replace(/\n$/, '');

describe('the control contract (protocols/control)', () => {
  it('reads back every request it encodes', () => {
    expect(parseRequest(line(encodeRequest(7, 'status', {})))).toEqual({ ok: true, request: { id: 7, method: 'status', params: {} } });
    expect(parseRequest(line(encodeRequest(8, 'trust-root', { key: KEY, replace: true })))).toEqual({ ok: true, request: { id: 8, method: 'trust-root', params: { key: KEY, replace: true } } });
    expect(parseRequest(line(encodeRequest(9, 'audit-export', { from: 3, format: 'cbor' })))).toMatchObject({ ok: true, request: { method: 'audit-export', params: { from: 3, format: 'cbor' } } });
  });

  it('refuses what is no request, saying why, with the id when it had a readable one', () => {
    expect(parseRequest('{"v":1,')).toEqual({ ok: false, id: 0, problem: 'request is not JSON' });
    expect(parseRequest(JSON.stringify({ v: 2, id: 4, method: 'status', params: {} }))).toMatchObject({ ok: false, id: 4 });
    expect(parseRequest(JSON.stringify({ v: 1, id: 5, method: 'reboot', params: {} }))).toEqual({ ok: false, id: 5, problem: 'unknown method "reboot"; known: status, trust-root, audit-export' });
    expect(parseRequest(JSON.stringify({ v: 1, id: 6, method: 'status', params: { all: true } }))).toMatchObject({ ok: false, id: 6, problem: expect.stringMatching(/^status params: /) });
    // Only lowercase hex of exactly 32 bytes: the CLI reads files and PEM, the daemon never does.
    expect(parseRequest(JSON.stringify({ v: 1, id: 7, method: 'trust-root', params: { key: KEY.toUpperCase(), replace: false } }))).toMatchObject({ ok: false, id: 7 });
    expect(parseRequest(JSON.stringify({ v: 1, id: 8, method: 'audit-export', params: { from: 0, format: 'jsonl' } }))).toMatchObject({ ok: false, id: 8 });
    expect(parseRequest(JSON.stringify({ v: 1, id: 2 ** 31, method: 'status', params: {} }))).toMatchObject({ ok: false, id: 0 });
    expect(parseRequest(`{"v":1,"id":1,"method":"status","params":{},"pad":"${'x'.repeat(MAX_REQUEST_BYTES)}"}`)).toEqual({ ok: false, id: 0, problem: `request longer than ${MAX_REQUEST_BYTES} bytes` });
  });

  it('streams data in lines of at most one chunk that read back to the same bytes, then a result or an error', () => {
    const bytes = new Uint8Array(EXPORT_CHUNK_BYTES * 2 + 5).map((_, i) => i % 251);
    const lines = encodeData(3, bytes);
    expect(lines).toHaveLength(3);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(MAX_REPLY_LINE_BYTES);
    const back = lines.map((l) => parseReply(line(l))).map((r) => (r.kind === 'data' ? r.bytes : new Uint8Array()));
    expect(Buffer.concat(back)).toEqual(Buffer.from(bytes));
    expect(parseReply(line(encodeResult(3, 'audit-export', { hubId: 'kh-1', from: 1, to: 2, events: 2 })))).toEqual({ kind: 'result', id: 3, result: { hubId: 'kh-1', from: 1, to: 2, events: 2 } });
    expect(parseReply(line(encodeError(3, { code: 608, name: 'AUDIT_RANGE_INVALID', message: 'no' })))).toEqual({ kind: 'error', id: 3, error: { code: 608, name: 'AUDIT_RANGE_INVALID', message: 'no' } });
    expect(parseReply('{"v":1,"id":3,"ok":true}')).toMatchObject({ kind: 'malformed' });
    expect(parseReply(`{"v":1,"id":3,"data":"${'A'.repeat(MAX_REPLY_LINE_BYTES)}"}`)).toEqual({ kind: 'malformed', problem: `reply line longer than ${MAX_REPLY_LINE_BYTES} bytes` });
  });

  it('names each error by the number ErrorCode gives it', () => {
    const named = [ENVELOPE_ERRORS, ...CONTROL_METHODS.map((m) => CONTROL_REQUESTS[m].errors)].flatMap((e) => Object.entries(e));
    expect(named.length).toBeGreaterThan(3);
    for (const [name, number] of named) expect(ErrorCode[name as keyof typeof ErrorCode], name).toBe(number);
  });

  it('property: no line, however mangled, makes a parser throw', () => {
    const valid = [encodeRequest(1, 'trust-root', { key: KEY, replace: false }), ...encodeData(1, new Uint8Array(40)), encodeResult(1, 'status', {} as never)].map(line);
    const mangled = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom(...valid).chain((v) => fc.tuple(fc.nat(v.length), fc.string({ maxLength: 8 })).map(([at, s]) => v.slice(0, at) + s + v.slice(at + 1))));
    fc.assert(
      fc.property(mangled, (text) => {
        expect(() => parseRequest(text)).not.toThrow();
        expect(() => parseReply(text)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});
