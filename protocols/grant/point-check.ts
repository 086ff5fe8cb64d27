/**
 * Is 32 bytes a public key the hub may use? The one check every public key that enters the hub
 * goes through: the pinned root, the issuers of a keyring, a grant's subject key, the hub key a
 * handheld checks a receipt with, a command's issuer, and (as a Curve25519 key) the BLE lock's.
 *
 * node:crypto imports any 32 bytes as an Ed25519 key, including points of small order (OpenSSL
 * 3.5, in Node 24, refuses such forgeries at verify; the hub does not rely on it). Under a small-order key (the identity, say) a forged signature verifies for many
 * messages: R = [s]B makes RFC 8032's check [s]B = R + [k]A hold whenever [k]A is the identity,
 * i.e. for one message in 8 at worst, and R = identity, S = 0 for every message under the identity.
 * X25519 (RFC 7748) has the same hole: a small-order peer key makes the shared secret all zeros
 * (RFC 7748 §6.1), so the "shared" key is one anyone can compute.
 *
 * Plain BigInt arithmetic (no installed library exposes point decoding). Doublings run in
 * projective coordinates, so one check costs one field exponentiation (an addition chain, as in
 * ref10's fe_pow22523), about 60 µs: the subject key cache (hub/access/key-cache.ts) runs it once
 * per key.
 */

/** The field prime 2^255 − 19 and the curve constant d = −121665/121666 (RFC 8032 §5.1). */
const P = 2n ** 255n - 19n;
const D = mod(-121665n * inverse(121666n));
/** sqrt(−1) mod p, for the second square-root candidate (RFC 8032 §5.1.3 step 3). */
const SQRT_M1 = power(2n, (P - 1n) / 4n);
/** Curve25519's Montgomery coefficient A (RFC 7748 §4.1). */
const A = 486662n;

export const SMALL_ORDER = 'it is a point of small order, under which signatures can be forged';
export const SMALL_ORDER_X25519 = 'it is a point of small order: the shared key would be one anyone can compute';

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

const LOW_255 = (1n << 255n) - 1n;
/** a·b mod p for 0 ≤ a, b < p, reducing with 2^255 ≡ 19 (mod p): shifts instead of a division. */
function mul(a: bigint, b: bigint): bigint {
  let x = a * b;
  x = (x & LOW_255) + 19n * (x >> 255n);
  x = (x & LOW_255) + 19n * (x >> 255n);
  return x >= P ? x - P : x;
}

/** Square-and-multiply; only for the constants above (made once per process). */
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

/** z^(2^n) mod p: n squarings. */
function squareTimes(z: bigint, n: number): bigint {
  let r = z;
  for (let i = 0; i < n; i++) r = mul(r, r);
  return r;
}

/** z^(2^250 − 1) and z^2, z^4 (ref10's addition chain, shared by both exponents below). */
function chain250(z: bigint): { z250: bigint; z2: bigint; z4: bigint } {
  const z2 = mul(z, z);
  const z4 = mul(z2, z2);
  const z9 = mul(mul(z4, z4), z);
  const z11 = mul(z9, z2);
  const z5_0 = mul(mul(z11, z11), z9); // z^(2^5 − 1)
  const z10_0 = mul(squareTimes(z5_0, 5), z5_0);
  const z20_0 = mul(squareTimes(z10_0, 10), z10_0);
  const z40_0 = mul(squareTimes(z20_0, 20), z20_0);
  const z50_0 = mul(squareTimes(z40_0, 10), z10_0);
  const z100_0 = mul(squareTimes(z50_0, 50), z50_0);
  const z200_0 = mul(squareTimes(z100_0, 100), z100_0);
  const z250 = mul(squareTimes(z200_0, 50), z50_0);
  return { z250, z2, z4 };
}

/** z^((p − 5) / 8) = z^(2^252 − 3), the exponent of RFC 8032 §5.1.3 step 3. */
function powP58(z: bigint): bigint {
  return mul(squareTimes(chain250(z).z250, 2), z);
}

/** Euler's criterion: z^((p − 1) / 2) = z^(2^254 − 10) is 1 for a non-zero square, 0 for 0. */
function legendre(z: bigint): bigint {
  const { z250, z2, z4 } = chain250(z);
  return mul(mul(squareTimes(z250, 4), z4), z2);
}

