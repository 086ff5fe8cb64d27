import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalDecode, canonicalEncode } from '../../protocols/audit/canonical.js';
import { chainRecord, GENESIS_HASH, type ChainedRecord } from '../../protocols/audit/chain.js';
import { signCheckpoint, verifyCheckpoint, ed25519PublicKey, rawPublicKey, type Checkpoint } from '../../protocols/audit/checkpoint.js';
import { checkEvent, type AuditEvent } from '../../protocols/audit/events.js';
import { encodeRecord, parseExport, type ExportFormat } from '../../protocols/audit/export-file.js';
import { ChainVerifier, verifyExport } from '../../protocols/audit/verify.js';
import { toWireCheckpoint, toWireEvent, type WireRecord } from '../../protocols/audit/wire.js';
import { FIXTURE_HUB_ID, VISIT_EVENTS } from '../support/audit-events.js';

const HUB = FIXTURE_HUB_ID;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const EVENTS = VISIT_EVENTS;

function chain(events: readonly AuditEvent[], startSeq = 1, prev: Uint8Array = GENESIS_HASH): ChainedRecord[] {
  const out: ChainedRecord[] = [];
  events.forEach((event, i) => {
    const record = chainRecord(prev, { seq: startSeq + i, wallMs: 1_764_061_200_000 + i * 1000, monoMs: 5000 + i * 1000, event });
    out.push(record);
    prev = record.hash;
  });
  return out;
}

function checkpointOf(r: ChainedRecord): Checkpoint {
  return signCheckpoint({ hubId: HUB, seq: r.seq, headHash: r.hash, wallMs: r.wallMs }, privateKey);
}

/** An export as lines: header, events, a checkpoint after `every`-th entry and at the end. */
function exportLines(records: ChainedRecord[], every = 4): WireRecord[] {
  const lines: WireRecord[] = [
    { kind: 'header', format: 'keyhub-audit-export', v: 1, hubId: HUB, from: records[0]?.seq ?? 0, to: records.at(-1)?.seq ?? 0, exportedAtMs: 0 },
  ];
  records.forEach((r, i) => {
    lines.push(toWireEvent(r));
    if ((i + 1) % every === 0 || i === records.length - 1) lines.push(toWireCheckpoint(checkpointOf(r)));
  });
  return lines;
}

function toBytes(lines: WireRecord[], format: ExportFormat = 'jsonl'): Uint8Array {
  return Buffer.concat(lines.map((l) => encodeRecord(l, format)));
}

function verifyLines(lines: WireRecord[], format: ExportFormat = 'jsonl') {
  return verifyExport(parseExport(toBytes(lines, format)), publicKey);
}

const eventIndex = (lines: WireRecord[], seq: number): number => lines.findIndex((l) => l.kind === 'event' && l.seq === seq);

