/**
 * Startup: spawn `keyhub run` (compiled dist/, as the systemd unit runs it) on a temp state dir with a
 * temp NOTIFY_SOCKET, 10 times; time from spawn to READY=1 and RSS 5 s after READY. Baseline in the
 * same run: a bare node process that loads koffi and sends READY=1 at once.
 *   npx tsx test/bench/startup.bench.ts      (last line: JSON)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../support/keyhub-process.js';
import { NotifySocket, has } from '../support/notify-socket.js';
import { tempDir } from '../support/temp-dir.js';
import { buildDist, percentile, round, rssMb } from './support.js';

const RUNS = 10;
const IDLE_MS = 5_000;
const DIST_CLI = fileURLToPath(new URL('../../dist/hub/cli/main.js', import.meta.url));
const SOURCE_BIN = fileURLToPath(new URL('../../bin/keyhub.js', import.meta.url));

const BASELINE = `
const koffi = (await import('koffi')).default;
const libc = koffi.load(null);
const socket = libc.func('int socket(int, int, int)');
const sendto = libc.func('long sendto(int, const uint8_t *buf, size_t, int, const uint8_t *addr, uint32_t)');
const name = process.env.NOTIFY_SOCKET;
const path = Buffer.from(name.startsWith('@') ? '\\0' + name.slice(1) : name);
const addr = Buffer.alloc(2 + path.length); addr.writeUInt16LE(1, 0); path.copy(addr, 2);
const msg = Buffer.from('READY=1');
sendto(socket(1, 2 | 0x80000, 0), msg, msg.length, 0x4000, addr, addr.length);
setInterval(() => {}, 1 << 30);
`;

interface Sample {
  readyMs: number;
  idleRssMb: number;
}

async function measure(start: (env: NodeJS.ProcessEnv) => ChildProcess, idle: boolean): Promise<Sample> {
  const socket = await NotifySocket.bind({ abstract: true });
  try {
    const t0 = process.hrtime.bigint();
    const child = start(cleanEnv({ NOTIFY_SOCKET: socket.address }));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await socket.waitFor(has('READY', '1'), 30_000);
    const ready = socket.datagrams.find((d) => d.data.includes('READY=1'));
    const readyMs = Number((ready?.receivedNs ?? process.hrtime.bigint()) - t0) / 1e6;
    if (idle) await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleRssMb = rssMb(child.pid as number);
    child.kill('SIGTERM');
    await exited;
    return { readyMs, idleRssMb };
  } finally {
    await socket.close();
  }
}

function hub(cli: string[]): (env: NodeJS.ProcessEnv) => ChildProcess {
  return (env) => {
    const dir = tempDir('keyhub-bench-');
    const config = join(dir.path, 'config.json');
    writeFileSync(config, JSON.stringify({ version: 1, log: { level: 'warn', format: 'json' } }));
    const child = spawn(process.execPath, [...cli, '--config', config, '--state-dir', join(dir.path, 'state'), 'run'], { env, stdio: 'ignore' });
    child.on('exit', () => dir.cleanup());
    return child;
  };
}

async function series(label: string, start: (env: NodeJS.ProcessEnv) => ChildProcess, idle: boolean): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await measure(start, idle));
  const ready = samples.map((s) => s.readyMs);
  console.log(`${label.padEnd(22)} ready p50 ${round(percentile(ready, 50))} ms, max ${round(Math.max(...ready))} ms; rss p50 ${round(percentile(samples.map((s) => s.idleRssMb), 50))} MB`);
  return samples;
}

buildDist();
const baseline = await series('bare node + READY=1', (env) => spawn(process.execPath, ['--input-type=module', '-e', BASELINE], { env, stdio: 'ignore' }), false);
const dist = await series('keyhub run (dist)', hub([DIST_CLI]), true);
const dev = await series('keyhub run (tsx, dev)', hub([SOURCE_BIN]), false);

const readyMs = round(percentile(dist.map((s) => s.readyMs), 50));
const baselineReadyMs = round(percentile(baseline.map((s) => s.readyMs), 50));
console.log(
  JSON.stringify({
    readyMs,
    idleRssMb: round(percentile(dist.map((s) => s.idleRssMb), 50)),
    baselineReadyMs,
    baselineRssMb: round(percentile(baseline.map((s) => s.idleRssMb), 50)),
    readyRatio: round(readyMs / baselineReadyMs, 2),
    tsxReadyMs: round(percentile(dev.map((s) => s.readyMs), 50)),
    runs: RUNS,
  }),
);
