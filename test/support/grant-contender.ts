/**
 * A second hub process on the same database, for the replay tests. Reads a JSON job file of
 * [grantHex, presentationHex] pairs, waits for "go" on stdin (so contenders start together), runs
 * authorize() on each with its own SQLite connection, and prints one JSON line of outcomes.
 * With mode "crash" it kills itself with SIGKILL right after the first Allow: no clean close, no
 * shutdown hook, as a power cut right after the unlock command would be.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { authorize } from '../../hub/access/authorize.js';
import { bleContext, makeWorld } from './grant-fixture.js';

const [dbPath, jobsPath, mode] = process.argv.slice(2) as [string, string, 'race' | 'crash'];
const jobs = JSON.parse(readFileSync(jobsPath, 'utf8')) as Array<[string, string]>;
const world = await makeWorld(dbPath);
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
process.stdout.write('ready\n');

for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'go') continue;
  const outcomes: Array<string | number> = [];
  for (const [g, p] of jobs) {
    const d = authorize(hex(g), hex(p), bleContext(), world.stores);
    outcomes.push(d.allow ? 'allow' : d.code);
    if (d.allow && mode === 'crash') {
      process.stdout.write(`${JSON.stringify(outcomes)}\n`, () => process.kill(process.pid, 'SIGKILL'));
      await new Promise(() => {});
    }
  }
  process.stdout.write(`${JSON.stringify(outcomes)}\n`);
  break;
}
world.close();
