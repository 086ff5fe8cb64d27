import type { KeepAliveMethod } from '../../protocols/rtsp/keep-alive.js';
import type { RtspResponse } from '../../protocols/rtsp/message.js';
import type { Clock, Timer } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';

/**
 * Keeps one RTSP session alive (RFC 2326 §12.37): a request carrying the session every
 * `intervalMs`, with the method the server offers (protocols/rtsp/keep-alive.ts). A keep-alive the
 * server refuses means the session is gone or going (454 Session Not Found after it expired, or a
 * server that takes neither method): that is the session's end, handed to `fail`, not a log line,
 * so the camera module reconnects at once instead of waiting for the pictures to stop.
 */
export interface KeepAliveOptions {
  clock: Clock;
  log: Logger;
  intervalMs: number;
  method: KeepAliveMethod;
  /** Sends `method` with the Session header; rejects when the connection failed (its own error says why). */
  request(method: KeepAliveMethod): Promise<RtspResponse>;
  fail(err: HubError): void;
}

export interface KeepAlive {
  /** The method in use now (GET_PARAMETER falls back to OPTIONS once refused with 405 or 501). */
  readonly method: KeepAliveMethod;
  cancel(): void;
}

export function startKeepAlive(opts: KeepAliveOptions): KeepAlive {
  let method = opts.method;
  let inFlight = false;
  let cancelled = false;
  const send = async (): Promise<void> => {
    // One at a time: a slow camera must not collect a queue of them (its answer timeout ends the connection).
    if (inFlight || cancelled) return;
    inFlight = true;
    let res: RtspResponse;
    try {
      res = await opts.request(method);
    } catch {
      return; // the connection has failed, and its `closed` carries the reason
    } finally {
      inFlight = false;
    }
    if (cancelled || (res.status >= 200 && res.status < 300)) return;
    if (method === 'GET_PARAMETER' && (res.status === 405 || res.status === 501)) {
      // §10.8: GET_PARAMETER is optional. The server takes none after all: OPTIONS from now on,
      // and one now, since this refresh did not count.
      opts.log.warn({ status: res.status }, 'camera refused GET_PARAMETER as keep-alive; using OPTIONS');
      method = 'OPTIONS';
      void send();
      return;
    }
    opts.fail(new HubError(ErrorCode.CAMERA_REQUEST_FAILED, `keep-alive ${method} answered ${res.status} ${res.reason}: the camera no longer keeps the session`));
  };
  const timer: Timer = opts.clock.setInterval(() => void send(), opts.intervalMs);
  return {
    get method() {
      return method;
    },
    cancel() {
      cancelled = true;
      timer.cancel();
    },
  };
}
