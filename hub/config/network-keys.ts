/**
 * What a valid set of Z-Wave network keys looks like in the config (hex), checked by the schema
 * before any driver starts. S2 (Z-Wave Security 2, SDS13783) uses one 128-bit key per security
 * class; zwave-js refuses two classes sharing one key, and an all-zero key is what an unset field
 * looks like, so both are refused. hub/lock/zwave/security-keys.ts turns a valid set into bytes.
 */

/** 16 bytes as 32 hex digits. */
export const NETWORK_KEY_HEX = /^[0-9a-fA-F]{32}$/;

export interface NetworkKeysHex {
  s2AccessControl?: string | undefined;
  s2Authenticated?: string | undefined;
  s2Unauthenticated?: string | undefined;
  s0Legacy?: string | undefined;
}

/** The security classes, strongest first: a lock is included with S2 Access Control. */
export const NETWORK_KEY_FIELDS = ['s2AccessControl', 's2Authenticated', 's2Unauthenticated', 's0Legacy'] as const;

/** Problems with a key set, one line each (empty when valid). */
export function networkKeyProblems(keys: NetworkKeysHex): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const name of NETWORK_KEY_FIELDS) {
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