/** The little-endian integer 32 bytes encode. */
function littleEndian(raw: Uint8Array): bigint {
  let n = 0n;
  for (let i = raw.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(raw[i] as number);
  return n;
}

/** RFC 8032 §5.1.3: the point an encoding names, or why it names none. */
function decode(raw: Uint8Array): { x: bigint; y: bigint } | string {
  let y = littleEndian(raw);
  const sign = y >> 255n;
  y &= (1n << 255n) - 1n;
  if (y >= P) return 'its y coordinate is not below 2^255 - 19 (a non-canonical encoding)';
  const y2 = mul(y, y);
  const u = mod(y2 - 1n);
  const v = mod(mul(D, y2) + 1n);
  const v3 = mul(mul(v, v), v);
  const v7 = mul(mul(v3, v3), v);
  let x = mul(mul(u, v3), powP58(mul(u, v7)));
  const vxx = mul(mul(v, x), x);
  if (vxx === mod(-u)) x = mul(x, SQRT_M1);
  else if (vxx !== u) return 'it is not a point of edwards25519';
  if (x === 0n && sign === 1n) return 'it is not a point of edwards25519 (x = 0 with the sign bit set)';
  if ((x & 1n) !== sign) x = P - x;
  return { x, y };
}

/**
 * [8]A is the identity: A has small order. The group is the prime-order subgroup times the 8
 * torsion points. Doubling in projective (X : Y : Z) coordinates with a = −1 ("dbl-2008-hwcd",
 * Hisil–Wong–Carter–Dawson 2008, §3.3), so no inversion is needed; the identity is (0 : c : c).
 */
function hasSmallOrder(point: { x: bigint; y: bigint }): boolean {
  let X = point.x;
  let Y = point.y;
  let Z = 1n;
  for (let i = 0; i < 3; i++) {
    const a = mul(X, X);
    const b = mul(Y, Y);
    const c = mod(2n * mul(Z, Z));
    const e = mod(mul(mod(X + Y), mod(X + Y)) - a - b);
    const g = mod(b - a); // D + B with D = aA = −A
    const f = mod(g - c);
    const h = mod(-a - b); // D − B
    X = mul(e, f);
    Y = mul(g, h);
    Z = mul(f, g);
  }
  return X === 0n && Y === Z;
}

/** Undefined for an Ed25519 public key fit to be trusted, else why not (one line). */
export function publicKeyProblem(raw: Uint8Array): string | undefined {
  if (raw.length !== 32) return `an Ed25519 public key is 32 bytes, got ${raw.length}`;
  const point = decode(raw);
  if (typeof point === 'string') return point;
  if (hasSmallOrder(point)) return SMALL_ORDER;
  return undefined;
}

/**
 * Undefined for a Curve25519 (X25519, RFC 7748) public key fit to share a key with, else why not.
 * Only the canonical encoding of a point on the curve whose order is not small is fit: RFC 7748 §5
 * makes receivers mask the top bit and reduce u mod p, so refusing those forms keeps one encoding
 * per key; a u on the quadratic twist is no key a lock could have made.
 */
export function curve25519KeyProblem(raw: Uint8Array): string | undefined {
  if (raw.length !== 32) return `a Curve25519 public key is 32 bytes, got ${raw.length}`;
  const n = littleEndian(raw);
  if (n >> 255n !== 0n) return 'its top bit is set (a non-canonical encoding)';
  if (n >= P) return 'its u coordinate is not below 2^255 - 19 (a non-canonical encoding)';
  // v² = u³ + A·u² + u (RFC 7748 §4.1): u names a point of the curve when the right side is a square.
  const u = n;
  const rhs = mod(mul(mul(u, u), mod(u + A)) + u);
  if (legendre(rhs) > 1n) return 'it is not a point of Curve25519 (it lies on the twist)';
  // x-only doubling (RFC 7748 §5's ladder step with both inputs equal): the point at infinity is Z = 0.
  let X = u;
  let Z = 1n;
  for (let i = 0; i < 3; i++) {
    const xx = mul(X, X);
    const zz = mul(Z, Z);
    const xz = mul(X, Z);
    const diff = mod(xx - zz);
    X = mul(diff, diff);
    Z = mul(mod(4n * xz), mod(xx + mul(A, xz) + zz));
  }
  if (Z === 0n) return SMALL_ORDER_X25519;
  return undefined;
}
