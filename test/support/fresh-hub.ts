import type { AccessReadiness } from '../../hub/access/readiness.js';
import { ErrorCode } from '../../hub/system/errors.js';

/** What a hub never provisioned says about deciding: no floor, a trusted clock, no root, no keyring. */
export const FRESH_HUB_READINESS: AccessReadiness = {
  canDecide: false,
  clockTrusted: true,
  clockFloor: null,
  clockFloorSource: 'none',
  rootPinned: false,
  rootKey: null,
  keyringVersion: 0,
  revocationsVersion: 0,
  problems: [
    { code: ErrorCode.TRUST_ROOT_MISSING, codeName: 'TRUST_ROOT_MISSING', reason: 'no root key is pinned: run `keyhub trust-root`' },
    { code: ErrorCode.ISSUER_UNKNOWN, codeName: 'ISSUER_UNKNOWN', reason: 'no keyring is installed: every grant would come from an unknown issuer' },
  ],
};
