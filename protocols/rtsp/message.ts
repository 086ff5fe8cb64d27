import { RtspProtocolError } from './errors.js';

/**
 * RTSP/1.0 messages (RFC 2326 §6, §7) and the TCP interleaved framing that shares their byte stream
 * (RFC 2326 §10.12): `$`, a channel byte, a 16-bit big-endian length, then that many bytes of RTP or
 * RTCP. One reader takes the stream in arbitrary chunks and yields whole items; every buffer it keeps
 * is bounded, so a peer that sends an endless header or a huge Content-Length gets an error, not our
 * memory.
 */
export type Header = readonly [name: string, value: string];

export interface RtspResponse {
  readonly type: 'response';
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly Header[];
  readonly body: Uint8Array;
}

export interface RtspRequest {
  readonly type: 'request';
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  readonly headers: readonly Header[];
  readonly body: Uint8Array;
}

export interface InterleavedFrame {
  readonly type: 'interleaved';
  readonly channel: number;
  readonly payload: Uint8Array;
}

export type RtspItem = RtspResponse | RtspRequest | InterleavedFrame;

export interface ReaderLimits {
  /** Start line + headers, terminator included. */
  maxHeaderBytes: number;
  /** Content-Length cap (an SDP is a few KB). */
  maxBodyBytes: number;
  /** Interleaved frame cap; the wire format allows 65535. */
  maxFrameBytes: number;
  /** Header line count cap. */
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ReaderLimits = { maxHeaderBytes: 16_384, maxBodyBytes: 65_536, maxFrameBytes: 65_535, maxHeaders: 64 };

const DOLLAR = 0x24;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^RTSP\/(\d\.\d) (\d{3})(?: (.*))?$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) RTSP\/(\d\.\d)$/;

