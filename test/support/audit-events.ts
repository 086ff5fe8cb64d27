import type { AuditEvent } from '../../protocols/audit/events.js';
import { ErrorCode } from '../../hub/system/errors.js';

/** A hub id for audit fixtures (the format's `kh-` and 16 hex digits). */
export const FIXTURE_HUB_ID = 'kh-0011223344556677';

/**
 * A delivery's worth of audit entries in the order a visit writes them (boot, the decision, the
 * bolt and the door, the relock, the clip), then a refusal: the chain, batch and export tests
 * all run on these eight.
 */
export const VISIT_EVENTS: readonly AuditEvent[] = [
  { type: 'boot', body: { version: '0.1.0', uncleanBefore: 0 } },
  { type: 'decision', body: { outcome: 'allow', reason: 0, transport: 'ble', grantId: 'aa'.repeat(16) } },
  { type: 'bolt', body: { state: 'unlocked', by: 'grant', grantId: 'aa'.repeat(16) } },
  { type: 'door', body: { state: 'open' } },
  { type: 'door', body: { state: 'closed' } },
  { type: 'bolt', body: { state: 'locked', by: 'relock-timer' } },
  { type: 'clip', body: { clipId: 'clip-1', state: 'finished' } },
  { type: 'decision', body: { outcome: 'refuse', reason: ErrorCode.GRANT_EXPIRED, reasonName: 'GRANT_EXPIRED', transport: 'cloud' } },
];
