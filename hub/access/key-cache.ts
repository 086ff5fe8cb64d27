/**
 * Subject (courier, guest) public keys as node:crypto KeyObjects, made once per key and kept in a
 * bounded least-recently-used map: turning 32 raw bytes into a KeyObject costs about as much as a
 * signature verification, and a courier's handheld presents the same key at stop after stop.
 *
 * Every key is point-checked first (protocols/grant/point-check.ts): a key of small order, or
 * bytes that name no point, never becomes a KeyObject, since under such a key node:crypto verifies
 * a signature nobody made. The answer for a refused key is kept too: the check is the costly part.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyObject } from '../../protocols/grant/ed25519.js';
import { publicKeyProblem } from '../../protocols/grant/point-check.js';

export type CheckedKey = { ok: true; key: KeyObject } | { ok: false; problem: string };

export class PublicKeyCache {
  readonly #keys = new Map<string, CheckedKey>();
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  get(raw: Uint8Array): CheckedKey {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    const hit = this.#keys.get(id);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting marks the key as most recently used.
      this.#keys.delete(id);
      this.#keys.set(id, hit);
      return hit;
    }
    const problem = publicKeyProblem(raw);
    const checked: CheckedKey = problem === undefined ? { ok: true, key: publicKeyObject(raw) } : { ok: false, problem };
    if (this.#keys.size >= this.#capacity) this.#keys.delete(this.#keys.keys().next().value as string);
    this.#keys.set(id, checked);
    return checked;
  }

  get size(): number {
    return this.#keys.size;
  }
}
