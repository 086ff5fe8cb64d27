import type { AuditLog } from '../../hub/store/audit-log.js';

/**
 * Downlink refusals on record after `afterSeq`: each `downlink` entry refused counts one, each
 * `downlink.refusals` entry (flood control) the number it counted.
 */
export function refusalsOnRecord(audit: Pick<AuditLog, 'read' | 'head'>, afterSeq: number): { inFull: number; counted: number; aggregates: number; total: number } {
  let inFull = 0;
  let counted = 0;
  let aggregates = 0;
  for (let from = afterSeq + 1; from <= audit.head().seq; from += 500) {
    for (const { event } of audit.read(from, 500)) {
      if (event.type === 'downlink' && event.body.outcome === 'refused') inFull += 1;
      if (event.type === 'downlink.refusals') {
        counted += event.body.count;
        aggregates += 1;
      }
    }
  }
  return { inFull, counted, aggregates, total: inFull + counted };
}
