import { createHash, timingSafeEqual } from 'node:crypto';
import { RtspProtocolError } from './errors.js';

/**
 * HTTP authentication as RTSP/1.0 uses it (RFC 2326 §H.15, §H.44): Basic (RFC 7617) and Digest
 * (RFC 2617, RFC 7616) with qop=auth, MD5 / SHA-256 and their -sess variants. Pure functions: the
 * caller supplies the client nonce, so results are reproducible in tests.
 */
export interface Challenge {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

const ALGORITHMS: Record<string, string> = { 'MD5': 'md5', 'MD5-SESS': 'md5', 'SHA-256': 'sha256', 'SHA-256-SESS': 'sha256' };
const MAX_HEADER = 4096;

/** Parses one `WWW-Authenticate` / `Authorization` value: a scheme, then token68 or auth-params (RFC 7235 §2.1). */
export function parseChallenge(value: string): Challenge {
  if (value.length > MAX_HEADER) throw new RtspProtocolError('too-large', 'authentication header too long');
  const m = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?:\s+(.*))?$/s.exec(value);
  if (m === null) throw new RtspProtocolError('malformed', 'authentication header without a scheme');
  const scheme = (m[1] ?? '').toLowerCase();
  const params = new Map<string, string>();
  let rest = m[2] ?? '';
  const param = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/s;
  while (rest.trim() !== '') {
    const p = param.exec(rest);
    if (p === null) {
      if (scheme === 'basic' || params.size === 0) break; // token68 or junk after the scheme: not params
      throw new RtspProtocolError('malformed', `auth-param list ${JSON.stringify(rest.slice(0, 60))}`);
    }
    const quoted = p[2];
    params.set((p[1] ?? '').toLowerCase(), quoted !== undefined ? quoted.replace(/\\(.)/gs, '$1') : (p[3] ?? ''));
    rest = rest.slice(p[0].length);
  }
  return { scheme, params };
}

/** The strongest challenge we can answer: Digest with a known algorithm over Basic. */
export function pickChallenge(values: readonly string[]): Challenge {
  const parsed = values.map(parseChallenge);
  const digest = parsed.filter((c) => c.scheme === 'digest' && (c.params.get('algorithm') ?? 'MD5').toUpperCase() in ALGORITHMS);
  const best = digest.find((c) => (c.params.get('algorithm') ?? '').toUpperCase().startsWith('SHA-256')) ?? digest[0] ?? parsed.find((c) => c.scheme === 'basic');
  if (best === undefined) throw new RtspProtocolError('unsupported', `no supported authentication scheme among: ${parsed.map((c) => c.scheme).join(', ') || 'none'}`);
  return best;
}

function hash(algorithm: string, text: string): string {
  return createHash(ALGORITHMS[algorithm.toUpperCase()] ?? 'md5').update(text, 'utf8').digest('hex');
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export interface DigestInputs {
  algorithm: string;
  realm: string;
  nonce: string;
  qop: 'auth' | undefined;
  cnonce: string;
  nc: string;
  method: string;
  uri: string;
}

/** RFC 7616 §3.4.1 response, RFC 2617 §3.2.2.1 without qop. */
export function digestResponse(cred: Credentials, d: DigestInputs): string {
  let ha1 = hash(d.algorithm, `${cred.username}:${d.realm}:${cred.password}`);
  if (d.algorithm.toUpperCase().endsWith('-SESS')) ha1 = hash(d.algorithm, `${ha1}:${d.nonce}:${d.cnonce}`);
  const ha2 = hash(d.algorithm, `${d.method}:${d.uri}`);
  return d.qop === undefined ? hash(d.algorithm, `${ha1}:${d.nonce}:${ha2}`) : hash(d.algorithm, `${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`);
}

/**
 * The `Authorization` value answering `challenge` for one request. `nc` counts requests made with
 * the same nonce (RFC 7616 §3.4: the server may use it to detect replays).
 */
export function authorization(challenge: Challenge, cred: Credentials, method: string, uri: string, cnonce: string, nc: number): string {
  if (challenge.scheme === 'basic') {
    if (cred.username.includes(':')) throw new RtspProtocolError('unsupported', 'Basic auth user names cannot contain ":" (RFC 7617 §2)');
    return `Basic ${Buffer.from(`${cred.username}:${cred.password}`, 'utf8').toString('base64')}`;
  }
  if (challenge.scheme !== 'digest') throw new RtspProtocolError('unsupported', `auth scheme ${challenge.scheme}`);
  const realm = challenge.params.get('realm') ?? '';
  const nonce = challenge.params.get('nonce');
  if (nonce === undefined) throw new RtspProtocolError('malformed', 'Digest challenge without a nonce');
  const algorithm = challenge.params.get('algorithm') ?? 'MD5';
  if (!(algorithm.toUpperCase() in ALGORITHMS)) throw new RtspProtocolError('unsupported', `Digest algorithm ${algorithm}`);
  const offered = (challenge.params.get('qop') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (offered.length > 0 && !offered.includes('auth')) throw new RtspProtocolError('unsupported', `Digest qop ${offered.join(',')} (only auth)`);
  const qop = offered.includes('auth') ? 'auth' : undefined;
  const ncText = nc.toString(16).padStart(8, '0');
  const response = digestResponse(cred, { algorithm, realm, nonce, qop, cnonce, nc: ncText, method, uri });
  const parts = [`username=${quote(cred.username)}`, `realm=${quote(realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`, `response=${quote(response)}`];
  if (challenge.params.has('algorithm')) parts.push(`algorithm=${algorithm}`);
  const opaque = challenge.params.get('opaque');
  if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${ncText}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}

/** Server side (the simulated camera): does this `Authorization` value prove the password? */
export function verifyDigest(authorizationValue: string, expected: { credentials: Credentials; realm: string; nonce: string; method: string }): boolean {
  let parsed: Challenge;
  try {
    parsed = parseChallenge(authorizationValue);
  } catch {
    return false;
  }
  const p = parsed.params;
  if (parsed.scheme !== 'digest') return false;
  if (p.get('username') !== expected.credentials.username || p.get('realm') !== expected.realm || p.get('nonce') !== expected.nonce) return false;
  const qop = p.get('qop');
  if (qop !== undefined && qop !== 'auth') return false;
  const algorithm = p.get('algorithm') ?? 'MD5';
  if (!(algorithm.toUpperCase() in ALGORITHMS)) return false;
  const want = digestResponse(expected.credentials, {
    algorithm,
    realm: expected.realm,
    nonce: expected.nonce,
    qop,
    cnonce: p.get('cnonce') ?? '',
    nc: p.get('nc') ?? '',
    method: expected.method,
    uri: p.get('uri') ?? '',
  });
  const got = p.get('response') ?? '';
  return got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
}
