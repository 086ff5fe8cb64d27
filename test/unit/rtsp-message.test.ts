import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtspProtocolError } from '../../protocols/rtsp/errors.js';
import { loadH264Clip } from '../../sim/camera/clip.js';
import { framePackets } from '../../sim/camera/packets.js';
import { header, headersNamed, RtspReader, serializeInterleaved, serializeRequest, serializeResponse, type RtspItem } from '../../protocols/rtsp/message.js';

/** `npm run fuzz:camera` scales every fuzz run up; `npm test` runs the short version. */
const runs = (n: number): number => n * Number(process.env.CAMERA_FUZZ_SCALE ?? '1');

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function readAll(chunks: Uint8Array[], reader = new RtspReader()): RtspItem[] {
  return chunks.flatMap((c) => reader.push(c));
}

function expectKind(fn: () => unknown, kind: RtspProtocolError['kind']): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RtspProtocolError);
    expect((err as RtspProtocolError).kind).toBe(kind);
    return;
  }
  throw new Error('expected an RtspProtocolError');
}

describe('RTSP response and interleaved framing (RFC 2326 §7, §10.12)', () => {
  it('reads a response with headers and an SDP body', () => {
    const body = 'v=0\r\ns=x\r\n';
    const [item] = readAll([enc(`RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n${body}`)]);
    expect(item?.type).toBe('response');
    if (item?.type !== 'response') return;
    expect(item.status).toBe(200);
    expect(header(item, 'cseq')).toBe('2');
    expect(new TextDecoder().decode(item.body)).toBe(body);
  });

  it('keeps repeated headers apart so two auth challenges survive', () => {
    const [item] = readAll([enc('RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm="a"\r\nWWW-Authenticate: Digest realm="a", nonce="n"\r\n\r\n')]);
    expect(item && item.type !== 'interleaved' ? headersNamed(item, 'www-authenticate') : []).toHaveLength(2);
  });

  it('accepts bare LF line ends and folded header lines', () => {
    const [item] = readAll([enc('RTSP/1.0 200 OK\nCSeq: 3\nX-Long: a\n  b\n\n')]);
    expect(item && item.type !== 'interleaved' ? header(item, 'x-long') : undefined).toBe('a b');
  });

  it('splits interleaved frames from responses whatever the chunking', () => {
    const stream = [
      ...serializeInterleaved(0, Uint8Array.of(1, 2, 3)),
      ...enc('RTSP/1.0 200 OK\r\nCSeq: 9\r\n\r\n'),
      ...serializeInterleaved(1, new Uint8Array(300).fill(7)),
    ];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 8 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let last = 0;
        for (const p of [...points, stream.length]) {
          chunks.push(Uint8Array.from(stream.slice(last, p)));
          last = p;
        }
        const items = readAll(chunks);
        expect(items.map((i) => i.type)).toEqual(['interleaved', 'response', 'interleaved']);
        const lastItem = items[2];
        expect(lastItem?.type === 'interleaved' ? lastItem.payload.length : 0).toBe(300);
      }),
    );
  });

  it('hands out copies: a socket reusing its read buffer cannot change a frame already read', () => {
    const reused = Buffer.alloc(64);
    reused.set(serializeInterleaved(0, Uint8Array.of(1, 2, 3)));
    const reader = new RtspReader();
    const [frame] = reader.push(reused.subarray(0, 7));
    reused.fill(0xee);
    expect(frame?.type === 'interleaved' ? [...frame.payload] : []).toEqual([1, 2, 3]);
  });

  it('read() hands the same items in the same order as push(), frames as views of the bytes in hand', () => {
    const stream = Buffer.from([
      ...serializeInterleaved(0, Uint8Array.of(1, 2, 3)),
      ...enc('RTSP/1.0 200 OK\r\nCSeq: 9\r\nContent-Length: 2\r\n\r\nok'),
      ...serializeInterleaved(1, new Uint8Array(300).fill(7)),
    ]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: stream.length }), (cut) => {
        const scratch = Buffer.alloc(stream.length);
        const reader = new RtspReader();
        const seen: string[] = [];
        const sink = {
          interleaved: (channel: number, bytes: Uint8Array, start: number, end: number) => seen.push(`${channel}:${Buffer.from(bytes.subarray(start, end)).toString('hex')}`),
          message: (item: RtspItem) => seen.push(item.type === 'response' ? `${item.status}:${Buffer.from(item.body).toString()}` : item.type),
        };
        for (let o = 0; o < stream.length; o += cut) {
          const n = Math.min(cut, stream.length - o);
          stream.copy(scratch, 0, o, o + n);
          reader.read(scratch.subarray(0, n), sink);
          scratch.fill(0xee); // a socket's next read lands in the same buffer
        }
        const pushed = readAll([stream]).map((i) => (i.type === 'interleaved' ? `${i.channel}:${Buffer.from(i.payload).toString('hex')}` : i.type === 'response' ? `${i.status}:${Buffer.from(i.body).toString()}` : i.type));
        expect(seen).toEqual(pushed);
        expect(seen).toHaveLength(3);
      }),
    );
  });

  it('cuts off a header that never ends instead of buffering it', () => {
    const reader = new RtspReader({ maxHeaderBytes: 1024 });
    reader.push(enc('RTSP/1.0 200 OK\r\n'));
    expectKind(() => {
      for (let i = 0; i < 100; i++) reader.push(enc(`X-Pad-${i}: ${'z'.repeat(40)}\r\n`));
    }, 'too-large');
    expect(reader.buffered).toBeLessThan(2048);
  });

  it('refuses a Content-Length beyond the body bound before reading the body', () => {
    expectKind(() => readAll([enc('RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 2147483648\r\n\r\n')]), 'too-large');
  });

  it('refuses an interleaved frame longer than its bound', () => {
    expectKind(() => readAll([Uint8Array.of(0x24, 0, 0xff, 0xff)], new RtspReader({ maxFrameBytes: 4096 })), 'too-large');
  });

  it('fails at once on binary garbage where a message must start', () => {
    expectKind(() => readAll([Uint8Array.of(0x80, 0x60, 0x12, 0x34)]), 'malformed');
  });

  it('refuses a malformed Content-Length, start line or header name', () => {
    expectKind(() => readAll([enc('RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n')]), 'malformed');
    expectKind(() => readAll([enc('HTTP/1.1 200 OK\r\n\r\n')]), 'malformed');
    expectKind(() => readAll([enc('RTSP/1.0 200 OK\r\nBad Name: x\r\n\r\n')]), 'malformed');
  });

  it('refuses to write a header value that would smuggle another header', () => {
    expectKind(() => serializeRequest('OPTIONS', 'rtsp://h/', [['CSeq', '1\r\nX-Evil: 1']]), 'malformed');
  });

  it('round-trips requests and responses it writes', () => {
    const req = serializeRequest('SETUP', 'rtsp://h/s/trackID=0', [['CSeq', '3'], ['Transport', 'RTP/AVP/TCP;unicast;interleaved=0-1']]);
    const res = serializeResponse(200, 'OK', [['CSeq', '3']], enc('hello'));
    const [a, b] = readAll([req, res]);
    expect(a?.type === 'request' && a.method).toBe('SETUP');
    expect(b?.type === 'response' && new TextDecoder().decode(b.body)).toBe('hello');
  });

  it("fuzz: mutated captures of the sim camera's stream never crash and never hold more than the bounds", () => {
    // What the simulated camera sends after PLAY: an answer, then RTP of its first pictures.
    const clip = loadH264Clip();
    const sender = { ssrc: 7, sequence: 0 };
    const capture = [
      ...enc('RTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: 1234\r\nRTP-Info: url=rtsp://127.0.0.1/stream/trackID=0;seq=0\r\n\r\n'),
      ...clip.frames.slice(0, 4).flatMap((f, i) => framePackets(clip, f, i * 3000, sender, 900).flatMap((p) => [...serializeInterleaved(0, p)])),
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(capture.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.integer({ min: 1, max: 64 }), (mutations, chunk) => {
        const bytes = Uint8Array.from(capture);
        for (const [at, v] of mutations) bytes[at] = v;
        const reader = new RtspReader({ maxHeaderBytes: 512, maxBodyBytes: 512, maxFrameBytes: 1024 });
        try {
          for (let o = 0; o < bytes.length; o += chunk) reader.push(bytes.subarray(o, o + chunk));
        } catch (err) {
          expect(err).toBeInstanceOf(RtspProtocolError);
        }
        expect(reader.buffered).toBeLessThanOrEqual(512 + 512 + 64);
      }),
      { numRuns: runs(2000) },
    );
  });
});
