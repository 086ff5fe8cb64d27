/**
 * The Z-Wave network keys from config (hex, checked by hub/config/network-keys.ts) as zwave-js
 * wants them: bytes, under its names for the security classes (S2, SDS13783).
 */
import { networkKeyProblems, type NetworkKeysHex } from '../../config/network-keys.js';
import { ErrorCode, HubError } from '../../system/errors.js';

export interface NetworkKeys {
  S2_AccessControl?: Uint8Array<ArrayBuffer>;
  S2_Authenticated?: Uint8Array<ArrayBuffer>;
  S2_Unauthenticated?: Uint8Array<ArrayBuffer>;
  S0_Legacy?: Uint8Array<ArrayBuffer>;
}

const NAMES = [
  ['s2AccessControl', 'S2_AccessControl'],
  ['s2Authenticated', 'S2_Authenticated'],
  ['s2Unauthenticated', 'S2_Unauthenticated'],
  ['s0Legacy', 'S0_Legacy'],
] as const;

/** Bytes for zwave-js; a set the config schema would refuse throws LOCK_DRIVER_FAILED, one detail per problem. */
export function parseNetworkKeys(keys: NetworkKeysHex): NetworkKeys {
  const problems = networkKeyProblems(keys);
  if (problems.length > 0) throw new HubError(ErrorCode.LOCK_DRIVER_FAILED, 'invalid Z-Wave network keys', { details: problems });
  const out: NetworkKeys = {};
  for (const [name, zwaveName] of NAMES) {
    const hex = keys[name];
    if (hex !== undefined) out[zwaveName] = new Uint8Array(Buffer.from(hex, 'hex'));
  }
  return out;
}
