import { decodeFirst } from 'cborg';
import { canonicalEncode } from './canonical.js';
import { wireRecordSchema, type WireRecord } from './wire.js';

/**
 * The exported audit file (`keyhub audit export`): a header, then events in seq order with the
 * checkpoints among them, either as JSON lines or as a CBOR sequence (RFC 8742) of the same
 * records, each in canonical form. Parsing is total: every line or item comes back either as a
 * record or as a `malformed` entry with its position, so a verifier names where a file broke
 * instead of throwing.
 */
export type ExportFormat = 'jsonl' | 'cbor';

/** One line or CBOR item is at most this long: a v1 record is far smaller. */
export const MAX_RECORD_BYTES = 64 * 1024;

export type ParsedItem = { kind: 'record'; index: number; record: WireRecord } | { kind: 'malformed'; index: number; problem: string };

export function encodeRecord(record: WireRecord, format: ExportFormat): Uint8Array {
  if (format === 'cbor') return canonicalEncode(record);
  return new TextEncoder().encode(`${JSON.stringify(record)}\n`);
}

export function detectFormat(bytes: Uint8Array): ExportFormat {
  // A JSON line starts with '{'; a CBOR map never does (0x7b is a 27-byte text string).
  return bytes[0] === 0x7b ? 'jsonl' : 'cbor';
}

export function parseExport(bytes: Uint8Array, format: ExportFormat = detectFormat(bytes)): ParsedItem[] {
  return format === 'jsonl' ? parseJsonLines(bytes) : parseCborSequence(bytes);
}

function parseJsonLines(bytes: Uint8Array): ParsedItem[] {
  const items: ParsedItem[] = [];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return [{ kind: 'malformed', index: 0, problem: 'file is not UTF-8' }];
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const index = i + 1;
    if (line.length > MAX_RECORD_BYTES) {
      items.push({ kind: 'malformed', index, problem: `line longer than ${MAX_RECORD_BYTES} bytes` });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      items.push({ kind: 'malformed', index, problem: `not JSON: ${(err as Error).message}` });
      return;
    }
    items.push(checkRecord(value, index));
  });
  return items;
}

function parseCborSequence(bytes: Uint8Array): ParsedItem[] {
  const items: ParsedItem[] = [];
  let rest = bytes;
  let index = 0;
  while (rest.length > 0) {
    index += 1;
    let value: unknown;
    let remainder: Uint8Array;
    try {
      [value, remainder] = decodeFirst(rest, {
        strict: true,
        rejectDuplicateMapKeys: true,
        allowIndefinite: false,
        allowUndefined: false,
        allowInfinity: false,
        allowNaN: false,
        allowBigInt: false,
      });
    } catch (err) {
      // Without a trustworthy length nothing after this point can be framed: stop here.
      items.push({ kind: 'malformed', index, problem: `not CBOR: ${(err as Error).message}` });
      return items;
    }
    const consumed = rest.length - remainder.length;
    if (consumed > MAX_RECORD_BYTES) items.push({ kind: 'malformed', index, problem: `item longer than ${MAX_RECORD_BYTES} bytes` });
    else items.push(checkRecord(value, index));
    rest = remainder;
  }
  return items;
}

function checkRecord(value: unknown, index: number): ParsedItem {
  const parsed = wireRecordSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { kind: 'malformed', index, problem: `${first?.path.join('.') || '(record)'}: ${first?.message ?? 'invalid'}` };
  }
  return { kind: 'record', index, record: parsed.data };
}
