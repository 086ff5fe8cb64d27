import { RtspProtocolError } from './errors.js';

/**
 * The parts of an SDP session description (RFC 4566) an RTSP client needs: media sections, their
 * control URLs (RFC 2326 §C.1.1), rtpmap clock rates and H.264 fmtp parameters (RFC 6184 §8.1).
 */
export interface SdpMedia {
  readonly type: string;
  readonly port: number;
  readonly proto: string;
  readonly formats: readonly number[];
  readonly control: string | undefined;
  readonly rtpmap: ReadonlyMap<number, { encoding: string; clockRate: number; channels: number | undefined }>;
  readonly fmtp: ReadonlyMap<number, ReadonlyMap<string, string>>;
}

export interface Sdp {
  readonly sessionName: string;
  readonly control: string | undefined;
  readonly media: readonly SdpMedia[];
}

export interface H264Track {
  readonly payloadType: number;
  readonly clockRate: number;
  readonly control: string | undefined;
  /** RFC 6184 §5.4: 0 single NAL, 1 non-interleaved (STAP-A, FU-A); 2 (interleaved) is refused. */
  readonly packetizationMode: number;
  readonly profileLevelId: string | undefined;
  /** From sprop-parameter-sets; may be empty when the camera sends them in-band. */
  readonly sps: Uint8Array | undefined;
  readonly pps: Uint8Array | undefined;
}

const MAX_SDP_BYTES = 65_536;
const MAX_MEDIA = 16;

export function parseSdp(text: string): Sdp {
  if (text.length > MAX_SDP_BYTES) throw new RtspProtocolError('too-large', `SDP of ${text.length} bytes`);
  const lines = text.split(/\r?\n/).map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
  if (lines[0] === undefined || !/^v=0$/.test(lines[0])) throw new RtspProtocolError('malformed', 'SDP must start with v=0 (RFC 4566 §5)');
  let sessionName = '';
  let sessionControl: string | undefined;
  const media: MutableMedia[] = [];
  let current: MutableMedia | undefined;
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw new RtspProtocolError('malformed', `SDP line ${JSON.stringify(line.slice(0, 80))}`);
    const kind = line[0];
    const value = line.slice(2);
    if (kind === 'm') {
      if (media.length >= MAX_MEDIA) throw new RtspProtocolError('too-large', `more than ${MAX_MEDIA} media sections`);
      current = parseMediaLine(value);
      media.push(current);
    } else if (kind === 's' && current === undefined) {
      sessionName = value;
    } else if (kind === 'a') {
      const colon = value.indexOf(':');
      const name = colon < 0 ? value : value.slice(0, colon);
      const arg = colon < 0 ? '' : value.slice(colon + 1);
      if (name === 'control') {
        if (current === undefined) sessionControl = arg;
        else current.control = arg;
      } else if (current !== undefined && name === 'rtpmap') {
        parseRtpmap(current, arg);
      } else if (current !== undefined && name === 'fmtp') {
        parseFmtp(current, arg);
      }
    }
  }
  return { sessionName, control: sessionControl, media };
}

interface MutableMedia {
  type: string;
  port: number;
  proto: string;
  formats: number[];
  control: string | undefined;
  rtpmap: Map<number, { encoding: string; clockRate: number; channels: number | undefined }>;
  fmtp: Map<number, Map<string, string>>;
}