describe('the audit hash chain and its offline verifier', () => {
  it('accepts an untouched chain in both export formats', () => {
    const lines = exportLines(chain(EVENTS));
    for (const format of ['jsonl', 'cbor'] as const) {
      const result = verifyLines(lines, format);
      expect(result.broken).toBeUndefined();
      expect(result).toMatchObject({ ok: true, firstSeq: 1, lastSeq: 8, events: 8, checkpoints: 2, hubId: HUB });
    }
  });

  it('names the edited entry when a body field is changed', () => {
    const lines = exportLines(chain(EVENTS));
    const i = eventIndex(lines, 3);
    const e = lines[i] as Extract<WireRecord, { kind: 'event' }>;
    lines[i] = { ...e, body: { ...e.body, state: 'locked' } };
    expect(verifyLines(lines).broken).toMatchObject({ seq: 3, kind: 'edit' });
  });

  it('names the edited entry when its time is changed', () => {
    const lines = exportLines(chain(EVENTS));
    const i = eventIndex(lines, 6);
    lines[i] = { ...(lines[i] as Extract<WireRecord, { kind: 'event' }>), wallMs: 1 };
    expect(verifyLines(lines).broken).toMatchObject({ seq: 6, kind: 'edit' });
  });

  it('names the first missing seq when an entry is deleted', () => {
    const lines = exportLines(chain(EVENTS));
    lines.splice(eventIndex(lines, 5), 1);
    expect(verifyLines(lines).broken).toMatchObject({ seq: 5, kind: 'gap' });
  });

  it('names the seq of a duplicated (inserted) entry', () => {
    const lines = exportLines(chain(EVENTS));
    const copy = lines[eventIndex(lines, 2)] as WireRecord;
    lines.splice(eventIndex(lines, 3), 0, copy);
    expect(verifyLines(lines).broken).toMatchObject({ seq: 3, kind: 'duplicate' });
  });

  it('names the first moved seq when two entries are swapped', () => {
    const lines = exportLines(chain(EVENTS));
    const a = eventIndex(lines, 5);
    const b = eventIndex(lines, 6);
    [lines[a], lines[b]] = [lines[b] as WireRecord, lines[a] as WireRecord];
    expect(verifyLines(lines).broken).toMatchObject({ seq: 5, kind: 'reorder' });
  });

  it('catches an insertion whose forger recomputed the chain up to the inserted entry', () => {
    const records = chain(EVENTS);
    const forged = chainRecord(records[2]!.hash, { seq: 4, wallMs: 0, monoMs: 0, event: { type: 'door', body: { state: 'closed' } } });
    const renumbered = records.slice(3).map((r) => toWireEvent({ ...r, seq: r.seq + 1 }));
    const lines = [...exportLines(records.slice(0, 3), 100), toWireEvent(forged), ...renumbered];
    const result = verifyLines(lines);
    expect(result.ok).toBe(false);
    expect(result.broken?.seq).toBe(4);
  });

  it('catches a rewrite with every hash recomputed, through the signed checkpoint', () => {
    const records = chain(EVENTS);
    const lines = exportLines(records, 4);
    // The forger edits seq 6 and recomputes every hash after it; the checkpoint at 8 they cannot sign.
    const forged = chain([...EVENTS.slice(0, 5), { type: 'bolt', body: { state: 'unlocked', by: 'manual' } }, ...EVENTS.slice(6)]);
    for (const r of forged.slice(5)) lines[eventIndex(lines, r.seq)] = toWireEvent(r);
    expect(verifyLines(lines).broken).toMatchObject({ seq: 5, kind: 'checkpoint' });
  });

  it('refuses a checkpoint signed by another key', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const records = chain(EVENTS);
    const lines = exportLines(records);
    const last = records.at(-1)!;
    lines[lines.length - 1] = toWireCheckpoint(signCheckpoint({ hubId: HUB, seq: last.seq, headHash: last.hash, wallMs: 0 }, other));
    expect(verifyLines(lines).broken).toMatchObject({ seq: 8, kind: 'signature' });
  });

  it('refuses a cut tail when a checkpoint promises more entries', () => {
    const lines = exportLines(chain(EVENTS));
    const cp = lines.pop()!;
    lines.splice(eventIndex(lines, 7));
    lines.push(cp);
    expect(verifyLines(lines).broken).toMatchObject({ seq: 7, kind: 'gap' });
  });

  it('reports entries after the last checkpoint as unanchored', () => {
    const lines = exportLines(chain(EVENTS), 4);
    lines.pop();
    expect(verifyLines(lines).broken).toMatchObject({ seq: 5, kind: 'unanchored' });
  });

  it('verifies a range that starts after a retention cut from the checkpoint at the cut', () => {
    const records = chain(EVENTS);
    const [header, ...rest] = exportLines(records.slice(4), 100);
    const lines: WireRecord[] = [header!, toWireCheckpoint(checkpointOf(records[3]!)), ...rest];
    expect(verifyLines(lines)).toMatchObject({ ok: true, firstSeq: 5, lastSeq: 8 });
    // …and the first entry after the cut must chain from it.
    const bad = [...lines];
    bad[1] = { ...toWireCheckpoint(checkpointOf(records[2]!)), seq: 4 };
    expect(verifyLines(bad).ok).toBe(false);
  });

  it('refuses a file cut short of the range its header promises, or with no header at all', () => {
    const lines = exportLines(chain(EVENTS), 2);
    const cut = lines.slice(0, eventIndex(lines, 5));
    expect(verifyLines(cut).broken).toMatchObject({ seq: 5, kind: 'gap' });
    expect(verifyLines(lines.slice(1)).broken).toMatchObject({ kind: 'malformed' });
    expect(verifyExport(parseExport(new Uint8Array(0)), publicKey).ok).toBe(false);
  });

  it('names the position of a malformed line', () => {
    const bytes = Buffer.concat([Buffer.from(toBytes(exportLines(chain(EVENTS)).slice(0, 4))), Buffer.from('{"kind":"event","seq":\n')]);
    const result = verifyExport(parseExport(bytes), publicKey);
    expect(result.broken).toMatchObject({ seq: 4, kind: 'malformed' });
  });

  it('refuses a body with a field outside its schema even though the hash covers it', () => {
    const event = { type: 'door', body: { state: 'open', note: 'x' } } as unknown as AuditEvent;
    const r = chainRecord(GENESIS_HASH, { seq: 1, wallMs: 0, monoMs: 0, event });
    const lines: WireRecord[] = [toWireEvent(r), toWireCheckpoint(checkpointOf(r))];
    expect(verifyLines(lines).broken).toMatchObject({ seq: 1, kind: 'malformed' });
  });

  it('only accepts events of the closed v1 set', () => {
    expect(checkEvent('door', { state: 'ajar' }).ok).toBe(false);
    expect(checkEvent('teleport', {}).ok).toBe(false);
    expect(checkEvent('decision', { outcome: 'allow', reason: 0, transport: 'ble', extra: 1 }).ok).toBe(false);
    expect(checkEvent('toString', {}).ok).toBe(false);
    expect(checkEvent('jam', { during: 'lock' }).ok).toBe(true);
  });

  it('signs checkpoints that fail to verify once any field changes', () => {
    const r = chain(EVENTS)[7]!;
    const cp = checkpointOf(r);
    const key = ed25519PublicKey(rawPublicKey(publicKey));
    expect(verifyCheckpoint(cp, key)).toBe(true);
    expect(verifyCheckpoint({ ...cp, seq: cp.seq + 1 }, key)).toBe(false);
    expect(verifyCheckpoint({ ...cp, hubId: 'kh-other' }, key)).toBe(false);
    expect(verifyCheckpoint({ ...cp, wallMs: cp.wallMs + 1 }, key)).toBe(false);
    expect(verifyCheckpoint({ ...cp, signature: cp.signature.slice(1) }, key)).toBe(false);
  });

  it('property: any single-field change to any entry is detected at that entry', () => {
    const records = chain(EVENTS);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.constantFrom('wallMs', 'monoMs', 'seqSwapBody'), fc.integer({ min: 1, max: 1e9 }), (seq, field, delta) => {
        const lines = exportLines(records);
        const i = eventIndex(lines, seq);
        const e = lines[i] as Extract<WireRecord, { kind: 'event' }>;
        if (field === 'seqSwapBody') {
          const other = records[seq % records.length]!;
          if (JSON.stringify(other.event) === JSON.stringify({ type: e.type, body: e.body })) return;
          lines[i] = { ...e, type: other.event.type, body: other.event.body as Record<string, unknown> };
        } else {
          lines[i] = { ...e, [field]: e[field] + delta };
        }
        const result = verifyLines(lines);
        expect(result.ok).toBe(false);
        expect(result.broken?.seq).toBe(seq);
      }),
      { numRuns: 200 },
    );
  });

  it('property: deleting any one entry is named at its seq', () => {
    const records = chain([...EVENTS, ...EVENTS]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: records.length - 1 }), (seq) => {
        const lines = exportLines(records, 5);
        lines.splice(eventIndex(lines, seq), 1);
        expect(verifyLines(lines).broken?.seq).toBe(seq);
      }),
    );
  });

  it('follows arriving batches incrementally, as the cloud does', () => {
    const records = chain([...EVENTS, ...EVENTS, ...EVENTS]);
    const verifier = new ChainVerifier({ publicKey, hubId: HUB, recentHashes: 4 });
    for (const r of records) {
      expect(verifier.event(toWireEvent(r))).toBeUndefined();
      if (r.seq % 10 === 0) expect(verifier.checkpoint(checkpointOf(r))).toBeUndefined();
    }
    expect(verifier.anchoredThrough).toBe(20);
    expect(verifier.checkpoint(checkpointOf(records.at(-1)!))).toBeUndefined();
    expect(verifier.finish()).toBeUndefined();
  });

  it('canonical CBOR has one encoding: non-shortest forms and unsorted keys are refused', () => {
    const bytes = canonicalEncode({ b: 1, a: 2 });
    expect(canonicalDecode(bytes)).toEqual({ a: 2, b: 1 });
    // {"b": 1, "a": 2} with keys in the wrong order.
    expect(() => canonicalDecode(Uint8Array.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]))).toThrow(/canonical/);
    // 1 encoded in two bytes.
    expect(() => canonicalDecode(Uint8Array.from([0x18, 0x01]))).toThrow();
  });

  it('fuzz: the export parser and verifier never throw on arbitrary bytes', () => {
    const valid = toBytes(exportLines(chain(EVENTS)), 'cbor');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.integer({ min: 0, max: valid.length }), (noise, at) => {
        for (const bytes of [noise, Buffer.concat([valid.subarray(0, at), noise]), Buffer.from(noise).toString('latin1').startsWith('{') ? noise : Buffer.concat([Buffer.from('{'), noise])]) {
          const result = verifyExport(parseExport(bytes), publicKey);
          expect(typeof result.ok).toBe('boolean');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('fuzz: flipping any byte of an exported file is never accepted as the original', () => {
    const lines = exportLines(chain(EVENTS));
    for (const format of ['jsonl', 'cbor'] as const) {
      const valid = toBytes(lines, format);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
          const bytes = Uint8Array.from(valid);
          bytes[pos] = (bytes[pos] as number) ^ xor;
          const result = verifyExport(parseExport(bytes), publicKey);
          // A flip inside the header's exportedAtMs digits is harmless; everything else must break.
          if (result.ok) {
            const parsed = parseExport(bytes).filter((p) => p.kind === 'record' && p.record.kind !== 'header');
            const original = parseExport(valid).filter((p) => p.kind === 'record' && p.record.kind !== 'header');
            expect(JSON.stringify(parsed)).toBe(JSON.stringify(original));
          }
        }),
        { numRuns: 400 },
      );
    }
  });
});
