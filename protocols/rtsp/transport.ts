/**
 * The Transport header of a SETUP answer (RFC 2326 §12.39): what the camera actually chose, which
 * may differ from what was asked. Only the parameters a client acts on: the interleaved channel
 * pair (RTP, RTCP) over TCP, the server's port pair over UDP, and the SSRC it announced.
 */
export interface TransportChoice {
  /** `interleaved=a-b`: RTP on channel a, RTCP on b (b defaults to a + 1). */
  readonly interleaved: { readonly rtp: number; readonly rtcp: number } | undefined;
  /** `server_port=x-y`: where the camera sends RTP from and takes RTCP on. */
  readonly serverPorts: { readonly rtp: number; readonly rtcp: number } | undefined;
  readonly ssrc: number | undefined;
}

/** Reads the first transport spec of the header; parameters it does not know or cannot read are left out. */
export function parseTransport(value: string): TransportChoice {
  const first = value.split(',')[0] ?? '';
  let interleaved: TransportChoice['interleaved'];
  let serverPorts: TransportChoice['serverPorts'];
  let ssrc: number | undefined;
  for (const raw of first.split(';')) {
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const name = raw.slice(0, eq).trim().toLowerCase();
    const arg = raw.slice(eq + 1).trim();
    if (name === 'interleaved') {
      const range = pair(arg, 0, 255);
      if (range !== undefined) interleaved = range;
    } else if (name === 'server_port') {
      // Port 0 is no port (a socket cannot send to it): such an answer gives no RTCP target.
      const range = pair(arg, 1, 65_535);
      if (range !== undefined) serverPorts = range;
    } else if (name === 'ssrc' && /^[0-9a-f]{1,8}$/i.test(arg)) {
      ssrc = Number.parseInt(arg, 16) >>> 0;
    }
  }
  return { interleaved, serverPorts, ssrc };
}

function pair(text: string, min: number, max: number): { rtp: number; rtcp: number } | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (m === null) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  if (a < min || b < min || a > max || b > max) return undefined;
  return { rtp: a, rtcp: b };
}

export type TransportKind = 'tcp' | 'udp';

/**
 * The Transport header of a SETUP request (§12.39): RTP and RTCP interleaved on channels 0-1 of
 * the RTSP connection (§10.12), or RTP over UDP to an even client port with RTCP on the next
 * (RFC 3550 §11).
 */
export function transportRequest(kind: TransportKind, clientRtpPort?: number): string {
  if (kind === 'tcp') return 'RTP/AVP/TCP;unicast;interleaved=0-1';
  if (clientRtpPort === undefined) throw new RangeError('RTP over UDP needs a client port');
  return `RTP/AVP;unicast;client_port=${clientRtpPort}-${clientRtpPort + 1}`;
}

/**
 * A SETUP answer that refuses the transport rather than the stream: 461 Unsupported Transport
 * (§11.4.16), or 400 Bad Request, which some servers give a lower transport they do not take.
 * Another transport may then work where retrying the same one never will.
 */
export function refusesTransport(status: number): boolean {
  return status === 461 || status === 400;
}
