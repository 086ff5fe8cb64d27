import { createHash, verify } from 'node:crypto';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { publicKeyObject, signingKeyFromSeed } from '../../protocols/grant/ed25519.js';
import { SMALL_ORDER, SMALL_ORDER_X25519, curve25519KeyProblem, publicKeyProblem } from '../../protocols/grant/point-check.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

/**
 * The small-order encodings (libsodium's blocklist in crypto_core/ed25519/ref10, ge25519_has_small_order):
 * the identity, the points of order 2 and 4, and the four of order 8 (two with the sign bit set).
 */
const SMALL_ORDER_KEYS = {
  'identity (order 1)': '0100000000000000000000000000000000000000000000000000000000000000',
  'order 2': 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'order 4': '0000000000000000000000000000000000000000000000000000000000000000',
  'order 4, other sign': '0000000000000000000000000000000000000000000000000000000000000080',
  'order 8': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'order 8, other sign': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'order 8 (second)': 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'order 8 (second), other sign': 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
};

/** A signature (R, s) with R = [s]B: under a small-order key A, RFC 8032's [s]B = R + [k]A holds whenever [k]A is the identity. */
function forgery(): Uint8Array {
  const seed = new Uint8Array(32).fill(42);
  const a = createHash('sha512').update(seed).digest().subarray(0, 32);
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64; // RFC 8032 §5.1.5 clamping: the public key is [a]B
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = BigInt(`0x${Buffer.from(a).reverse().toString('hex')}`) % L;
  const sBytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++, s >>= 8n) sBytes[i] = Number(s & 0xffn);
  return Uint8Array.from([...signingKeyFromSeed(seed).publicKey, ...sBytes]);
}

describe('publicKeyProblem (may this Ed25519 key be trusted?)', () => {
  it('accepts the RFC 8032 §7.1 test vector keys', () => {
    for (const k of ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025']) {
      expect(publicKeyProblem(hex(k))).toBeUndefined();
    }
  });

  it('accepts every key made from a seed', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => publicKeyProblem(signingKeyFromSeed(seed).publicKey) === undefined), { numRuns: 200 });
  });

  const messages = Array.from({ length: 64 }, (_, i) => Buffer.from(`keyring v${99 + i}: the attacker is an issuer`));

  it.each(Object.entries(SMALL_ORDER_KEYS))('refuses the small-order key %s, under which an RFC 8032 verifier accepts a forgery of any message', (_name, key) => {
    expect(publicKeyProblem(hex(key))).toBe(SMALL_ORDER);
    // Why: the forgery verifies whenever k = H(R, A, M) is a multiple of A's order (n <= 8), so an
    // attacker need only vary the message a few times. tweetnacl (the simulators, the BLE channel)
    // and OpenSSL 3.0 (Node 20) take the key and accept it.
    const forged = forgery();
    expect(messages.some((m) => nacl.sign.detached.verify(m, forged, hex(key)))).toBe(true);
  });

  it.each(Object.entries(SMALL_ORDER_KEYS))('sees node:crypto on OpenSSL 3.5 (Node 24) import the small-order key %s yet refuse the forgery', (_name, key) => {
    // The runtime's own refusal is welcome but not relied on: a root is pinned once, for good,
    // and the hub may run on another OpenSSL. Were this to change, the check above still holds.
    expect(process.versions.openssl).toMatch(/^3\.(5|[6-9])\./);
    const forged = forgery();
    expect(messages.filter((m) => verify(null, m, publicKeyObject(hex(key)), forged))).toEqual([]);
  });

  it('refuses a non-canonical encoding (y = p)', () => {
    expect(publicKeyProblem(hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toMatch(/non-canonical/);
  });

  it('refuses 32 bytes that name no point of the curve', () => {
    expect(publicKeyProblem(hex('0200000000000000000000000000000000000000000000000000000000000000'))).toBe('it is not a point of edwards25519');
  });

  it('refuses x = 0 with the sign bit set (RFC 8032 §5.1.3 step 4)', () => {
    expect(publicKeyProblem(hex('0100000000000000000000000000000000000000000000000000000000000080'))).toMatch(/x = 0 with the sign bit set/);
  });

  it('refuses a key of the wrong length', () => {
    expect(publicKeyProblem(new Uint8Array(31))).toBe('an Ed25519 public key is 32 bytes, got 31');
  });

  it('never throws on any 32 bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
      const p = publicKeyProblem(raw);
      return p === undefined || typeof p === 'string';
    }), { numRuns: 300 });
  });
});

describe('curve25519KeyProblem (may the hub share a key with this X25519 key?)', () => {
  it('accepts every key tweetnacl makes (RFC 7748 §6.1 public keys)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => curve25519KeyProblem(nacl.box.keyPair.fromSecretKey(secret).publicKey) === undefined), { numRuns: 200 });
  });

  it.each([
    ['u = 0', '0000000000000000000000000000000000000000000000000000000000000000'],
    ['u = 1', '0100000000000000000000000000000000000000000000000000000000000000'],
    ['order 8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
    ['order 8 (second)', '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'],
  ])('refuses the small-order key %s, with which every shared secret is all zeros', (_name, u) => {
    expect(curve25519KeyProblem(hex(u))).toBe(SMALL_ORDER_X25519);
    expect(nacl.scalarMult(nacl.randomBytes(32), hex(u)).every((b) => b === 0)).toBe(true);
  });

  it('refuses u = p − 1, a point of the twist, and a u of the twist of large order', () => {
    expect(curve25519KeyProblem(hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toBe('it is not a point of Curve25519 (it lies on the twist)');
    expect(curve25519KeyProblem(hex('0200000000000000000000000000000000000000000000000000000000000000'))).toBe('it is not a point of Curve25519 (it lies on the twist)');
  });

  it('refuses the non-canonical forms u = p, u = p + 1 and a set top bit', () => {
    expect(curve25519KeyProblem(hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toMatch(/not below 2\^255 - 19/);
    expect(curve25519KeyProblem(hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toMatch(/not below 2\^255 - 19/);
    const key = nacl.box.keyPair().publicKey;
    key[31]! |= 0x80;
    expect(curve25519KeyProblem(key)).toBe('its top bit is set (a non-canonical encoding)');
  });

  it('refuses a key of the wrong length', () => {
    expect(curve25519KeyProblem(new Uint8Array(33))).toBe('a Curve25519 public key is 32 bytes, got 33');
  });
});
