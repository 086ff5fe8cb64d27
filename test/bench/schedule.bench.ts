/**
 * Keypad schedules (hub/schedule): a year of weekly windows for 20 codes in five zones (DST changes
 * in each, Lord Howe's 30-minute one included), simulated on a fake clock against the Kwikset on
 * zwave-js's mock controller. The lock's own log of User Code Sets is counted against an
 * independent reckoning of the windows (test/support/zone-oracle.ts):
 *   edges          window starts and ends in the year (each one set or clear)
 *   setsAndClears  User Code Sets the lock carried out
 *   missed, extra  goal 0 and 0
 *   maxEdgeLagMs   window edge → slot read back (fake time past the edge + the radio's real time; goal ≤ 5000)
 *   reconcileMs    one reconcile pass over the lock's 30 slots (median of 10, and the slowest)
 * The periodic reconcile runs weekly during the year (a pass reads 30 slots over the radio).
 * Run: npx tsx test/bench/schedule.bench.ts
 */
import { simulateYear, type YearCode } from '../support/schedule-year.js';
import { percentile, round } from './support.js';

const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Sao_Paulo', 'Asia/Tokyo'];
const hm = (h: number, m = 0): number => h * 60 + m;
// Windows placed around the hours DST changes skip and repeat, and ordinary ones; all different PINs.
const SHAPES: YearCode['weekly'][] = [
  [{ days: [1, 4], startMin: hm(9), endMin: hm(12) }],
  [{ days: [7], startMin: hm(1), endMin: hm(3, 30) }],
  [{ days: [2, 5], startMin: hm(22), endMin: hm(2) }],
  [{ days: [6], startMin: hm(7), endMin: hm(15) }, { days: [3], startMin: hm(17), endMin: hm(18, 30) }],
];
const codes: YearCode[] = Array.from({ length: 20 }, (_, i) => ({
  name: `code ${i + 1}`,
  pin: String(100_000 + i * 7919),
  zone: ZONES[i % ZONES.length] as string,
  weekly: SHAPES[i % SHAPES.length] as YearCode['weekly'],
}));

const passes: number[] = [];
const result = await simulateYear({
  codes,
  fromMs: Date.UTC(2026, 0, 1),
  toMs: Number(process.env.SCHEDULE_BENCH_TO_MS ?? Date.UTC(2027, 0, 1)),
  settings: { reconcileEveryMs: 7 * 86_400_000 },
  after: async (rig) => {
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await rig.module.reconcile();
      passes.push(performance.now() - t);
    }
  },
});
const figures = {
  codes: codes.length,
  edges: result.edges,
  setsAndClears: result.setsAndClears,
  missed: result.missed,
  extra: result.extra,
  maxEdgeLagMs: result.maxEdgeLagMs,
  reconcileMs: round(percentile(passes, 50)),
  reconcileMaxMs: round(Math.max(...passes)),
  reconcilePassesInYear: result.reconcilePasses,
  simulatedYearS: round(result.wallMs / 1000),
};
console.log(`A year of windows for ${figures.codes} codes (fake clock, Kwikset on the mock stick):`);
console.log(`  edges ${figures.edges}, sets and clears at the lock ${figures.setsAndClears}, missed ${figures.missed}, extra ${figures.extra} (goal 0, 0)`);
console.log(`  max edge → read-back ${figures.maxEdgeLagMs} ms (goal ≤ 5000)`);
console.log(`  reconcile pass over 30 slots: median ${figures.reconcileMs} ms, slowest ${figures.reconcileMaxMs} ms`);
console.log(`  simulated in ${figures.simulatedYearS} s (${figures.reconcilePassesInYear} reconcile passes)`);
for (const m of result.mismatches) console.log(`  ${m}`);
console.log(`  slowest edges: ${result.slowest.join('; ')}`);
console.log(JSON.stringify(figures));
process.exit(result.missed === 0 && result.extra === 0 ? 0 : 1);