export function header(msg: { headers: readonly Header[] }, name: string): string | undefined {
  const lower = name.toLowerCase();
  return msg.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

export function headersNamed(msg: { headers: readonly Header[] }, name: string): string[] {
  const lower = name.toLowerCase();
  return msg.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

const encoder = new TextEncoder();

function serialize(startLine: string, headers: readonly Header[], body: Uint8Array | undefined): Uint8Array {
  const lines = [startLine];
  for (const [name, value] of headers) {
    // A CR or LF inside a value would let a caller smuggle a header (RFC 2326 §4: lines end in CRLF).
    if (!TOKEN.test(name) || /[\r\n]/.test(value)) throw new RtspProtocolError('malformed', `refusing header ${JSON.stringify(name)}`);
    lines.push(`${name}: ${value}`);
  }
  if (body !== undefined && body.length > 0) lines.push(`Content-Length: ${body.length}`);
  const head = encoder.encode(`${lines.join('\r\n')}\r\n\r\n`);
  if (body === undefined || body.length === 0) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

export function serializeRequest(method: string, uri: string, headers: readonly Header[], body?: Uint8Array): Uint8Array {
  if (!TOKEN.test(method) || /\s/.test(uri)) throw new RtspProtocolError('malformed', `refusing request line ${method} ${uri}`);
  return serialize(`${method} ${uri} RTSP/1.0`, headers, body);
}

export function serializeResponse(status: number, reason: string, headers: readonly Header[], body?: Uint8Array): Uint8Array {
  return serialize(`RTSP/1.0 ${status} ${reason.replace(/[\r\n]/g, ' ')}`, headers, body);
}

export function serializeInterleaved(channel: number, payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff) throw new RtspProtocolError('too-large', `interleaved payload of ${payload.length} bytes`);
  const out = new Uint8Array(4 + payload.length);
  out[0] = DOLLAR;
  out[1] = channel & 0xff;
  out[2] = payload.length >> 8;
  out[3] = payload.length & 0xff;
  out.set(payload, 4);
  return out;
}

/** Where `RtspReader.read` hands items: frames as borrowed views, messages as owned objects. */
export interface ReaderSink {
  interleaved(channel: number, bytes: Uint8Array, start: number, end: number): void;
  message(item: RtspResponse | RtspRequest): void;
}

/**
 * Incremental reader. `push(chunk)` returns every item completed by that chunk; it throws
 * RtspProtocolError on bytes that break the framing, after which the connection must be dropped.
 */
export class RtspReader {
  readonly #limits: ReaderLimits;
  #buf: Uint8Array = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  #failed = false;

  constructor(limits: Partial<ReaderLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes held waiting for the rest of an item. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  push(chunk: Uint8Array): RtspItem[] {
    const items: RtspItem[] = [];
    this.read(chunk, {
      // Items outlive the chunk: each frame is copied out.
      interleaved: (channel, bytes, start, end) => items.push({ type: 'interleaved', channel, payload: copyOut(bytes, start, end) }),
      message: (item) => items.push(item),
    });
    return items;
  }

  /**
   * The streaming form of `push`, with no allocation per interleaved frame: each frame is handed
   * to `sink.interleaved` as `bytes[start, end)`, a view into the caller's chunk or this reader's
   * buffer that is valid only during the call (a socket may reuse its read buffer for the next
   * read). A sink that keeps bytes must copy them.
   */
  read(chunk: Uint8Array, sink: ReaderSink): void {
    if (this.#failed) throw new RtspProtocolError('malformed', 'reader already failed');
    if (this.#start !== this.#end) {
      this.#append(chunk);
      this.#drain(sink);
      if (this.#start === this.#end) this.#start = this.#end = 0;
      return;
    }
    // Nothing held: parse straight from the caller's bytes and keep only an incomplete tail.
    // Saves a copy of every byte of video in the common case.
    const own = this.#buf;
    this.#buf = chunk;
    this.#start = 0;
    this.#end = chunk.length;
    try {
      this.#drain(sink);
    } finally {
      const rest = chunk.subarray(this.#start, this.#end);
      this.#buf = own;
      this.#start = this.#end = 0;
      if (!this.#failed && rest.length > 0) this.#append(rest);
    }
  }

  #drain(sink: ReaderSink): void {
    try {
      while (this.#next(sink)) {
        // each call hands one item to the sink
      }
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    const cap = Math.max(this.#limits.maxHeaderBytes + this.#limits.maxBodyBytes, this.#limits.maxFrameBytes + 4);
    if (this.#end + chunk.length > this.#buf.length) {
      // Compact first; grow only as far as one maximal item needs. Items are parsed as soon as they
      // are complete, so held bytes above `cap` plus this chunk never accumulate unbounded.
      const need = held + chunk.length;
      const size = need <= this.#buf.length ? this.#buf.length : Math.max(need, Math.min(this.#buf.length * 2, cap + chunk.length));
      const next = size === this.#buf.length ? this.#buf : new Uint8Array(size);
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Hands the next complete item to `sink`; false when none is complete yet. */
  #next(sink: ReaderSink): boolean {
    const avail = this.#end - this.#start;
    if (avail === 0) return false;
    const buf = this.#buf;
    const s = this.#start;
    if (buf[s] === DOLLAR) {
      if (avail < 4) return false;
      const channel = buf[s + 1] as number;
      const length = ((buf[s + 2] as number) << 8) | (buf[s + 3] as number);
      if (length > this.#limits.maxFrameBytes) throw new RtspProtocolError('too-large', `interleaved frame of ${length} bytes on channel ${channel}`);
      if (avail < 4 + length) return false;
      // Consumed before the sink runs: a sink that throws leaves the reader past this frame.
      this.#start += 4 + length;
      sink.interleaved(channel, buf, s + 4, s + 4 + length);
      return true;
    }
    const headEnd = findHeadEnd(buf, s, this.#end);
    if (headEnd === undefined) {
      if (avail > this.#limits.maxHeaderBytes) throw new RtspProtocolError('too-large', `header block exceeds ${this.#limits.maxHeaderBytes} bytes`);
      // A message starts with a token; anything else (binary garbage) fails now, not after 16 KB.
      checkStartPlausible(buf.subarray(s, Math.min(this.#end, s + 16)));
      return false;
    }
    if (headEnd.end - s > this.#limits.maxHeaderBytes) throw new RtspProtocolError('too-large', `header block exceeds ${this.#limits.maxHeaderBytes} bytes`);
    const head = latin1(buf.subarray(s, headEnd.headerEnd));
    const { startLine, headers } = splitHead(head, this.#limits.maxHeaders);
    const lengthText = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
    let bodyLength = 0;
    if (lengthText !== undefined) {
      if (!/^\d{1,12}$/.test(lengthText.trim())) throw new RtspProtocolError('malformed', `Content-Length ${JSON.stringify(lengthText)}`);
      bodyLength = Number(lengthText.trim());
      if (bodyLength > this.#limits.maxBodyBytes) throw new RtspProtocolError('too-large', `body of ${bodyLength} bytes exceeds ${this.#limits.maxBodyBytes}`);
    }
    if (this.#end - headEnd.end < bodyLength) return false;
    const body = copyOut(buf, headEnd.end, headEnd.end + bodyLength);
    this.#start = headEnd.end + bodyLength;
    sink.message(parseStartLine(startLine, headers, body));
    return true;
  }
}

/**
 * A fresh copy: items outlive the caller's buffer (a socket may reuse it), and Buffer#slice would
 * return a view, not a copy, when the caller passes a Node Buffer.
 */
function copyOut(buf: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(buf.subarray(from, to));
  return out;
}

function checkStartPlausible(prefix: Uint8Array): void {
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix[i] as number;
    if (c === 0x20 || c === 0x0d || c === 0x0a || c === 0x2f) return; // reached the first separator
    if (c < 0x21 || c > 0x7e) throw new RtspProtocolError('malformed', `byte 0x${c.toString(16)} where an RTSP message or '$' frame must start`);
  }
}

function findHeadEnd(buf: Uint8Array, from: number, to: number): { headerEnd: number; end: number } | undefined {
  // RFC 2326 §4 says CRLF; servers in the wild send bare LF, which we accept (robustness).
  for (let i = from; i < to - 1; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { headerEnd: i, end: i + 2 };
    if (buf[i + 1] === 0x0d && i + 2 < to && buf[i + 2] === 0x0a) return { headerEnd: i, end: i + 3 };
  }
  return undefined;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function splitHead(head: string, maxHeaders: number): { startLine: string; headers: Header[] } {
  const lines = head.split(/\r?\n/);
  const startLine = (lines.shift() ?? '').replace(/\r$/, '');
  const headers: Header[] = [];
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (line === '') continue;
    if (/^[ \t]/.test(line)) {
      // Folded continuation line (RFC 2326 §4.2 inherits RFC 2616 §2.2 LWS).
      const last = headers.pop();
      if (last === undefined) throw new RtspProtocolError('malformed', 'continuation line before any header');
      headers.push([last[0], `${last[1]} ${line.trim()}`]);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RtspProtocolError('malformed', `header line without a name: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new RtspProtocolError('malformed', `header name ${JSON.stringify(name.slice(0, 80))}`);
    headers.push([name, line.slice(colon + 1).trim()]);
    if (headers.length > maxHeaders) throw new RtspProtocolError('too-large', `more than ${maxHeaders} headers`);
  }
  return { startLine, headers };
}

function parseStartLine(startLine: string, headers: Header[], body: Uint8Array): RtspResponse | RtspRequest {
  const status = STATUS_LINE.exec(startLine);
  if (status !== null) {
    return { type: 'response', version: status[1] ?? '1.0', status: Number(status[2]), reason: status[3] ?? '', headers, body };
  }
  const request = REQUEST_LINE.exec(startLine);
  if (request !== null) {
    return { type: 'request', method: request[1] ?? '', uri: request[2] ?? '', version: request[3] ?? '1.0', headers, body };
  }
  throw new RtspProtocolError('malformed', `start line ${JSON.stringify(startLine.slice(0, 120))}`);
}
