import { describe, expect, it } from 'vitest';
import { PublicKeyCache } from '../../hub/access/key-cache.js';
import { seededKey } from '../support/grant-fixture.js';

describe('subject key cache', () => {
  it('makes a KeyObject once per key and reuses it', () => {
    const cache = new PublicKeyCache(4);
    const raw = seededKey(3).publicKey;
    expect(cache.get(raw)).toBe(cache.get(Uint8Array.from(raw)));
    expect(cache.size).toBe(1);
  });

  it('stays bounded, evicting the least recently used key', () => {
    const cache = new PublicKeyCache(2);
    const [a, b, c] = [seededKey(11).publicKey, seededKey(12).publicKey, seededKey(13).publicKey];
    const keyA = cache.get(a);
    cache.get(b);
    cache.get(a); // a is now more recent than b
    cache.get(c); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.get(a)).toBe(keyA);
  });
});
