import { hash } from 'node:crypto';
import { canonicalDecode, CanonicalError, Writer } from './canonical.js';
import { CHAIN_DOMAIN, HASH_BYTES } from './chain.js';
import { checkEvent, eventVersion, type EventCheck } from './events.js';

/**
 * An audit entry whose body is still the canonical CBOR the hub stored (a `BatchEntry` of the
 * cloud link's batches), checked without decoding and re-encoding the body first.
 */
export interface RawEntry {
  seq: number;
  wallMs: number;
  monoMs: number;
  type: string;
  body: Uint8Array;
}

/**
 * Computes an entry's chain hash with the body bytes spliced in verbatim:
 *   SHA-256( DOMAIN || prevHash || {v, seq, body, type, monoMs, wallMs} )
 * the record map of protocols/audit/chain.ts, keys in the same canonical order (RFC 8949 §4.2.1:
 * shorter first, then bytewise) as ChainEncoder writes them. When the body is a canonical v1 body
 * (checkRawBody) these are exactly the bytes the hub hashed, because a canonical encoding is
 * unique; test/unit/audit-batch.test.ts holds the two hashes equal. One reusable buffer: one
 * instance per verifier, not shared.
 */
export class RawEntryHasher {
  readonly #w = new Writer();

  hash(prevHash: Uint8Array, entry: RawEntry): Uint8Array {
    return new Uint8Array(Buffer.from(this.digest(prevHash, entry), 'latin1'));
  }

  /**
   * The hash as a latin1 string (one char per byte): a digest as a string costs less than half of
   * one as a Buffer (its own backing store); `sameDigest` compares it with claimed bytes.
   */
  digest(prevHash: Uint8Array, entry: RawEntry): string {
    if (prevHash.length !== HASH_BYTES) throw new RangeError(`prev hash must be ${HASH_BYTES} bytes, got ${prevHash.length}`);
    const w = this.#w;
    w.reset();
    w.raw(CHAIN_DOMAIN);
    w.raw(prevHash);
    w.mapHeader(6);
    w.text('v');
    w.value(eventVersion(entry.type));
    w.text('seq');
    let ok = w.value(entry.seq);
    w.text('body');
    w.raw(entry.body);
    w.text('type');
    w.text(entry.type);
    w.text('monoMs');
    ok = w.value(entry.monoMs) && ok;
    w.text('wallMs');
    ok = w.value(entry.wallMs) && ok;
    if (!ok) throw new RangeError(`seq ${entry.seq}: seq and times must be safe integers`);
    return hash('sha256', w.view(), 'binary');
  }
}

/** Whether a latin1 digest (`RawEntryHasher.digest`) is these bytes: char code i is byte i. */
export function sameDigest(digest: string, bytes: Uint8Array): boolean {
  if (digest.length !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (digest.charCodeAt(i) !== bytes[i]) return false;
  return true;
}

/**
 * Checks that bytes are the canonical CBOR of a v1 body of `type`: strict canonical decoding
 * (protocols/cbor: shortest forms, sorted keys, no trailing bytes), then the closed event set.
 */
export function checkRawBody(type: string, body: Uint8Array): EventCheck {
  let plain: unknown;
  try {
    plain = canonicalDecode(body);
  } catch (err) {
    if (err instanceof CanonicalError) return { ok: false, problem: `${type} body: ${err.message}` };
    throw err;
  }
  return checkEvent(type, plain);
}
