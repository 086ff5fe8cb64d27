import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TrustState } from '../../access/trust.js';
import { databasePath } from '../../store/module.js';
import { openStore } from '../../store/store.js';
import { trustStore } from '../../store/trust-store.js';
import { ErrorCode, HubError } from '../../system/errors.js';
import { createLogger } from '../../system/logger.js';
import type { ResultOf } from '../../../protocols/control/contract.js';
import type { HubConfig } from '../../config/schema.js';
import { loadCliConfig, type CliContext, type GlobalOptions } from '../context.js';
import { askRunningDaemon, refuseBesideLiveDaemon } from '../daemon.js';

/**
 * `keyhub trust-root <key>` (DESIGN.md, "Who uses it": the installer pins the root public key at
 * provisioning). Everything the hub trusts (issuer keyring, revocations) must be signed by this
 * key. Replacing a different pinned root drops what the old one signed, so it takes --replace.
 * A running daemon pins it in its live trust state (and on record); with none running, the
 * database is written and the daemon reads it at its next start.
 */
export default function register(program: Command, ctx: CliContext): void {
  program
    .command('trust-root')
    .description('pin the root public key that signs the issuer keyring and revocation lists')
    .argument('<key>', "the root's Ed25519 public key: 64 hex digits, or a file holding them or a PEM public key")
    .option('--replace', 'replace a different pinned root, dropping the keyring and revocation list it signed')
    .action(async (arg: string, opts: { replace?: boolean }, cmd: Command) => {
      const key = readRootKey(arg);
      const { config } = loadCliConfig(cmd.optsWithGlobals<GlobalOptions>(), ctx);
      const replace = opts.replace === true;
      const live = await askRunningDaemon(config, ctx, { method: 'trust-root', params: { key: hex(key), replace }, offline: 'pinning in the database; the daemon reads it at start' });
      const done = live ?? (await pinInDatabase(config, key, replace));
      ctx.stdout.write(describe(done));
    });
}

type Pinned = ResultOf<'trust-root'>;

function describe(r: Pinned): string {
  switch (r.outcome) {
    case 'unchanged':
      return `root key ${r.key} is already pinned\n`;
    case 'pinned':
      return `pinned root key ${r.key}\n`;
    case 'replaced':
      return `replaced root key ${r.previous ?? '?'} with ${r.key}; the keyring and revocation list it signed were dropped\n`;
  }
}

/** With no daemon running: the same rules, on the database. */
async function pinInDatabase(config: HubConfig, key: Uint8Array, replace: boolean): Promise<Pinned> {
  const log = createLogger({ level: 'warn', format: config.log.format, fd: 2 });
  const store = await openStore({ path: databasePath(config.stateDir), busyTimeoutMs: config.store.busyTimeoutMs, log });
  try {
    refuseBesideLiveDaemon(store, config);
    const held = trustStore(store);
    const before = held.rootPublicKey();
    if (before !== undefined && Buffer.compare(before, key) === 0) return { outcome: 'unchanged', key: hex(key) };
    if (before !== undefined && !replace) {
      throw refused(`a different root key is already pinned (${hex(before)}); pass --replace to replace it and drop the keyring and revocation list it signed`);
    }
    // TrustState refuses keys that are no curve point or of small order (under which anyone can forge).
    new TrustState(held).pinRoot(key);
    return before === undefined ? { outcome: 'pinned', key: hex(key) } : { outcome: 'replaced', key: hex(key), previous: hex(before) };
  } finally {
    store.close();
  }
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/** 64 hex digits, or a file holding them, or a PEM SubjectPublicKeyInfo (RFC 8410) Ed25519 key. */
function readRootKey(arg: string): Uint8Array {
  if (HEX_KEY.test(arg.trim())) return fromHex(arg.trim());
  let text: string;
  try {
    text = readFileSync(arg, 'utf8').trim();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw refused(`${JSON.stringify(clip(arg))} is neither 64 hex digits (a 32-byte Ed25519 public key) nor a readable file (${why})`);
  }
  if (HEX_KEY.test(text)) return fromHex(text);
  if (text.startsWith('-----BEGIN PUBLIC KEY-----')) {
    let jwk: { crv?: string; x?: string };
    try {
      jwk = createPublicKey(text).export({ format: 'jwk' });
    } catch (err) {
      throw refused(`${arg} is not a readable PEM public key (${(err as Error).message})`);
    }
    if (jwk.crv !== 'Ed25519' || jwk.x === undefined) throw refused(`${arg} holds a ${jwk.crv ?? 'non-EC'} key, not an Ed25519 one`);
    return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  }
  throw refused(`${arg} holds neither 64 hex digits (a 32-byte Ed25519 public key) nor a PEM public key`);
}

function refused(message: string): HubError {
  return new HubError(ErrorCode.TRUST_ROOT_REFUSED, message);
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.toLowerCase(), 'hex'));
}

function hex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
