import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authorize } from '../../hub/access/authorize.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { signGrant } from '../../protocols/grant/issuer.js';
import type { Grant } from '../../protocols/grant/grant.js';
import { NOW, bleContext, deliveryGrant, makeWorld, visit, type World } from '../support/grant-fixture.js';
import { nodeArgsFor } from '../support/built.js';
import { tempDir } from '../support/temp-dir.js';

const CONTENDER = fileURLToPath(new URL('../support/grant-contender.ts', import.meta.url));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let dir: ReturnType<typeof tempDir>;
let path: string;
let world: World;
let contenderArgs: string[] = [];
beforeAll(async () => {
  contenderArgs = await nodeArgsFor(CONTENDER);
});
beforeEach(async () => {
  dir = tempDir();
  path = join(dir.path, 'keyhub.db');
  world = await makeWorld(path);
});
afterEach(() => {
  world.close();
  dir.cleanup();
});

/** A fresh challenge and a presentation of `grant` over it (what one handheld attempt sends). */
function attempt(grant: Grant): [string, string] {
  const challenge = world.stores.replay.issueChallenge(NOW);
  const packages = grant.kind === 'delivery' ? ['pkg-1'] : [];
  return [hex(signGrant(grant, world.issuer)), hex(signPresentation({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages }, world.courier))];
}

interface Contender {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<Array<string | number>>;
  exit: Promise<NodeJS.Signals | number | null>;
}

function contender(jobs: Array<[string, string]>, mode: 'race' | 'crash', n: number): Contender {
  const jobsPath = join(dir.path, `jobs-${n}.json`);
  writeFileSync(jobsPath, JSON.stringify(jobs));
  const child = spawn(process.execPath, [...contenderArgs, path, jobsPath, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let onReady: () => void = () => {};
  let onResult: (r: Array<string | number>) => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  const result = new Promise<Array<string | number>>((r) => (onResult = r));
  lines.on('line', (line) => (line === 'ready' ? onReady() : onResult(JSON.parse(line) as Array<string | number>)));
  const exit = new Promise<NodeJS.Signals | number | null>((r) => child.on('close', (code, signal) => r(signal ?? code)));
  return { child, ready, result, exit };
}

describe('replay: exactly one wins', () => {
  it('lets a one-time grant in once when presented again and again in one process', () => {
    const grant = deliveryGrant(world);
    const outcomes = Array.from({ length: 20 }, () => {
      const [g, p] = attempt(grant);
      const d = authorize(Buffer.from(g, 'hex'), Buffer.from(p, 'hex'), bleContext(), world.stores);
      return d.allow ? 'allow' : d.code;
    });
    expect(outcomes.filter((o) => o === 'allow')).toHaveLength(1);
    expect(outcomes.slice(1).every((o) => o === ErrorCode.GRANT_USED_UP)).toBe(true);
  });

  it('lets each of 40 one-time grants in exactly once when three processes race on the same database', async () => {
    const grants = Array.from({ length: 40 }, () => deliveryGrant(world));
    const guest = deliveryGrant(world, { kind: 'guest', uses: 5, delivery: undefined });
    // Each process presents every grant with its own challenge, and the guest grant four times.
    const racers = [0, 1, 2].map((n) => contender([...grants.map(attempt), ...Array.from({ length: 4 }, () => attempt(guest))], 'race', n));
    await Promise.all(racers.map((r) => r.ready));
    for (const r of racers) r.child.stdin?.end('go\n');
    const results = await Promise.all(racers.map((r) => r.result));
    for (let i = 0; i < grants.length; i++) {
      const wins = results.filter((r) => r[i] === 'allow').length;
      expect(wins, `grant ${i}`).toBe(1);
      expect(results.filter((r) => r[i] === ErrorCode.GRANT_USED_UP).length).toBe(2);
    }
    const guestAllows = results.flatMap((r) => r.slice(grants.length)).filter((o) => o === 'allow').length;
    expect(guestAllows).toBe(5); // 12 presentations of a 5-use grant: uses are counted atomically
    expect(world.stores.replay.usesOf(guest.kid, guest.id)).toBe(5);
    await Promise.all(racers.map((r) => r.exit));
  }, 60_000);

  it('lets one challenge open at most once, even for a multi-use grant presented by two processes', async () => {
    const guest = deliveryGrant(world, { kind: 'guest', uses: 10, delivery: undefined });
    const same = attempt(guest);
    const racers = [0, 1].map((n) => contender(Array.from({ length: 5 }, () => same), 'race', n));
    await Promise.all(racers.map((r) => r.ready));
    for (const r of racers) r.child.stdin?.end('go\n');
    const all = (await Promise.all(racers.map((r) => r.result))).flat();
    expect(all.filter((o) => o === 'allow')).toHaveLength(1);
    expect(all.filter((o) => o !== 'allow').every((o) => o === ErrorCode.CHALLENGE_USED)).toBe(true);
    await Promise.all(racers.map((r) => r.exit));
  }, 60_000);
});

describe('replay across a crash', () => {
  it('refuses the same grant after the process that let it in was killed right after consuming', async () => {
    const grant = deliveryGrant(world);
    const crasher = contender([attempt(grant)], 'crash', 9);
    await crasher.ready;
    crasher.child.stdin?.end('go\n');
    expect(await crasher.result).toEqual(['allow']);
    expect(await crasher.exit).toBe('SIGKILL');

    world.close();
    world = await makeWorld(path); // the restarted hub
    const again = visit(world, { grant: { ...grant } });
    const d = authorize(again.grantBytes, again.presentationBytes, bleContext(), world.stores);
    expect(d).toMatchObject({ allow: false, code: ErrorCode.GRANT_USED_UP });
  }, 60_000);
});