function parseMediaLine(value: string): MutableMedia {
  // m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 §5.14)
  const parts = value.split(' ');
  const [type, portText, proto, ...fmts] = parts;
  if (type === undefined || portText === undefined || proto === undefined || fmts.length === 0) {
    throw new RtspProtocolError('malformed', `m= line ${JSON.stringify(value.slice(0, 80))}`);
  }
  const port = Number(portText.split('/')[0]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RtspProtocolError('malformed', `m= port ${portText}`);
  const formats = fmts.map(Number).filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
  return { type, port, proto, formats, control: undefined, rtpmap: new Map(), fmtp: new Map() };
}

function parseRtpmap(media: MutableMedia, arg: string): void {
  // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
  const m = /^(\d{1,3}) ([^/\s]+)\/(\d{1,10})(?:\/(\d{1,3}))?\s*$/.exec(arg);
  if (m === null) throw new RtspProtocolError('malformed', `rtpmap ${JSON.stringify(arg.slice(0, 80))}`);
  const clockRate = Number(m[3]);
  if (clockRate <= 0) throw new RtspProtocolError('malformed', `rtpmap clock rate ${m[3]}`);
  media.rtpmap.set(Number(m[1]), { encoding: m[2] ?? '', clockRate, channels: m[4] === undefined ? undefined : Number(m[4]) });
}

function parseFmtp(media: MutableMedia, arg: string): void {
  const m = /^(\d{1,3})\s+(.*)$/.exec(arg);
  if (m === null) return; // an fmtp we cannot read is ignored; the track check decides later
  const params = new Map<string, string>();
  for (const pair of (m[2] ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    params.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
  }
  media.fmtp.set(Number(m[1]), params);
}

/** The first H.264 video track (RFC 6184 §8.2.1 media type mapping), or an 'unsupported' error. */
export function h264Track(sdp: Sdp): H264Track {
  for (const media of sdp.media) {
    if (media.type !== 'video') continue;
    for (const pt of media.formats) {
      const map = media.rtpmap.get(pt);
      if (map === undefined || map.encoding.toUpperCase() !== 'H264') continue;
      const fmtp = media.fmtp.get(pt) ?? new Map<string, string>();
      const packetizationMode = Number(fmtp.get('packetization-mode') ?? '0');
      if (packetizationMode !== 0 && packetizationMode !== 1) {
        throw new RtspProtocolError('unsupported', `H.264 packetization-mode ${fmtp.get('packetization-mode')} (only 0 and 1)`);
      }
      const sets = (fmtp.get('sprop-parameter-sets') ?? '').split(',').filter((s) => s !== '').map(decodeBase64);
      const sps = sets.find((n) => n.length > 0 && ((n[0] as number) & 0x1f) === 7);
      const pps = sets.find((n) => n.length > 0 && ((n[0] as number) & 0x1f) === 8);
      return { payloadType: pt, clockRate: map.clockRate, control: media.control, packetizationMode, profileLevelId: fmtp.get('profile-level-id'), sps, pps };
    }
  }
  throw new RtspProtocolError('unsupported', 'no H.264 video track in the session description');
}

function decodeBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new RtspProtocolError('malformed', 'sprop-parameter-sets is not base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** RFC 2326 §C.1.1: a control attribute is absolute, `*`, or relative to the content base. */
export function resolveControl(base: string, control: string | undefined): string {
  if (control === undefined || control === '' || control === '*') return base;
  if (/^rtsps?:\/\//i.test(control)) return control;
  // WHATWG URL resolves relative references against non-special schemes such as rtsp: too.
  return new URL(control, base.endsWith('/') ? base : `${base}/`).href;
}

export interface SdpOffer {
  sessionName: string;
  origin: string;
  payloadType: number;
  sps: Uint8Array;
  pps: Uint8Array;
  control: string;
}

/** What the simulated camera answers to DESCRIBE. */
export function buildH264Sdp(offer: SdpOffer): string {
  const profileLevelId = Buffer.from(offer.sps.subarray(1, 4)).toString('hex');
  const sprop = `${Buffer.from(offer.sps).toString('base64')},${Buffer.from(offer.pps).toString('base64')}`;
  return [
    'v=0',
    `o=- 0 0 IN IP4 ${offer.origin}`,
    `s=${offer.sessionName}`,
    't=0 0',
    'a=control:*',
    'a=range:npt=0-',
    `m=video 0 RTP/AVP ${offer.payloadType}`,
    'c=IN IP4 0.0.0.0',
    `a=rtpmap:${offer.payloadType} H264/90000`,
    `a=fmtp:${offer.payloadType} packetization-mode=1;profile-level-id=${profileLevelId};sprop-parameter-sets=${sprop}`,
    `a=control:${offer.control}`,
    '',
  ].join('\r\n');
}
