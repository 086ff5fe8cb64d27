import { hash } from 'node:crypto';
import { canonicalEncodeWithPart, Writer } from './canonical.js';
import { AUDIT_EVENTS, eventVersion, type AuditEvent } from './events.js';

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
    { v: eventVersion(record.event.type), seq: record.seq, wallMs: record.wallMs, monoMs: record.monoMs, type: record.event.type, body: record.event.body },
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

/**
 * Each v1 event type's body keys in canonical order (RFC 8949 §4.2.1: shorter first, then
 * bytewise; all ASCII), so the append path writes a body without listing and sorting its keys.
 */
const SORTED_BODY_KEYS: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries(AUDIT_EVENTS).map(([type, spec]) => [
    type,
    Object.freeze(Object.keys(spec.body.shape).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))),
  ]),
);

/**
 * Encodes and hashes records one after another with one reusable buffer laid out as the hash
 * input itself (DOMAIN || prevHash || canonical record), so a record costs one SHA-256 over one
 * contiguous view: no per-record buffer, no intermediate record object, no copies. The record's
 * map is written with its keys already in canonical order (RFC 8949 §4.2.1: shorter first, then
 * bytewise: v, seq, body, type, monoMs, wallMs), the same bytes `encodeRecord` produces
 * (test/unit/audit-canonical.test.ts holds the two equal). One instance per writer; not shared.
 */
export class ChainEncoder {
  readonly #w = new Writer();
  /**
   * Hashes are handed out as 32-byte views of a shared slab: a Buffer per digest costs more than
   * the SHA-256 of a record itself (its own backing store), a digest as a latin1 string copied in
   * does not. A full slab is left to its views and a new one started.
   */
  #slab = Buffer.allocUnsafeSlow(HASH_BYTES * 128);
  #slabUsed = 0;

  /**
   * The record's hash chained on prevHash, and its body's canonical bytes: a view that stays valid
   * until `release()` (records are written one after another, so a caller can bind several bodies
   * in one multi-row INSERT). Call `release()` once the bodies are bound or copied.
   */
  chain(prevHash: Uint8Array, record: AuditRecord): { hash: Uint8Array; body: Uint8Array } {
    if (prevHash.length !== HASH_BYTES) throw new RangeError(`prev hash must be ${HASH_BYTES} bytes, got ${prevHash.length}`);
    const w = this.#w;
    const start = w.position;
    w.raw(CHAIN_DOMAIN);
    w.raw(prevHash);
    w.mapHeader(6);
    w.text('v');
    w.value(eventVersion(record.event.type));
    w.text('seq');
    let ok = w.value(record.seq);
    w.text('body');
    const bodyStart = w.position;
    ok = writeBody(w, record.event.type, record.event.body) && ok;
    const bodyEnd = w.position;
    w.text('type');
    w.text(record.event.type);
    w.text('monoMs');
    ok = w.value(record.monoMs) && ok;
    w.text('wallMs');
    ok = w.value(record.wallMs) && ok;
    if (!ok) {
      w.rewind(start);
      // Outside the fast path's JSON shape: the general encoder decides (and refuses what it must).
      const { canonical, body } = encodeRecord(record);
      return { hash: chainHash(prevHash, canonical), body };
    }
    if (this.#slabUsed === this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(this.#slab.length);
      this.#slabUsed = 0;
    }
    const at = this.#slabUsed;
    // 'binary' (latin1) maps each digest byte to one char code 0–255 and back: lossless.
    this.#slab.write(hash('sha256', w.view(start), 'binary'), at, HASH_BYTES, 'binary');
    this.#slabUsed = at + HASH_BYTES;
    return { hash: this.#slab.subarray(at, at + HASH_BYTES), body: w.view(bodyStart, bodyEnd) };
  }

  /** The bodies handed out so far are no longer needed: reuse the buffer from its start. */
  release(): void {
    this.#w.reset();
  }
}

/** A body in canonical form: by its type's known key order when it has only those keys. */
function writeBody(w: Writer, type: string, body: unknown): boolean {
  const keys = SORTED_BODY_KEYS.get(type);
  if (keys === undefined || typeof body !== 'object' || body === null || Object.getPrototypeOf(body) !== Object.prototype) return w.value(body);
  const obj = body as Record<string, unknown>;
  let present = 0;
  for (const k of keys) if (Object.hasOwn(obj, k) && obj[k] !== undefined) present += 1;
  // Any other key (or one set to undefined) and the general path decides.
  if (present !== Object.keys(obj).length) return w.value(body);
  w.mapHeader(present);
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    w.text(k);
    if (!w.value(v)) return false;
  }
  return true;
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
