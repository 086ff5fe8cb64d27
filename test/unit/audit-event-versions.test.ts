/**
 * The audit event set is versioned by type: entries of the v1 types hash exactly as they did before
 * the keypad-code types (v2) existed, so logs and exports written then still verify; a v2 entry
 * carries v: 2 in what is hashed, on the append path and the cloud's raw-entry path alike.
 */
import { decode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { ChainEncoder, encodeRecord } from '../../protocols/audit/chain.js';
import { AUDIT_EVENT_TYPES, AUDIT_EVENT_VERSION, eventVersion, type AuditEvent } from '../../protocols/audit/events.js';
import { RawEntryHasher } from '../../protocols/audit/raw-entry.js';

const V2 = ['code.change', 'code.slot', 'code.drift', 'code.used', 'code.alarm'];

describe('audit event set versions', () => {
  it('the v1 types are v1 and the keypad-code types v2; the set is v2', () => {
    expect(AUDIT_EVENT_VERSION).toBe(2);
    for (const type of AUDIT_EVENT_TYPES) expect(eventVersion(type), type).toBe(V2.includes(type) ? 2 : 1);
  });

  it('hashes v: 1 for a v1 entry and v: 2 for a v2 entry, the same on every path', () => {
    const events: AuditEvent[] = [
      { type: 'bolt', body: { state: 'unlocked', by: 'keypad', slot: 11 } },
      { type: 'code.slot', body: { slot: 11, action: 'set', outcome: 'confirmed', codeId: '0123456789abcdef', pinHash: 'fedcba9876543210' } },
    ];
    const encoder = new ChainEncoder();
    const raw = new RawEntryHasher();
    const prev = new Uint8Array(32);
    for (const [i, event] of events.entries()) {
      const record = { seq: i + 1, wallMs: 1_795_420_800_000, monoMs: 5, event };
      const { canonical, body } = encodeRecord(record);
      expect((decode(canonical) as { v: number }).v).toBe(event.type === 'bolt' ? 1 : 2);
      const fast = encoder.chain(prev, record);
      const viaRaw = raw.hash(prev, { seq: record.seq, wallMs: record.wallMs, monoMs: record.monoMs, type: event.type, body });
      expect(Buffer.from(viaRaw).toString('hex')).toBe(Buffer.from(fast.hash).toString('hex'));
      encoder.release();
    }
  });
});
