import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../hub/cli/main.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn, openAuditStore } from '../support/audit-store.js';
import { cleanEnv, runKeyhub, spawnKeyhub } from '../support/keyhub-process.js';
import { tempDir } from '../support/temp-dir.js';
import { VISIT_EVENTS } from '../support/audit-events.js';

/**
 * `keyhub audit verify` on real exported files (two visits' worth of entries), each tampered with
 * in one way: the command must fail (exit 1) and name the first seq where the chain breaks.
 */
async function exportWithCli(args: string[]): Promise<Buffer> {
  const child = await spawnKeyhub(['--state-dir', dirPath(), 'audit', 'export', ...args]);
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (err += t));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`keyhub audit export failed (${code}): ${err}`);
  expect(err).toMatch(/^keyhub: no daemon is running \(.*\): exporting from the database\nexported 16 audit entries \(seq 1\.\.16\)/);
  return Buffer.concat(out);
}

let dirPath: () => string = () => '';

describe('keyhub audit export and verify on exported files', () => {
  const dir = tempDir('keyhub-audit-cli-');
  dirPath = () => dir.path;
  let key = '';
  let jsonl = '';
  let cbor: Uint8Array = new Uint8Array();

  beforeAll(async () => {
    const store = await openAuditStore(dir.path);
    const clock = new FakeClock();
    const log = auditLogOn(store, clock, 4);
    for (let round = 0; round < 2; round++) for (const e of VISIT_EVENTS) log.append(e);
    store.close();
    // The real command, on the real database: `keyhub audit key`, then `keyhub audit export`.
    const keyRun = await runKeyhub(['--state-dir', dir.path, 'audit', 'key'], cleanEnv());
    expect(keyRun.code, keyRun.stderr).toBe(0);
    key = keyRun.stdout.trim();
    jsonl = (await exportWithCli(['--format', 'jsonl'])).toString('utf8');
    cbor = await exportWithCli(['--format', 'cbor']);
  });
  afterAll(() => dir.cleanup());

  function writeLines(name: string, lines: string[]): string {
    const path = join(dir.path, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }
  const lines = (): string[] => jsonl.trimEnd().split('\n');
  const lineOf = (ls: string[], seq: number): number => ls.findIndex((l) => l.includes('"kind":"event"') && l.includes(`"seq":${seq},`));

  async function verify(path: string) {
    return runKeyhub(['audit', 'verify', path, '--hub-key', key], cleanEnv());
  }

  it('accepts the untouched export', async () => {
    const r = await verify(writeLines('ok.jsonl', lines()));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: hub kh-[0-9a-f]{16}, seq 1\.\.16, 16 entries, 4 signed checkpoints verified/);
  });

  it('names seq 6 when its body was edited', async () => {
    const ls = lines();
    const i = lineOf(ls, 6);
    ls[i] = ls[i]!.replace('"state":"locked"', '"state":"unlocked"');
    const r = await verify(writeLines('edit.jsonl', ls));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E609 AUDIT_VERIFY_FAILED: .*chain breaks at seq 6 \(edit\)/);
  });

  it('names seq 9 when it was deleted', async () => {
    const ls = lines();
    ls.splice(lineOf(ls, 9), 1);
    const r = await verify(writeLines('delete.jsonl', ls));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/chain breaks at seq 9 \(gap\)/);
  });

  it('names seq 3 when a copy of an entry was inserted there', async () => {
    const ls = lines();
    ls.splice(lineOf(ls, 3), 0, ls[lineOf(ls, 2)]!);
    const r = await verify(writeLines('insert.jsonl', ls));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/chain breaks at seq 3 \(duplicate\)/);
  });

  it('names seq 12 when seq 12 and 13 were swapped', async () => {
    const ls = lines();
    const a = lineOf(ls, 12);
    const b = lineOf(ls, 13);
    [ls[a], ls[b]] = [ls[b]!, ls[a]!];
    const r = await verify(writeLines('reorder.jsonl', ls));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/chain breaks at seq 12 \(reorder\)/);
  });

  it('refuses the file against another hub key', async () => {
    const r = await runKeyhub(['audit', 'verify', writeLines('other.jsonl', lines()), '--hub-key', 'ab'.repeat(32)], cleanEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/chain breaks at seq 4 \(signature\)/);
  });

  it('verifies the CBOR export and names a flipped byte in it (in-process CLI)', async () => {
    const run = async (bytes: Uint8Array) => {
      const path = join(dir.path, 'log.cbor');
      writeFileSync(path, bytes);
      let out = '';
      let err = '';
      const code = await runCli(['node', 'keyhub', 'audit', 'verify', path, '--hub-key', key, '--json'], {
        env: cleanEnv(),
        cwd: dir.path,
        clock: new FakeClock(),
        stdout: { write: (s: string) => (out += s) },
        stderr: { write: (s: string) => (err += s) },
      });
      return { code, out: JSON.parse(out) as { ok: boolean; broken?: { seq: number } }, err };
    };
    expect((await run(cbor)).out.ok).toBe(true);
    // Flip the last byte of the body of the event at seq 7 ("finished" → "finishee").
    const at = Buffer.from(cbor).indexOf(Buffer.from('finished')) + 7;
    const tampered = Uint8Array.from(cbor);
    tampered[at] = 0x65;
    const r = await run(tampered);
    expect(r.code).toBe(1);
    expect(r.out.broken?.seq).toBe(7);
  });

  it('keeps the exported file readable: one JSON object per line, header first', () => {
    const first = JSON.parse(readFileSync(writeLines('h.jsonl', lines()), 'utf8').split('\n')[0]!) as { kind: string; from: number; to: number };
    expect(first).toMatchObject({ kind: 'header', from: 1, to: 16 });
  });
});
