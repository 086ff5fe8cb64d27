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

/** Entries read per page: a consumer may wait between pages (a socket draining) holding no query open. */
export const EXPORT_PAGE_ENTRIES = 1000;

export interface AuditExport {
  hubId: string;
  from: number;
  to: number;
  /** The file's records, encoded, a page at a time; each page is read from the log when asked for. */
  pages: Generator<Uint8Array[]>;
  /** Entries written so far (all of them once `pages` is done). */
  events(): number;
}

/**
 * An export file (protocols/audit/export-file.ts) of [from, to]: the header, the checkpoint just
 * before `from` if the hub signed one (it anchors the range's start, e.g. a retention cut), then
 * each entry followed by the checkpoint at its seq, if any. The range always ends on a signed
 * checkpoint: one is signed now, with the hub key, if none is there, so nothing is unanchored.
 * A range pruned away while it is being read fails with AUDIT_RANGE_INVALID, never with a gap.
 */
export function auditExport(log: AuditLog, range: ExportRange): AuditExport {
  const first = log.firstSeq();
  const head = log.head().seq;
  const from = range.from ?? first;
  const to = range.to ?? head;
  if (head === 0 || first > head) throw new HubError(ErrorCode.AUDIT_RANGE_INVALID, 'the audit log holds no entries to export');
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < first || to > head || from > to) {
    throw new HubError(ErrorCode.AUDIT_RANGE_INVALID, `cannot export ${from}..${to}: the log holds ${first}..${head}`);
  }
  log.checkpointAt(to);
  const checkpoints = new Map(log.checkpoints(from - 1, to).map((c) => [c.seq, c]));
  let events = 0;
  function* pages(): Generator<Uint8Array[]> {
    const header = encodeRecord({ kind: 'header', format: 'keyhub-audit-export', v: 1, hubId: log.hubId, from, to, exportedAtMs: range.nowMs }, range.format);
    const anchor = checkpoints.get(from - 1);
    yield anchor === undefined ? [header] : [header, encodeRecord(toWireCheckpoint(anchor), range.format)];
    for (let next = from; next <= to; ) {
      const records = log.read(next, Math.min(EXPORT_PAGE_ENTRIES, to - next + 1));
      if (records[0]?.seq !== next) throw new HubError(ErrorCode.AUDIT_RANGE_INVALID, `entries from seq ${next} were pruned while the export was read`);
      const page: Uint8Array[] = [];
      for (const record of records) {
        page.push(encodeRecord(toWireEvent(record), range.format));
        const cp = checkpoints.get(record.seq);
        if (cp !== undefined) page.push(encodeRecord(toWireCheckpoint(cp), range.format));
      }
      events += records.length;
      next += records.length;
      yield page;
    }
  }
  return { hubId: log.hubId, from, to, pages: pages(), events: () => events };
}

/** The whole export through `write`, at once (the CLI with no daemon running, tests). */
export function exportAudit(log: AuditLog, range: ExportRange, write: (chunk: Uint8Array) => void): { from: number; to: number; events: number } {
  const exported = auditExport(log, range);
  for (const page of exported.pages) for (const chunk of page) write(chunk);
  return { from: exported.from, to: exported.to, events: exported.events() };
}
