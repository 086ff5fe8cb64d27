/**
 * Is 32 bytes a public key a root may be? node:crypto imports any 32 bytes as an Ed25519 key,
 * including encodings that are no point at all and points of small order. Under a small-order key
 * (the identity, say) a forged signature verifies for every message: R = [s]B makes RFC 8032's
 * check [s]B = R + [k]A hold whatever k is (OpenSSL 3.0 and tweetnacl accept it; OpenSSL 3.5, in
 * Node 24, refuses it at verify, which the hub does not rely on). A pinned root like that would let
 * anyone sign keyrings, so the pinned root is checked here, once, with plain BigInt arithmetic (no
 * installed library exposes point decoding; this runs once per `keyhub trust-root`, not per grant).
 */

/** The field prime 2^255 − 19 and the curve constant d = −121665/121666 (RFC 8032 §5.1). */
const P = 2n ** 255n - 19n;
const D = mod(-121665n * inverse(121666n));
/** sqrt(−1) mod p, for the second square-root candidate (RFC 8032 §5.1.3 step 3). */
const SQRT_M1 = power(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function inverse(a: bigint): bigint {
  return power(a, P - 2n); // Fermat: p is prime
}

/** RFC 8032 §5.1.3: the point an encoding names, or why it names none. */
function decode(raw: Uint8Array): { x: bigint; y: bigint } | string {
  let y = 0n;
  for (const byte of raw.toReversed()) y = (y << 8n) | BigInt(byte); // little-endian
  const sign = y >> 255n;
  y &= (1n << 255n) - 1n;
  if (y >= P) return 'its y coordinate is not below 2^255 - 19 (a non-canonical encoding)';
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * power(v, 3n) * power(u * power(v, 7n), (P - 5n) / 8n));
  if (mod(v * x * x) === mod(-u)) x = mod(x * SQRT_M1);
  else if (mod(v * x * x) !== u) return 'it is not a point of edwards25519';
  if (x === 0n && sign === 1n) return 'it is not a point of edwards25519 (x = 0 with the sign bit set)';
  if ((x & 1n) !== sign) x = P - x;
  return { x, y };
}

/** Twisted Edwards addition, a = −1; complete on edwards25519 since d is not a square. */
function add(p: { x: bigint; y: bigint }, q: { x: bigint; y: bigint }): { x: bigint; y: bigint } {
  const t = mod(D * p.x * q.x * p.y * q.y);
  return { x: mod((p.x * q.y + p.y * q.x) * inverse(1n + t)), y: mod((p.y * q.y + p.x * q.x) * inverse(1n - t)) };
}

/** Undefined for a key fit to be trusted, else why not (one line). */
export function publicKeyProblem(raw: Uint8Array): string | undefined {
  if (raw.length !== 32) return `an Ed25519 public key is 32 bytes, got ${raw.length}`;
  const point = decode(raw);
  if (typeof point === 'string') return point;
  // The group is the prime-order subgroup times 8 torsion points: small order means [8]A is the identity.
  let a = point;
  for (let i = 0; i < 3; i++) a = add(a, a);
  if (a.x === 0n && a.y === 1n) return 'it is a point of small order, under which signatures can be forged';
  return undefined;
}
