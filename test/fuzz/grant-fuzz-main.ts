/**
 * `npm run fuzz:grant [-- --cases N --semantic M --seed S]`: the long mutation run (default
 * 1,000,000 byte-level cases), then the semantic attack suite (grant-semantic.ts, default 100,000
 * cases over its classes). Prints tried / accepted / crashed, the semantic counts per class and,
 * last, one JSON object; exits 1 unless accepted, crashed and semantic violations are all 0, every
 * unmodified original is accepted and every must-allow semantic case was allowed.
 */
import { performance } from 'node:perf_hooks';
import { runGrantFuzz } from './grant-fuzz.js';
import { runSemanticFuzz } from './grant-semantic.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const cases = arg('cases', 1_000_000);
const semanticCases = arg('semantic', 100_000);
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
const byteSeconds = (performance.now() - started) / 1000;
const semanticStarted = performance.now();
const semantic = await runSemanticFuzz({ cases: semanticCases, seed });
const semanticSeconds = (performance.now() - semanticStarted) / 1000;
const seconds = byteSeconds + semanticSeconds;
console.log(`seed ${seed}: tried ${total.tried}, accepted ${total.accepted}, crashed ${total.crashed}; originals accepted ${total.originalsAccepted}/${total.originals}; ${byteSeconds.toFixed(1)} s`);
console.log(`by mutation: ${Object.entries(byMutation).map(([m, n]) => `${m} ${n}`).join(', ')}`);
if (firstCrash !== undefined) console.log(`first crash: ${firstCrash}`);
if (firstAccepted !== undefined) console.log(`first accepted: ${firstAccepted}`);
console.log(
  `semantic: tried ${semantic.tried}, violations ${semantic.violations}; must-allow allowed ${semantic.allowed}/${semantic.mustAllow}; ${semanticSeconds.toFixed(1)} s`,
);
console.log(`by class: ${Object.entries(semantic.byClass).map(([c, n]) => `${c} ${n}`).join(', ')}`);
if (semantic.firstViolation !== undefined) console.log(`first violation: ${semantic.firstViolation}`);
const { seed: _seed, ...semanticCounts } = semantic;
console.log(JSON.stringify({ seed, ...total, byMutation, semantic: semanticCounts, seconds: Math.round(seconds * 10) / 10 }));
const bytesOk = total.accepted === 0 && total.crashed === 0 && total.originalsAccepted === total.originals;
const semanticOk = semantic.violations === 0 && semantic.allowed === semantic.mustAllow;
process.exit(bytesOk && semanticOk ? 0 : 1);
