import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  ENVELOPE_ERRORS,
  encodeData,
  encodeError,
  encodeResult,
  MAX_REQUEST_BYTES,
  parseRequest,
  type ControlMethod,
  type ControlRequest,
  type ParamsOf,
  type ResultOf,
} from '../../protocols/control/contract.js';
import type { Clock, Timer } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { PeerCredentials, PeerReader } from './peer-credentials.js';

/** Where a streaming request writes its data; resolves once the socket can take more. */
export interface DataSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** What serves each request of the contract. */
export type ControlHandlers = { [M in ControlMethod]: (params: ParamsOf<M>, data: DataSink) => ResultOf<M> | Promise<ResultOf<M>> };

export interface ControlServerOptions {
  /** The socket's path: `<stateDir>/control.sock`. */
  path: string;
  handlers: ControlHandlers;
  clock: Clock;
  log: Logger;
  /** How the peer's uid is learned (SO_PEERCRED by default); made at start. */
  peers: () => Promise<PeerReader>;
  /** uids allowed besides root: the daemon's own. */
  allowedUids: readonly number[];
  /** Connections served at once; one more is answered busy (default 8). */
  maxConnections?: number;
  /** A connection with no request for this long is closed (default 30 s, monotonic). */
  idleMs?: number;
}

/** sun_path is 108 bytes on Linux, its NUL included (unix(7)). */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * The daemon's control socket: a unix stream socket in the state directory, mode 0600 (connecting
 * needs write permission on it, so the kernel already keeps other users out; the state directory
 * is 0700 too), and every connection's peer checked by its kernel credentials: only the daemon's
 * own uid or root is served, whatever the file's mode became. Requests are newline-delimited JSON
 * (protocols/control/contract.ts), one at a time per connection, each line bounded before it is
 * parsed; a connection that sends nothing for `idleMs` is closed.
 */
export class ControlServer implements Module {
  readonly name = 'control';
  readonly #o: Required<ControlServerOptions>;
  readonly #connections = new Set<Socket>();
  readonly #turnedAway = new Set<Socket>();
  #server: Server | undefined;
  #peerOf: PeerReader | undefined;

  constructor(options: ControlServerOptions) {
    this.#o = { maxConnections: 8, idleMs: 30_000, ...options };
  }

  get path(): string {
    return this.#o.path;
  }

