/**
 * Public keys no hub may trust, for the tests and the semantic fuzzer: the Ed25519 encodings of
 * small order (libsodium's blocklist, ge25519_has_small_order), their non-canonical forms and a
 * non-point; the X25519 u-coordinates of small order; and the "signature" that verifies under the
 * identity point for every message.
 */
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

export const DEGENERATE_ED25519: Readonly<Record<string, string>> = {
  'identity (order 1)': '0100000000000000000000000000000000000000000000000000000000000000',
  'order 2': 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'order 4': '0000000000000000000000000000000000000000000000000000000000000000',
  'order 4, other sign': '0000000000000000000000000000000000000000000000000000000000000080',
  'order 8': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'order 8, other sign': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'order 8 (second)': 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'order 8 (second), other sign': 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  'identity, non-canonical (y = 1 + p)': 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'order 4, non-canonical (y = p)': 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'identity with the sign bit set': '0100000000000000000000000000000000000000000000000000000000000080',
  'no point of the curve': '0200000000000000000000000000000000000000000000000000000000000000',
};
export const DEGENERATE_ED25519_KEYS: readonly Uint8Array[] = Object.values(DEGENERATE_ED25519).map(hex);

/** libsodium's X25519 blocklist: u = 0, 1 and the two points of order 8. */
export const SMALL_ORDER_X25519_U: Readonly<Record<string, string>> = {
  'u = 0 (order 2)': '0000000000000000000000000000000000000000000000000000000000000000',
  'u = 1 (order 4)': '0100000000000000000000000000000000000000000000000000000000000000',
  'order 8': 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  'order 8 (second)': '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
};

/** The identity point (order 1): the worst key there is. */
export const IDENTITY = hex(`01${'00'.repeat(31)}`);
/** R = identity, S = 0: node:crypto verifies it for any message under the identity key. */
export const NOBODYS_SIGNATURE = Uint8Array.from([...IDENTITY, ...new Uint8Array(32)]);
