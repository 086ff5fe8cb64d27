/**
 * The Z-Wave network keys from config (hex) as zwave-js wants them. S2 (Z-Wave Security 2, SDS13783)
 * uses one 128-bit key per security class; a door lock is included in S2 Access Control. zwave-js
 * refuses two classes sharing one key, and an all-zero key is what an unset field looks like, so
 * both are refused here, before the driver starts.
 */
import { ErrorCode, HubError } from '../../system/errors.js';

/** 16 bytes as 32 hex digits. */
export const NETWORK_KEY_HEX = /^[0-9a-fA-F]{32}$/;

export interface NetworkKeysHex {
  s2AccessControl?: string | undefined;
  s2Authenticated?: string | undefined;
  s2Unauthenticated?: string | undefined;
  s0Legacy?: string | undefined;
}

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

/** Problems with a key set, one line each (empty when valid). Shared by the config schema. */
export function networkKeyProblems(keys: NetworkKeysHex): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const [name] of NAMES) {
    const hex = keys[name];
    if (hex === undefined) continue;
    if (!NETWORK_KEY_HEX.test(hex)) {
      problems.push(`${name}: expected 32 hex digits (a 16-byte key)`);
      continue;
    }
    if (/^0+$/.test(hex)) problems.push(`${name}: an all-zero key is not a key`);
    const other = seen.get(hex.toLowerCase());
    if (other !== undefined) problems.push(`${name}: same key as ${other}; every security class needs its own key`);
    seen.set(hex.toLowerCase(), name);
  }
  return problems;
}

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
