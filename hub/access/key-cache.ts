/**
 * Subject (courier, guest) public keys as node:crypto KeyObjects, made once per key and kept in a
 * bounded least-recently-used map: turning 32 raw bytes into a KeyObject costs about as much as a
 * signature verification, and a courier's handheld presents the same key at stop after stop.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyObject } from '../../protocols/grant/ed25519.js';

export class PublicKeyCache {
  readonly #keys = new Map<string, KeyObject>();
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  get(raw: Uint8Array): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    const hit = this.#keys.get(id);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting marks the key as most recently used.
      this.#keys.delete(id);
      this.#keys.set(id, hit);
      return hit;
    }
    const key = publicKeyObject(raw);
    if (this.#keys.size >= this.#capacity) this.#keys.delete(this.#keys.keys().next().value as string);
    this.#keys.set(id, key);
    return key;
  }

  get size(): number {
    return this.#keys.size;
  }
}
