import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HubStatus } from '../../protocols/control/contract.js';
import { ExitCode } from '../../hub/system/errors.js';
import { makeWorld, seededKey } from '../support/grant-fixture.js';
import { runKeyhub } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof tempDir>;
let flags: string[];
beforeEach(() => {
  dir = tempDir();
  const config = join(dir.path, 'config.json');
  writeFileSync(config, JSON.stringify({ version: 1, log: { level: 'warn', format: 'json' } }));
  flags = ['--config', config, '--state-dir', join(dir.path, 'state')];
});
afterEach(() => dir.cleanup());

const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');
const ROOT = hex(seededKey(7).publicKey);

async function access(): Promise<HubStatus['access']> {
  const out = await runKeyhub([...flags, 'status', '--json']);
  expect(out.code, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as HubStatus).access;
}

/**
 * Runs `keyhub trust-root …` (no daemon runs) expecting a refusal: exit 1 and exactly one line on
 * stderr, after the one saying no daemon answered when the key got that far.
 */
async function refusal(...args: string[]): Promise<string> {
  const out = await runKeyhub([...flags, 'trust-root', ...args]);
  expect(out.code).toBe(ExitCode.FAILURE);
  expect(out.stdout).toBe('');
  const lines = out.stderr.trimEnd().split('\n').filter((l) => !/^keyhub: no daemon is running \(.*\): pinning in the database; the daemon reads it at start$/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^keyhub: E230 TRUST_ROOT_REFUSED: /);
  return lines[0] ?? '';
}

describe('keyhub trust-root (the real process)', () => {
  it('pins a root given as 64 hex digits, which status then shows; pinning it again changes nothing', async () => {
    const out = await runKeyhub([...flags, 'trust-root', ROOT.toUpperCase()]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(`pinned root key ${ROOT}\n`);
    expect(await access()).toMatchObject({ rootPinned: true, rootKey: ROOT, keyringVersion: 0 });
    const again = await runKeyhub([...flags, 'trust-root', ROOT]);
    expect(again.stdout).toBe(`root key ${ROOT} is already pinned\n`);
  });

  it('reads the key from a file of hex digits or from a PEM public key', async () => {
    const hexFile = join(dir.path, 'root.hex');
    writeFileSync(hexFile, `${ROOT}\n`);
    expect((await runKeyhub([...flags, 'trust-root', hexFile])).stdout).toBe(`pinned root key ${ROOT}\n`);

    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = join(dir.path, 'root.pem');
    writeFileSync(pem, publicKey.export({ format: 'pem', type: 'spki' }));
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex');
    const out = await runKeyhub([...flags, 'trust-root', '--replace', pem]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(`replaced root key ${ROOT} with ${raw}; the keyring and revocation list it signed were dropped\n`);
  });

  it('refuses malformed keys with one clear line and pins nothing', async () => {
    expect(await refusal(ROOT.slice(1))).toMatch(/is neither 64 hex digits \(a 32-byte Ed25519 public key\) nor a readable file \(ENOENT\)$/);
    const junk = join(dir.path, 'junk.txt');
    writeFileSync(junk, 'not a key\n');
    expect(await refusal(junk)).toMatch(/holds neither 64 hex digits .* nor a PEM public key$/);
    const rsa = join(dir.path, 'rsa.pem');
    writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }));
    expect(await refusal(rsa)).toMatch(/holds a non-EC key, not an Ed25519 one$/);
    // 32 bytes, but the identity point: under it anyone could sign a keyring.
    expect(await refusal(`01${'00'.repeat(31)}`)).toBe('keyhub: E230 TRUST_ROOT_REFUSED: root key refused: it is a point of small order, under which signatures can be forged');
    expect(await refusal(`02${'00'.repeat(31)}`)).toBe('keyhub: E230 TRUST_ROOT_REFUSED: root key refused: it is not a point of edwards25519');
    expect(await access()).toMatchObject({ rootPinned: false, rootKey: null });
  });

  it('will not replace a different pinned root without --replace, and with it drops the keyring the old root signed', async () => {
    const world = await makeWorld(join(dir.path, 'state', 'keyhub.db')); // a provisioned hub: root pinned, keyring v1
    const oldRoot = hex(world.root.publicKey);
    world.close();
    expect(await refusal(ROOT)).toBe(
      `keyhub: E230 TRUST_ROOT_REFUSED: a different root key is already pinned (${oldRoot}); pass --replace to replace it and drop the keyring and revocation list it signed`,
    );
    expect(await access()).toMatchObject({ rootKey: oldRoot, keyringVersion: 1 });
    const out = await runKeyhub([...flags, 'trust-root', ROOT, '--replace']);
    expect(out.code, out.stderr).toBe(0);
    expect(await access()).toMatchObject({ rootKey: ROOT, keyringVersion: 0, canDecide: false });
  });
});
