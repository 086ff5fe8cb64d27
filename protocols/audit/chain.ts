import { hash } from 'node:crypto';
import { canonicalEncodeWithPart } from './canonical.js';
import { AUDIT_EVENT_VERSION, type AuditEvent } from './events.js';

/**
 * The hash chain (DESIGN.md, Audit): entry n's hash is
 *   SHA-256( DOMAIN || prevHash || canonical({ v, seq, wallMs, monoMs, type, body }) )
 * with prevHash the hash of entry n-1 (32 zero bytes before the first). Putting seq in the hashed
 * record makes a renumbered deletion, insertion or reorder visible as a hash break; the domain
 * prefix keeps an audit hash from ever being mistaken for another SHA-256 the hub computes.
 */
export const CHAIN_DOMAIN = new TextEncoder().encode('keyhub/audit/v1\0');
export const HASH_BYTES = 32;
export const GENESIS_HASH: Uint8Array = new Uint8Array(HASH_BYTES);

/** An entry as stored and exported: the event plus its place in time and in the chain. */
export interface AuditRecord {
  seq: number;
  /** Wall clock (ms since the Unix epoch): what a person reads. Can jump; monoMs cannot. */
  wallMs: number;
  /** Monotonic clock (integer ms, arbitrary origin per boot). */
  monoMs: number;
  event: AuditEvent;
}

export interface ChainedRecord extends AuditRecord {
  prevHash: Uint8Array;
  hash: Uint8Array;
}

/** The canonical bytes of a record, the part of the hash input that is the event itself. */
export function canonicalRecord(record: AuditRecord): Uint8Array {
  return encodeRecord(record).canonical;
}

/** The record's canonical bytes and, from the same pass, its body's (what the store keeps). */
export function encodeRecord(record: AuditRecord): { canonical: Uint8Array; body: Uint8Array } {
  const { bytes, part } = canonicalEncodeWithPart(
    { v: AUDIT_EVENT_VERSION, seq: record.seq, wallMs: record.wallMs, monoMs: record.monoMs, type: record.event.type, body: record.event.body },
    'body',
  );
  return { canonical: bytes, body: part };
}

/** Hash of a record given its canonical bytes (so a caller that stores them encodes once). */
export function chainHash(prevHash: Uint8Array, canonical: Uint8Array): Uint8Array {
  if (prevHash.length !== HASH_BYTES) throw new RangeError(`prev hash must be ${HASH_BYTES} bytes, got ${prevHash.length}`);
  // One-shot hashing of one buffer: for inputs this small, cheaper than a Hash object's updates.
  const input = Buffer.allocUnsafe(CHAIN_DOMAIN.length + HASH_BYTES + canonical.length);
  input.set(CHAIN_DOMAIN, 0);
  input.set(prevHash, CHAIN_DOMAIN.length);
  input.set(canonical, CHAIN_DOMAIN.length + HASH_BYTES);
  return new Uint8Array(hash('sha256', input, 'buffer'));
}

export function chainRecord(prevHash: Uint8Array, record: AuditRecord): ChainedRecord {
  return { ...record, prevHash, hash: chainHash(prevHash, canonicalRecord(record)) };
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new RangeError('expected lowercase hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