  async start(): Promise<void> {
    const { path } = this.#o;
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      throw new HubError(ErrorCode.CONTROL_SOCKET_FAILED, `control socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter state directory`);
    }
    this.#peerOf = await this.#o.peers();
    await this.#clearStale(path);
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new HubError(ErrorCode.CONTROL_SOCKET_FAILED, `cannot listen on ${path}: ${err.message}`, { cause: err })));
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    server.on('error', (err) => this.#o.log.error({ err }, 'control socket error'));
    this.#server = server;
    this.#o.log.info({ path }, 'control socket listening');
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const socket of [...this.#connections, ...this.#turnedAway]) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (existsSync(this.#o.path)) unlinkSync(this.#o.path);
  }

  /** A socket file left by a daemon that died is removed; one another daemon answers on is not. */
  async #clearStale(path: string): Promise<void> {
    if (!existsSync(path)) return;
    const answered = await new Promise<boolean>((resolve) => {
      const probe = connect(path);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (answered) throw new HubError(ErrorCode.CONTROL_SOCKET_FAILED, `another keyhub daemon answers on ${path}: one daemon per state directory`);
    unlinkSync(path);
  }

  #accept(socket: Socket): void {
    const refuse = (code: number, name: string, message: string): void => turnAway(socket, encodeError(0, { code, name, message }), this.#o.clock, this.#turnedAway);
    if (this.#connections.size >= this.#o.maxConnections) {
      refuse(ENVELOPE_ERRORS.CONTROL_BUSY, 'CONTROL_BUSY', `${this.#o.maxConnections} control connections are open; try again`);
      return;
    }
    const peer = this.#peerOf?.(socket);
    if (peer === undefined || !(peer.uid === 0 || this.#o.allowedUids.includes(peer.uid))) {
      this.#o.log.warn({ peer }, 'control connection refused: not the daemon user or root');
      refuse(ENVELOPE_ERRORS.CONTROL_PEER_REFUSED, 'CONTROL_PEER_REFUSED', 'only the daemon user or root may use the control socket');
      return;
    }
    this.#connections.add(socket);
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => socket.destroy());
    new Connection(socket, peer, this.#o).run();
  }
}

/** How long a connection turned away may take to read why before it is cut. */
const TURN_AWAY_MS = 2000;

/**
 * Answers a connection that will not be served, then closes it. Half-closed, not destroyed: the
 * client's request may still be on its way, and writing into a closed socket would make it drop
 * the answer unread (EPIPE); what it sends is read and discarded until it closes or the time is up.
 */
function turnAway(socket: Socket, line: string, clock: Clock, track?: Set<Socket>): void {
  track?.add(socket);
  socket.removeAllListeners('data');
  socket.on('error', () => socket.destroy());
  socket.resume();
  socket.end(line);
  const timer = clock.setTimeout(() => socket.destroy(), TURN_AWAY_MS);
  socket.once('close', () => {
    timer.cancel();
    track?.delete(socket);
  });
}

/** One client: reads bounded lines and answers them in order. */
class Connection {
  readonly #socket: Socket;
  readonly #peer: PeerCredentials;
  readonly #o: Required<ControlServerOptions>;
  #buffer = '';
  #queue: Promise<void> = Promise.resolve();
  #idle: Timer | undefined;

  constructor(socket: Socket, peer: PeerCredentials, options: Required<ControlServerOptions>) {
    this.#socket = socket;
    this.#peer = peer;
    this.#o = options;
  }

  run(): void {
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (text: string) => this.#onData(text));
    this.#socket.on('close', () => this.#idle?.cancel());
    this.#armIdle();
  }

  #armIdle(): void {
    this.#idle?.cancel();
    this.#idle = this.#o.clock.setTimeout(() => this.#socket.destroy(), this.#o.idleMs);
  }

  #onData(text: string): void {
    this.#buffer += text;
    for (let nl = this.#buffer.indexOf('\n'); nl >= 0; nl = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      // A client gone mid-answer ends only its own connection.
      this.#queue = this.#queue.then(() => this.#answer(line)).catch(() => void this.#socket.destroy());
    }
    // A line is refused once it is too long, not read to its end: the sender may never stop.
    if (Buffer.byteLength(this.#buffer) > MAX_REQUEST_BYTES) {
      this.#buffer = '';
      this.#socket.pause();
      const refusal = encodeError(0, { code: ErrorCode.CONTROL_REQUEST_INVALID, name: 'CONTROL_REQUEST_INVALID', message: `request longer than ${MAX_REQUEST_BYTES} bytes` });
      void this.#queue.then(() => turnAway(this.#socket, refusal, this.#o.clock));
    }
  }

  async #answer(line: string): Promise<void> {
    if (this.#socket.destroyed) return;
    this.#idle?.cancel();
    const parsed = parseRequest(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!parsed.ok) {
      await this.#send(encodeError(parsed.id, { code: ErrorCode.CONTROL_REQUEST_INVALID, name: 'CONTROL_REQUEST_INVALID', message: parsed.problem }));
      this.#armIdle();
      return;
    }
    const { request } = parsed;
    this.#o.log.info({ method: request.method, id: request.id, peer: this.#peer }, 'control request');
    try {
      await this.#send(await this.#run(request));
    } catch (err) {
      const error =
        err instanceof HubError
          ? { code: err.code, name: err.codeName, message: err.message, ...(err.details.length === 0 ? {} : { details: [...err.details] }) }
          : { code: ErrorCode.CONTROL_UNREACHABLE, name: 'CONTROL_UNREACHABLE', message: `the daemon failed to answer: ${String((err as Error)?.message ?? err)}` };
      if (!(err instanceof HubError)) this.#o.log.error({ err, method: request.method }, 'control request failed');
      await this.#send(encodeError(request.id, error));
    }
    this.#armIdle();
  }

  /** Runs the request; resolves with its final line. One case per method keeps each typed by its schema. */
  async #run(request: ControlRequest): Promise<string> {
    const data: DataSink = {
      write: async (bytes) => {
        for (const line of encodeData(request.id, bytes)) await this.#send(line);
      },
    };
    const { handlers } = this.#o;
    switch (request.method) {
      case 'status':
        return encodeResult(request.id, request.method, await handlers.status(request.params, data));
      case 'trust-root':
        return encodeResult(request.id, request.method, await handlers['trust-root'](request.params, data));
      case 'audit-export':
        return encodeResult(request.id, request.method, await handlers['audit-export'](request.params, data));
    }
  }

  /** Writes a line; resolves once the socket buffer has room again (backpressure). */
  #send(line: string): Promise<void> {
    if (this.#socket.destroyed) return Promise.reject(new HubError(ErrorCode.CONTROL_UNREACHABLE, 'the control client went away'));
    if (this.#socket.write(line)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.#socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.#socket.off('drain', onDrain);
        reject(new HubError(ErrorCode.CONTROL_UNREACHABLE, 'the control client went away'));
      };
      this.#socket.once('drain', onDrain);
      this.#socket.once('close', onClose);
    });
  }
}
