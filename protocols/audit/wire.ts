import { z } from 'zod';
import type { ChainedRecord } from './chain.js';
import { fromHex, toHex } from './chain.js';
import type { Checkpoint } from './checkpoint.js';
import { checkEvent } from './events.js';

/**
 * How audit entries and checkpoints travel outside the database: in exported files (JSON lines or
 * a CBOR sequence) and in the cloud link's `events` batches. Hashes, keys and signatures are
 * lowercase hex so that JSON carries them; the event body is plain JSON that re-encodes
 * canonically to the hashed bytes (protocols/audit/events.ts keeps bodies to such values).
 */
const hexOf = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes} bytes of lowercase hex`);
const seq = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
const ms = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const wireEventSchema = z.strictObject({
  kind: z.literal('event'),
  seq,
  wallMs: ms,
  monoMs: ms,
  type: z.string().max(64),
  body: z.record(z.string(), z.unknown()),
  prevHash: hexOf(32),
  hash: hexOf(32),
});

export const wireCheckpointSchema = z.strictObject({
  kind: z.literal('checkpoint'),
  hubId: z.string().min(1).max(128),
  seq: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  headHash: hexOf(32),
  wallMs: ms,
  signature: hexOf(64),
});

export const wireHeaderSchema = z.strictObject({
  kind: z.literal('header'),
  format: z.literal('keyhub-audit-export'),
  v: z.literal(1),
  hubId: z.string().min(1).max(128),
  from: z.int().min(0),
  to: z.int().min(0),
  exportedAtMs: ms,
});

export type WireEvent = z.infer<typeof wireEventSchema>;
export type WireCheckpoint = z.infer<typeof wireCheckpointSchema>;
export type WireHeader = z.infer<typeof wireHeaderSchema>;
export type WireRecord = WireEvent | WireCheckpoint | WireHeader;
export const wireRecordSchema = z.discriminatedUnion('kind', [wireEventSchema, wireCheckpointSchema, wireHeaderSchema]);

export function toWireEvent(r: ChainedRecord): WireEvent {
  return {
    kind: 'event',
    seq: r.seq,
    wallMs: r.wallMs,
    monoMs: r.monoMs,
    type: r.event.type,
    body: r.event.body as Record<string, unknown>,
    prevHash: toHex(r.prevHash),
    hash: toHex(r.hash),
  };
}

/**
 * A wire event back to a record, or the reason it is not a v1 event. The body is checked against
 * the closed event set, whose schemas are strict (an unknown key is refused rather than dropped:
 * a stray field must not vanish from the hash input and hide an edit).
 */
export function fromWireEvent(w: WireEvent): { ok: true; record: ChainedRecord } | { ok: false; problem: string } {
  const checked = checkEvent(w.type, w.body);
  if (!checked.ok) return checked;
  return {
    ok: true,
    record: { seq: w.seq, wallMs: w.wallMs, monoMs: w.monoMs, event: checked.event, prevHash: fromHex(w.prevHash), hash: fromHex(w.hash) },
  };
}

export function toWireCheckpoint(c: Checkpoint): WireCheckpoint {
  return { kind: 'checkpoint', hubId: c.hubId, seq: c.seq, headHash: toHex(c.headHash), wallMs: c.wallMs, signature: toHex(c.signature) };
}

export function fromWireCheckpoint(w: WireCheckpoint): Checkpoint {
  return { hubId: w.hubId, seq: w.seq, headHash: fromHex(w.headHash), wallMs: w.wallMs, signature: fromHex(w.signature) };
}
