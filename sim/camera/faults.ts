/**
 * What the simulated camera can be made to do wrong: what real cameras, relays in front of them
 * and attackers do. Every switch can be flipped while sessions run; one-shot switches clear
 * themselves once done.
 */
export interface CameraFaults {
  /**
   * Keep TCP and answer RTSP, but send no RTP (nor sender reports): the Wi-Fi deauthentication
   * case, and with it a relay whose publisher died without a TEARDOWN, which goes on answering
   * DESCRIBE, SETUP and PLAY with 200 for every new session and sends nothing.
   */
  freeze: boolean;
  /** Drop every Nth RTP packet (0: none). */
  dropEvery: number;
  /** Write binary junk into the RTSP/interleaved stream once, then go on. */
  garbage: boolean;
  /** Answer the next request with a header that never ends, one line at a time. */
  slowLoris: boolean;
  /** Close the TCP connection halfway through the next GOP (one-shot). */
  closeMidGop: boolean;
  /** Answer every request 401, whatever the credentials. */
  refuseAuth: boolean;
  /** Send one malformed RTCP packet, then an APP packet, on the next sender report. */
  badRtcp: boolean;
  /** No GET_PARAMETER in OPTIONS' Public list, and GET_PARAMETER answered 405 (it refreshes nothing). */
  noGetParameter: boolean;
  /**
   * End a session no request has named (Session header) for this many seconds, as RFC 2326
   * §12.37 lets a server do: RTP stops and the session id is answered 454 from then on. 0: never.
   * May be shorter than the `timeout=` the camera advertises (sessionTimeoutS), as some do.
   */
  expireAfterS: number;
  /** Answer a SETUP for RTP over TCP with this status (461 Unsupported Transport or 400 Bad Request): a UDP-only server. 0: TCP is fine. */
  refuseTcp: 0 | 400 | 461;
  /** Answer a SETUP for RTP over UDP with 461: a TCP-only server. */
  refuseUdp: boolean;
  /** Send the current GOP again and again, its timestamps rising: a relay replaying its last pictures (a frozen image). */
  repeatGop: boolean;
  /** RTP timestamps stop advancing: every picture carries the same one. */
  stopTimestamps: boolean;
  /** One-shot: at the next keyframe the RTP timestamp steps back this many seconds (a source restarting its loop). 0: none. */
  rewindS: number;
  /** The camera died: every connection is closed now, and each new one as it comes, until cleared. */
  down: boolean;
}

export function noFaults(): CameraFaults {
  return {
    freeze: false,
    dropEvery: 0,
    garbage: false,
    slowLoris: false,
    closeMidGop: false,
    refuseAuth: false,
    badRtcp: false,
    noGetParameter: false,
    expireAfterS: 0,
    refuseTcp: 0,
    refuseUdp: false,
    repeatGop: false,
    stopTimestamps: false,
    rewindS: 0,
    down: false,
  };
}
