import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { authorization, pickChallenge, type Challenge, type Credentials } from '../../protocols/rtsp/auth.js';
import { RtspProtocolError } from '../../protocols/rtsp/errors.js';
import { header, headersNamed, RtspReader, serializeRequest, type Header, type ReaderLimits, type ReaderSink, type RtspRequest, type RtspResponse } from '../../protocols/rtsp/message.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';

/**
 * One TCP connection to a camera: requests matched to responses by CSeq (RFC 2326 §12.17),
 * authentication answered once per challenge and reused with a rising nonce count, interleaved
 * frames handed on as they arrive. Any framing error or timeout closes the connection; the error
 * is the one `closed` resolves with.
 */
export interface ConnectionOptions {
  host: string;
  port: number;
  clock: Clock;
  credentials: Credentials | undefined;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  limits?: Partial<ReaderLimits>;
  userAgent?: string;
  /**
   * After a read that did not fill the read buffer, wait this long (on `clock`) before reading
   * again, so one wakeup takes a whole picture's packets instead of a few: the CPU of a recorder
   * is mostly per-wakeup cost (epoll, read, the callback into JS). 0 reads as soon as bytes come.
   * The delay is far below anything that matters here (stall detection works in seconds; a
   * keep-alive answer waits at most this long), and TCP flow control holds the camera back if the
   * kernel's receive buffer fills meanwhile, so nothing is lost.
   */
  readBatchMs?: number;
  /**
   * One interleaved frame, bytes[start, end): a view into a read buffer the socket reuses, valid
   * only during the call. Whatever is kept must be copied (the depacketizer copies once).
   */
  onFrame(channel: number, bytes: Uint8Array, start: number, end: number): void;
  /** Called before the frames of each socket read: one clock reading serves all of them. */
  onRead?(): void;
  /** Aborts a TCP connect still in progress (the camera module stopping). */
  signal?: AbortSignal;
}

/** Where the socket's reads go, and how long to gather bytes between reads; set once the connection object exists. */
interface ReadSink {
  read: ((chunk: Uint8Array) => void) | undefined;
  batchMs: number;
}

/** One read takes up to this much: a 1080p I-frame burst in two or three reads. */
const READ_BUFFER_BYTES = 128 * 1024;

interface Pending {
  resolve(res: RtspResponse): void;
  reject(err: HubError): void;
  timer: { cancel(): void };
}

