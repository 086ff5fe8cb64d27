import { encodeRecord, type ExportFormat } from '../../protocols/audit/export-file.js';
import { toWireCheckpoint, toWireEvent } from '../../protocols/audit/wire.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { AuditLog } from './audit-log.js';

export interface ExportRange {
  /** First seq to export; default the first one stored. */
  from?: number;
  /** Last seq to export; default the head. */
  to?: number;
  format: ExportFormat;
  nowMs: number;
}

/**
 * Writes [from, to] as an export file (protocols/audit/export-file.ts): the header, the checkpoint
 * just before `from` if the hub signed one (it anchors the range's start, e.g. a retention cut),
 * then each entry followed by the checkpoint at its seq, if any. The range always ends on a signed
 * checkpoint (one is signed now if needed), so nothing in the file is unanchored.
 * Returns the range written.
 */
export function exportAudit(log: AuditLog, range: ExportRange, write: (chunk: Uint8Array) => void): { from: number; to: number; events: number } {
  const first = log.firstSeq();
  const head = log.head().seq;
  const from = range.from ?? first;
  const to = range.to ?? head;
  if (head === 0 || first > head) throw new HubError(ErrorCode.AUDIT_RANGE_INVALID, 'the audit log holds no entries to export');
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < first || to > head || from > to) {
    throw new HubError(ErrorCode.AUDIT_RANGE_INVALID, `cannot export ${from}..${to}: the log holds ${first}..${head}`);
  }
  log.checkpointAt(to);
  write(encodeRecord({ kind: 'header', format: 'keyhub-audit-export', v: 1, hubId: log.hubId, from, to, exportedAtMs: range.nowMs }, range.format));
  const checkpoints = new Map(log.checkpoints(from - 1, to).map((c) => [c.seq, c]));
  const anchor = checkpoints.get(from - 1);
  if (anchor !== undefined) write(encodeRecord(toWireCheckpoint(anchor), range.format));
  let events = 0;
  for (const record of log.iterate(from, to)) {
    write(encodeRecord(toWireEvent(record), range.format));
    events += 1;
    const cp = checkpoints.get(record.seq);
    if (cp !== undefined) write(encodeRecord(toWireCheckpoint(cp), range.format));
  }
  return { from, to, events };
}
