/**
 * What keeps an RTSP session alive (RFC 2326): the Session header a SETUP answer carries
 * (§12.37: the session id and how long the server waits between requests before it ends the
 * session), and which request a client may use to say it is still there. The server says which
 * methods it takes in the Public header of its OPTIONS answer (§12.28); GET_PARAMETER with the
 * session (§10.8) is the usual keep-alive, and where a server does not list it, common clients
 * send OPTIONS with the Session header instead (§10.1 lets OPTIONS be issued at any time).
 */
export interface SessionHeader {
  readonly id: string;
  /** `timeout=` in seconds; 60 when absent or unreadable (§12.37's default). */
  readonly timeoutS: number;
}

export const DEFAULT_SESSION_TIMEOUT_S = 60;

/**
 * §3.4 has session-id = 1*( ALPHA | DIGIT | safe ); cameras stray from it, so any visible ASCII is
 * taken (the request serializer refuses CR and LF in any header value), bounded in length.
 */
const SESSION_ID = /^[\x21-\x7e]{1,256}$/;

/** Reads `id[;timeout=N]`; undefined when there is no usable session id. */
export function parseSessionHeader(value: string): SessionHeader | undefined {
  const [rawId = '', ...params] = value.split(';');
  const id = rawId.trim();
  if (!SESSION_ID.test(id)) return undefined;
  let timeoutS = DEFAULT_SESSION_TIMEOUT_S;
  for (const param of params) {
    const m = /^\s*timeout\s*=\s*(\d{1,9})\s*$/i.exec(param);
    if (m !== null && Number(m[1]) > 0) timeoutS = Number(m[1]);
  }
  return { id, timeoutS };
}

/**
 * How often to refresh a session: at half its timeout, so one lost or slow answer still lands in
 * time; at least every 30 s (a server may count from its own clock), at most twice a second (a
 * `timeout=1` must not turn into a request flood).
 */
export function keepAliveIntervalMs(timeoutS: number): number {
  return Math.max(500, Math.min(30_000, timeoutS * 500));
}

/** The methods of a Public header (§12.28), upper-cased. */
export function publicMethods(value: string | undefined): ReadonlySet<string> {
  if (value === undefined) return new Set();
  return new Set(
    value
      .split(',')
      .map((m) => m.trim().toUpperCase())
      .filter((m) => m !== ''),
  );
}

export type KeepAliveMethod = 'GET_PARAMETER' | 'OPTIONS';

/** GET_PARAMETER when the server lists it; OPTIONS otherwise (also when it lists nothing at all). */
export function keepAliveMethod(publicHeader: string | undefined): KeepAliveMethod {
  return publicMethods(publicHeader).has('GET_PARAMETER') ? 'GET_PARAMETER' : 'OPTIONS';
}
