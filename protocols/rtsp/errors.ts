/**
 * What the pure RTSP code reports when bytes break the rules. protocols/ cannot see the hub's
 * HubError; hub/camera maps each `kind` to a numbered camera code.
 */
export type RtspErrorKind =
  /** A start line, header, SDP line or RTP packet that does not parse. */
  | 'malformed'
  /** A bound was hit: header too long, body or interleaved frame too big, too many NAL units. */
  | 'too-large'
  /** Valid syntax, but nothing keyhub can use (no H.264 track, unknown auth scheme, …). */
  | 'unsupported';

export class RtspProtocolError extends Error {
  override readonly name = 'RtspProtocolError';
  readonly kind: RtspErrorKind;

  constructor(kind: RtspErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
