/**
 * The trust material the hub holds (migration 0002, table access_state): the pinned root key and
 * the installed keyring and revocation list, kept as the signed bytes that were verified, with
 * their versions. Keeping the signed bytes lets the hub re-verify on boot instead of trusting rows.
 * The last root-signed time taken (`root-time`) is kept the same way: its version is what a replay
 * of an older one is refused by.
 */
import type { Store } from './store.js';

export interface HeldDocument {
  version: number;
  signed: Uint8Array;
}

/** The root-signed documents held, each with a version that only grows. */
export type HeldKind = 'keyring' | 'revocations' | 'root-time';

export interface TrustStore {
  rootPublicKey(): Uint8Array | undefined;
  /** Pins the root; a different root than the one held drops the keyring and revocations it signed. */
  pinRoot(publicKey: Uint8Array): void;
  held(which: HeldKind): HeldDocument | undefined;
  /** Replaces the held document only if `version` is higher, in one durable transaction. */
  replace(which: HeldKind, doc: HeldDocument): boolean;
}

export function trustStore(store: Store): TrustStore {
  const get = store.db.prepare('SELECT int_val AS version, blob_val AS signed FROM access_state WHERE key = ?');
  const put = store.db.prepare(
    `INSERT INTO access_state (key, int_val, blob_val) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET int_val = excluded.int_val, blob_val = excluded.blob_val WHERE excluded.int_val > int_val`,
  );
  const pin = store.db.prepare("INSERT INTO access_state (key, int_val, blob_val) VALUES ('root_public_key', 0, ?) ON CONFLICT (key) DO UPDATE SET blob_val = excluded.blob_val");
  const drop = store.db.prepare("DELETE FROM access_state WHERE key IN ('keyring', 'revocations', 'root-time')");
  const row = (key: string): HeldDocument | undefined => {
    const r = get.get(key) as { version: number; signed: Buffer } | undefined;
    return r === undefined ? undefined : { version: r.version, signed: new Uint8Array(r.signed) };
  };
  return {
    rootPublicKey: () => row('root_public_key')?.signed,
    pinRoot(publicKey) {
      store.write('full', () => {
        const before = row('root_public_key')?.signed;
        // A new root is a new trust domain: what the old root signed no longer verifies, so it goes.
        if (before !== undefined && Buffer.compare(before, publicKey) !== 0) drop.run();
        pin.run(publicKey);
      });
    },
    held: (which) => row(which),
    replace(which, doc) {
      return store.write('full', () => put.run(which, doc.version, doc.signed).changes === 1);
    },
  };
}