export function protocolError(err: unknown, what: string): HubError {
  if (err instanceof HubError) return err;
  if (err instanceof RtspProtocolError) {
    const code = err.kind === 'unsupported' ? ErrorCode.CAMERA_UNSUPPORTED : ErrorCode.CAMERA_PROTOCOL_ERROR;
    return new HubError(code, `${what}: ${err.message}`, { cause: err });
  }
  return new HubError(ErrorCode.CAMERA_PROTOCOL_ERROR, `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** The reason an AbortSignal carries, as the HubError a caller of this room expects. */
export function abortError(signal: AbortSignal | undefined): HubError {
  const reason: unknown = signal?.reason;
  return reason instanceof HubError ? reason : new HubError(ErrorCode.CAMERA_DISCONNECTED, 'camera session aborted');
}

export class RtspConnection {
  readonly closed: Promise<HubError>;
  readonly #opts: ConnectionOptions;
  readonly #socket: Socket;
  readonly #reader: RtspReader;
  readonly #sink: ReaderSink;
  readonly #reads: ReadSink;
  readonly #pending = new Map<number, Pending>();
  #cseq = 0;
  #challenge: Challenge | undefined;
  #nc = 0;
  #error: HubError | undefined;
  #resolveClosed!: (err: HubError) => void;

  private constructor(opts: ConnectionOptions, socket: Socket, sink: ReadSink) {
    this.#opts = opts;
    this.#socket = socket;
    this.#reader = new RtspReader(opts.limits);
    this.#sink = {
      interleaved: (channel, bytes, start, end) => {
        if (this.#error === undefined) opts.onFrame(channel, bytes, start, end);
      },
      message: (item) => this.#message(item),
    };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    sink.read = (chunk) => this.#data(chunk);
    this.#reads = sink;
    socket.on('error', (err) => this.fail(new HubError(ErrorCode.CAMERA_DISCONNECTED, `camera connection error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new HubError(ErrorCode.CAMERA_DISCONNECTED, 'camera closed the connection')));
  }

  static open(opts: ConnectionOptions): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      // onread with one reused buffer: no Buffer and no stream bookkeeping per TCP read. Nothing
      // may keep a view of it past the callback: the reader copies an incomplete tail, the
      // depacketizer copies payloads, each exactly once. `sink` routes reads to the connection once it exists.
      const sink: ReadSink = { read: undefined, batchMs: opts.readBatchMs ?? 0 };
      const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      let resume: { cancel(): void } | undefined;
      const socket = connect({
        host: opts.host,
        port: opts.port,
        noDelay: true,
        onread: {
          buffer,
          callback: (n: number, buf: Uint8Array): boolean => {
            sink.read?.(buf.subarray(0, n));
            // A full buffer means more is waiting: read on. Otherwise let bytes gather a while
            // (returning false pauses the socket; Node's onread contract).
            if (sink.batchMs <= 0 || n >= buf.length || socket.destroyed) return true;
            resume = opts.clock.setTimeout(() => {
              resume = undefined;
              if (!socket.destroyed) socket.resume();
            }, sink.batchMs);
            return false;
          },
        },
      });
      socket.once('close', () => resume?.cancel());
      const onAbort = (): void => {
        timer.cancel();
        socket.destroy();
        reject(abortError(opts.signal));
      };
      const timer = opts.clock.setTimeout(() => {
        opts.signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(new HubError(ErrorCode.CAMERA_UNREACHABLE, `no TCP connection to ${opts.host}:${opts.port} within ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs);
      socket.once('error', (err) => {
        timer.cancel();
        opts.signal?.removeEventListener('abort', onAbort);
        reject(new HubError(ErrorCode.CAMERA_UNREACHABLE, `cannot connect to ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
      });
      socket.once('connect', () => {
        timer.cancel();
        opts.signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(new RtspConnection(opts, socket, sink));
      });
      if (opts.signal?.aborted === true) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Changes ConnectionOptions.readBatchMs, e.g. once PLAY has answered and the stream flows. */
  set readBatchMs(ms: number) {
    this.#reads.batchMs = ms;
  }

  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? '127.0.0.1';
  }

  get localAddress(): string {
    return this.#socket.localAddress ?? '127.0.0.1';
  }

  /** Sends a request; answers a 401 once with credentials (RFC 2326 §H.15). Non-2xx is returned, not thrown. */
  async request(method: string, uri: string, headers: Header[] = []): Promise<RtspResponse> {
    let res = await this.#send(method, uri, headers);
    if (res.status === 401 && this.#opts.credentials !== undefined) {
      const offered = headersNamed(res, 'WWW-Authenticate');
      const previous = this.#challenge;
      try {
        this.#challenge = pickChallenge(offered);
      } catch (err) {
        throw protocolError(err, `${method} authentication`);
      }
      this.#nc = 0;
      // A second 401 to the same nonce means the password is wrong; a new nonce (stale) gets one retry.
      if (previous === undefined || previous.params.get('nonce') !== this.#challenge.params.get('nonce') || previous.scheme !== this.#challenge.scheme) {
        res = await this.#send(method, uri, headers);
      }
    }
    if (res.status === 401) throw new HubError(ErrorCode.CAMERA_AUTH_REFUSED, `camera refused ${method} with 401 ${res.reason}${this.#opts.credentials === undefined ? ' (no credentials configured)' : ''}`);
    return res;
  }

  /** Writes bytes that expect no answer (interleaved RTCP). */
  write(bytes: Uint8Array): void {
    if (this.#error === undefined) this.#socket.write(bytes);
  }

  fail(err: HubError): void {
    if (this.#error !== undefined) return;
    this.#error = err;
    for (const p of this.#pending.values()) {
      p.timer.cancel();
      p.reject(err);
    }
    this.#pending.clear();
    this.#socket.destroy();
    this.#resolveClosed(err);
  }

  #send(method: string, uri: string, headers: Header[]): Promise<RtspResponse> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const cseq = ++this.#cseq;
    const all: Header[] = [['CSeq', String(cseq)], ['User-Agent', this.#opts.userAgent ?? 'keyhub'], ...headers];
    if (this.#challenge !== undefined && this.#opts.credentials !== undefined) {
      all.push(['Authorization', authorization(this.#challenge, this.#opts.credentials, method, uri, randomBytes(8).toString('hex'), ++this.#nc)]);
    }
    let bytes: Uint8Array;
    try {
      bytes = serializeRequest(method, uri, all);
    } catch (err) {
      return Promise.reject(protocolError(err, `${method} request`));
    }
    return new Promise<RtspResponse>((resolve, reject) => {
      const timer = this.#opts.clock.setTimeout(() => {
        this.#pending.delete(cseq);
        const err = new HubError(ErrorCode.CAMERA_TIMEOUT, `no complete answer to ${method} within ${this.#opts.responseTimeoutMs} ms`);
        reject(err);
        this.fail(err);
      }, this.#opts.responseTimeoutMs);
      this.#pending.set(cseq, { resolve, reject, timer });
      this.#socket.write(bytes);
    });
  }

  #data(chunk: Uint8Array): void {
    if (this.#error !== undefined) return;
    this.#opts.onRead?.();
    try {
      this.#reader.read(chunk, this.#sink);
    } catch (err) {
      this.fail(protocolError(err, 'camera stream'));
    }
  }

  #message(item: RtspResponse | RtspRequest): void {
    if (this.#error !== undefined || item.type !== 'response') return;
    // Server-to-client requests (ANNOUNCE, SET_PARAMETER) are optional (RFC 2326 §10); we ignore them.
    const cseq = Number(header(item, 'CSeq'));
    const pending = this.#pending.get(cseq);
    if (pending === undefined) return; // an answer to nothing we asked: ignore (some cameras echo)
    this.#pending.delete(cseq);
    pending.timer.cancel();
    pending.resolve(item);
  }
}
