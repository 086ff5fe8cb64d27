import { connect } from 'node:net';
import { checkResult, encodeRequest, MAX_REPLY_LINE_BYTES, parseReply, type ControlMethod, type ParamsOf, type ResultOf } from '../../protocols/control/contract.js';
import type { Clock, Timer } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';

/** What asking the daemon came to: its answer, or no daemon listening on the socket at all. */
export type Asked<M extends ControlMethod> = { reached: true; result: ResultOf<M> } | { reached: false; why: string };

export interface AskOptions {
  clock: Clock;
  /** Data lines of a streaming reply, in order. */
  onData?: (bytes: Uint8Array) => void;
  /** No reply line for this long: the daemon is stuck (default 30 s). */
  silenceMs?: number;
}

/**
 * Sends one request to the daemon's control socket and waits for its final answer. No socket, or
 * one nobody listens on (a daemon that died), is `reached: false`: the caller decides what is safe
 * without a daemon. Anything else that keeps the answer away (permission denied, silence, a reply
 * outside the contract) is CONTROL_UNREACHABLE; a refusal from the daemon is its own HubError.
 */
export function askDaemon<M extends ControlMethod>(path: string, method: M, params: ParamsOf<M>, o: AskOptions): Promise<Asked<M>> {
  const id = 1;
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let connected = false;
    let settled = false;
    let buffer = '';
    let timer: Timer | undefined;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      timer?.cancel();
      socket.destroy();
      fn();
    };
    const fail = (message: string, cause?: unknown): void => settle(() => reject(new HubError(ErrorCode.CONTROL_UNREACHABLE, message, cause === undefined ? {} : { cause })));
    const watch = (): void => {
      timer?.cancel();
      const silenceMs = o.silenceMs ?? 30_000;
      timer = o.clock.setTimeout(() => fail(`the daemon did not answer ${method} on ${path} within ${silenceMs / 1000} s`), silenceMs);
    };
    socket.once('connect', () => {
      connected = true;
      watch();
      socket.write(encodeRequest(id, method, params));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) {
        settle(() => resolve({ reached: false, why: err.code === 'ENOENT' ? `no control socket at ${path}` : `nothing listens on ${path}` }));
        return;
      }
      // A daemon that turned us away (busy, not our user) may close before reading our request:
      // its answer is still to be read, and 'close' follows.
      if (connected && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) return;
      const hint = err.code === 'EACCES' ? " (run as the daemon's user or root)" : '';
      fail(`cannot reach the daemon at ${path}: ${err.code ?? err.message}${hint}`, err);
    });
    socket.on('close', () => fail(`the daemon closed ${path} before answering ${method}`));
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      watch();
      buffer += text;
      for (let nl = buffer.indexOf('\n'); nl >= 0 && !settled; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const reply = parseReply(line);
        if (reply.kind === 'malformed') return fail(`the daemon's answer is outside the control contract: ${reply.problem}`);
        if (reply.kind === 'data') {
          o.onData?.(reply.bytes);
          continue;
        }
        if (reply.kind === 'error') {
          const known = ErrorCode[reply.error.code] !== undefined;
          const err = known
            ? new HubError(reply.error.code as ErrorCode, reply.error.message, { details: reply.error.details ?? [] })
            : new HubError(ErrorCode.CONTROL_UNREACHABLE, `the daemon refused with E${reply.error.code} ${reply.error.name}: ${reply.error.message}`);
          return settle(() => reject(err));
        }
        const checked = checkResult(method, reply.result);
        if (!checked.ok) return fail(`the daemon's answer is outside the control contract: ${checked.problem}`);
        return settle(() => resolve({ reached: true, result: checked.result }));
      }
      if (buffer.length > MAX_REPLY_LINE_BYTES) fail(`the daemon's answer has a line longer than ${MAX_REPLY_LINE_BYTES} bytes`);
    });
  });
}
