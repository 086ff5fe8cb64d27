import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Median and percentiles of a sample (nearest-rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (line === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(/(\d+)/.exec(line)?.[1]) / 1024;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Compiles dist/ so benches measure what an installed hub runs (node on JS, no tsx). */
export function buildDist(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
