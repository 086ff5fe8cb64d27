/**
 * `npm run fuzz:grant [-- --cases N --seed S]`: the long mutation run (default 1,000,000 cases).
 * Prints tried / accepted / crashed and, last, one JSON object; exits 1 unless accepted and crashed
 * are both 0 and every unmodified original is accepted.
 */
import { performance } from 'node:perf_hooks';
import { runGrantFuzz } from './grant-fuzz.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const cases = arg('cases', 1_000_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const started = performance.now();
const chunk = 100_000;
const total = { tried: 0, accepted: 0, crashed: 0, originalsAccepted: 0, originals: 0 };
const byMutation: Record<string, number> = {};
let firstCrash: string | undefined;
let firstAccepted: string | undefined;
for (let done = 0, part = 0; done < cases; done += chunk, part++) {
  const r = runGrantFuzz({ cases: Math.min(chunk, cases - done), seed: seed + part });
  total.tried += r.tried;
  total.accepted += r.accepted;
  total.crashed += r.crashed;
  total.originalsAccepted = r.originalsAccepted;
  total.originals = r.originals;
  for (const [m, n] of Object.entries(r.byMutation)) byMutation[m] = (byMutation[m] ?? 0) + n;
  firstCrash ??= r.firstCrash;
  firstAccepted ??= r.firstAccepted;
  console.log(`… ${total.tried} tried, ${total.accepted} accepted, ${total.crashed} crashed`);
}
const seconds = (performance.now() - started) / 1000;
console.log(`seed ${seed}: tried ${total.tried}, accepted ${total.accepted}, crashed ${total.crashed}; originals accepted ${total.originalsAccepted}/${total.originals}; ${seconds.toFixed(1)} s`);
console.log(`by mutation: ${Object.entries(byMutation).map(([m, n]) => `${m} ${n}`).join(', ')}`);
if (firstCrash !== undefined) console.log(`first crash: ${firstCrash}`);
if (firstAccepted !== undefined) console.log(`first accepted: ${firstAccepted}`);
console.log(JSON.stringify({ seed, ...total, byMutation, seconds: Math.round(seconds * 10) / 10 }));
process.exit(total.accepted === 0 && total.crashed === 0 && total.originalsAccepted === total.originals ? 0 : 1);
