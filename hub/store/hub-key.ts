import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rawPublicKey } from '../../protocols/audit/checkpoint.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Store } from './store.js';

/**
 * The hub's own Ed25519 identity key (RFC 8032), which signs audit checkpoints (and, later,
 * receipts and replies). Made on first use and kept in the store's meta table as PKCS#8 DER, so
 * it lives and is backed up with the log it vouches for. Provisioning (`keyhub init`) may replace
 * this with an installer-made key; nothing here caches the key in module state.
 */
const META_KEY = 'hub_signing_key_pkcs8';

export interface HubKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The 32 raw public-key bytes, hex: what `keyhub audit verify --hub-key` takes. */
  publicHex: string;
}

export function loadOrCreateHubKey(store: Store): HubKey {
  const existing = readKey(store);
  if (existing !== undefined) return existing;
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  // INSERT OR IGNORE inside the transaction: if another connection made one first, theirs wins.
  store.write('full', (db) => db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(META_KEY, der));
  const saved = readKey(store);
  if (saved === undefined) throw new HubError(ErrorCode.HUB_KEY_INVALID, `hub signing key could not be stored in ${store.path}`);
  return saved;
}

/** The key if one exists; never creates one (for read-only commands). */
export function readHubKey(store: Store): HubKey | undefined {
  return readKey(store);
}

function readKey(store: Store): HubKey | undefined {
  const row = store.db.prepare('SELECT value FROM meta WHERE key = ?').get(META_KEY) as { value: string } | undefined;
  if (row === undefined) return undefined;
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(row.value, 'base64'), format: 'der', type: 'pkcs8' });
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${privateKey.asymmetricKeyType}`);
    const publicKey = createPublicKey(privateKey);
    return { privateKey, publicKey, publicHex: Buffer.from(rawPublicKey(publicKey)).toString('hex') };
  } catch (err) {
    throw new HubError(ErrorCode.HUB_KEY_INVALID, `hub signing key in ${store.path} is unusable: ${(err as Error).message}`, { cause: err });
  }
}
