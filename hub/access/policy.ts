/**
 * The access policy from the config's `access` section (hub/config/schema.ts): the config speaks in
 * the installer's units (seconds, one radius setting), decide() in its own (milliseconds, the
 * radius with the home it belongs to).
 */
import type { HubConfig } from '../config/schema.js';
import type { AccessPolicy } from './decide.js';

export function accessPolicy(access: HubConfig['access']): AccessPolicy {
  const policy: AccessPolicy = { clockSkewMs: access.clockSkewS * 1000, rssiFloorDbm: access.rssiFloorDbm };
  if (access.home === undefined) return policy;
  return { ...policy, home: { latE7: access.home.latE7, lonE7: access.home.lonE7, radiusM: access.cloudRadiusM } };
}
