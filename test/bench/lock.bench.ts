/**
 * Lock benchmark. Everything is measured in this one run, each figure next to its baseline.
 *
 * Z-Wave (this file):
 * - 1,000 unlock+lock round trips through the hub's `Lock` (confirmed outcomes) against the
 *   simulated Kwikset on zwave-js's mock controller, served as tcp://127.0.0.1, motor delay 0 and
 *   simulated radio airtime 0 (as the BLE half's radio latency 0):
 *   zwaveP50Ms / zwaveP99Ms. Baseline: the same count of bare zwave-js Door Lock Set + Get (both
 *   directions) on an identical stick and lock, no hub, interleaved round by round with the hub's:
 *   zwaveBareP99Ms; zwaveRatio = hub / bare p99.
 * - The same through S2 Access Control (lock included with S2 first), fewer rounds by default
 *   (each S2 exchange costs a nonce round trip on the mock): zwaveS2P50Ms / zwaveS2P99Ms.
 * - Memory: RSS of a `keyhub run` process with the Z-Wave driver started on the mock (lock ready,
 *   then idle) against a process that only starts a bare zwave-js driver on the same mock:
 *   rssWithZwaveMb, rssBareZwaveMb, rssRatio. The hub runs from dist/ when it builds (as
 *   installed) and the bare process is plain JavaScript; when dist/ does not build, both run
 *   under tsx (hubLoader says which).
 *
 * BLE (the other half, hub/lock/ble — its own bench file, test/bench/lock-ble.ts, run as a
 * child here so that one JSON line carries both halves): bleP50Ms / bleP99Ms.
 *
 *   npx tsx test/bench/lock.bench.ts [rounds=1000] [s2Rounds=100] [--no-ble]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Driver } from 'zwave-js';
import { zwaveLock } from '../../hub/lock/zwave/zwave-lock.js';
import { loadZwave } from '../../hub/lock/zwave/zwave-runtime.js';
import { systemClock } from '../../hub/system/clock.js';
import { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { MockStick } from '../../sim/lock/zwave/mock-stick.js';
import { cleanEnv } from '../support/keyhub-process.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { TEST_KEYS, keyBytes, startRig } from '../support/zwave-lock-rig.js';
import { buildDist, percentile, round, rssMb } from './support.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const ROUNDS = Number(args[0] ?? 1000);
const S2_ROUNDS = Number(args[1] ?? 100);
const WITH_BLE = !process.argv.includes('--no-ble');
const WARMUP = 20;
/** Radio latency 0, as in the BLE half: what is left is the stack's own cost (mock default: 10 ms/frame). */
const TX_DELAY_MS = 0;
const IDLE_MS = 3000;
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

async function stickWithLock(): Promise<{ stick: MockStick; sim: KwiksetLock }> {
  const stick = await MockStick.start({ securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) } });
  const sim = await KwiksetLock.attach(stick, { motorMs: 0, txDelayMs: TX_DELAY_MS, clock: systemClock() });
  return { stick, sim };
}

async function timeRounds(rounds: number, roundTrip: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + rounds; i++) {
    const t0 = performance.now();
    await roundTrip();
    if (i >= WARMUP) samples.push(performance.now() - t0);
  }
  return samples;
}

/**
 * The hub's Lock and bare zwave-js, each on its own simulated stick and lock (a serial port has one
 * host), run interleaved round by round so that load on the machine falls on both alike.
 */
async function zwaveLatency(): Promise<{ hub: number[]; bare: number[] }> {
  const a = await stickWithLock();
  const b = await stickWithLock();
  const hubCache = tempDir('keyhub-bench-zwave-');
  const bareCache = tempDir('keyhub-bench-zwave-bare-');
  try {
    const lock = zwaveLock({
      port: a.stick.path,
      keys: { s2AccessControl: TEST_KEYS.s2AccessControl },
      cacheDir: hubCache.path,
      commandTimeoutMs: 10_000,
      stateMaxAgeMs: 3_600_000,
      clock: systemClock(),
      log: silentLog(),
    });
    await lock.start(new AbortController().signal);

    const { zw } = loadZwave();
    const driver: Driver = new zw.Driver(b.stick.path, {
      securityKeys: { S2_AccessControl: keyBytes(TEST_KEYS.s2AccessControl) },
      storage: { cacheDir: bareCache.path, lockDir: bareCache.path },
      logConfig: { enabled: false },
      interview: { queryAllUserCodes: false },
    });
    const ready = new Promise<void>((resolve) => driver.once('all nodes ready', () => resolve()));
    await driver.start();
    await ready;
    const api = driver.controller.nodes.get(2)?.commandClasses['Door Lock'];
    if (api === undefined) throw new Error('no lock node for the bare run');

    const hub: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      let t0 = performance.now();
      await lock.unlock();
      await lock.lock();
      if (i >= WARMUP) hub.push(performance.now() - t0);
      t0 = performance.now();
      await api.set(zw.DoorLockMode.Unsecured);
      const u = await api.get();
      await api.set(zw.DoorLockMode.Secured);
      const l = await api.get();
      if (i >= WARMUP) bare.push(performance.now() - t0);
      if (u?.currentMode !== zw.DoorLockMode.Unsecured || l?.currentMode !== zw.DoorLockMode.Secured) throw new Error('bare run: lock did not move');
    }
    await lock.stop();
    await driver.destroy();
    if (a.sim.bolt !== 'locked') throw new Error('the hub run did not end locked');
    return { hub, bare };
  } finally {
    for (const { stick, sim } of [a, b]) {
      sim.stop();
      await stick.stop();
    }
    hubCache.cleanup();
    bareCache.cleanup();
  }
}

/** The hub's Lock on a lock included with S2 Access Control. */
async function zwaveS2Latency(): Promise<number[]> {
  const rig = await startRig({ sim: false, driver: { commandTimeoutMs: 10_000 } });
  try {
    const joining = KwiksetLock.pendingInclusion(rig.stick, { secure: true, nodeId: 3, txDelayMs: TX_DELAY_MS, clock: systemClock() });
    await rig.lock.include({ validateDsk: async () => (await joining).pin });
    const sim = await joining;
    const samples = await timeRounds(S2_ROUNDS, async () => {
      await rig.lock.unlock();
      await rig.lock.lock();
    });
    sim.stop();
    return samples;
  } finally {
    await rig.close();
  }
}

async function rssOf(child: ChildProcess, readyWhen: (out: string) => boolean, what: string): Promise<number> {
  let out = '';
  child.stdout?.on('data', (s: Buffer) => (out += s.toString()));
  child.stderr?.on('data', (s: Buffer) => (out += s.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = performance.now() + 60_000;
  while (!readyWhen(out)) {
    if (performance.now() > deadline || child.exitCode !== null) throw new Error(`${what} did not get ready:\n${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rss = rssMb(child.pid as number);
  child.kill('SIGTERM');
  await exited;
  return rss;
}

async function memory(): Promise<{ withZwave: number; bare: number; hubLoader: string }> {
  let hubLoader = 'dist';
  try {
    buildDist();
  } catch {
    hubLoader = 'tsx';
  }
  const distCli = here('../../dist/hub/cli/main.js');
  if (!existsSync(distCli)) hubLoader = 'tsx';

  const { stick, sim } = await stickWithLock();
  const dir = tempDir('keyhub-bench-rss-');
  try {
    const config = join(dir.path, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 1,
        log: { level: 'info', format: 'json' },
        systemd: { notify: false },
        lock: { driver: 'zwave', zwave: { port: stick.path, keys: { s2AccessControl: TEST_KEYS.s2AccessControl } } },
      }),
    );
    const cliArgs = ['--config', config, '--state-dir', join(dir.path, 'state'), 'run'];
    const entry = hubLoader === 'dist' ? [distCli] : [here('../../bin/keyhub.js')];
    const hub = spawn(process.execPath, [...entry, ...cliArgs], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const withZwave = await rssOf(hub, (out) => out.includes('"keyhub ready"'), 'keyhub run');
    // Same loader on both sides: when the hub cannot run from dist/, the bare process pays tsx too.
    const loader = hubLoader === 'tsx' ? ['--import', 'tsx'] : [];
    const bareProc = spawn(process.execPath, [...loader, here('./lock-zwave-bare.mjs'), stick.path, join(dir.path, 'bare-cache'), TEST_KEYS.s2AccessControl], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bare = await rssOf(bareProc, (out) => out.includes('ready'), 'bare zwave-js');
    return { withZwave, bare, hubLoader };
  } finally {
    sim.stop();
    await stick.stop();
    dir.cleanup();
  }
}

/** The BLE half: its own bench file, run as a child; its last line is its JSON. */
function bleHalf(): Record<string, unknown> {
  if (!WITH_BLE) return {};
  const file = here('./lock-ble.ts');
  if (!existsSync(file)) return { ble: 'not available (test/bench/lock-ble.ts missing)' };
  const run = spawnSync(process.execPath, ['--import', 'tsx', file, String(ROUNDS)], { encoding: 'utf8' });
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  process.stdout.write(run.stdout.split('\n').slice(0, -1).join('\n') + '\n');
  try {
    const { bleP50Ms, bleP99Ms, bleProtocolOnlyP99Ms } = JSON.parse(last) as Record<string, unknown>;
    return { bleP50Ms, bleP99Ms, bleProtocolOnlyP99Ms };
  } catch {
    return { ble: `failed (exit ${run.status}): ${run.stderr.slice(-300)}` };
  }
}

// zwave-js's MockController answers host messages from fire-and-forget promises; when a driver is
// destroyed between a request and its answer, the mock's wait for the host's ACK rejects with no
// one listening. That is the simulator talking to a host that left, not a measurement: ignore it.
process.on('unhandledRejection', (err) => {
  if (err instanceof Error && err.message.startsWith('Host did not respond with an ACK')) return;
  throw err;
});

const { hub, bare } = await zwaveLatency();
const s2 = await zwaveS2Latency();
const mem = await memory();
const ble = bleHalf();

const figures = {
  rounds: ROUNDS,
  zwaveTxDelayMs: TX_DELAY_MS,
  zwaveP50Ms: round(percentile(hub, 50), 2),
  zwaveP95Ms: round(percentile(hub, 95), 2),
  zwaveP99Ms: round(percentile(hub, 99), 2),
  zwaveBareP95Ms: round(percentile(bare, 95), 2),
  zwaveBareP50Ms: round(percentile(bare, 50), 2),
  zwaveBareP99Ms: round(percentile(bare, 99), 2),
  zwaveRatio: round(percentile(hub, 99) / percentile(bare, 99), 3),
  s2Rounds: S2_ROUNDS,
  zwaveS2P50Ms: round(percentile(s2, 50), 2),
  zwaveS2P99Ms: round(percentile(s2, 99), 2),
  rssWithZwaveMb: round(mem.withZwave),
  rssBareZwaveMb: round(mem.bare),
  rssRatio: round(mem.withZwave / mem.bare, 3),
  hubLoader: mem.hubLoader,
  ...ble,
};
console.log(`Z-Wave unlock+lock round trips (${ROUNDS}, mock controller over tcp://127.0.0.1, motor 0):`);
console.log(`  hub Lock (confirmed):        p50 ${figures.zwaveP50Ms} ms, p95 ${figures.zwaveP95Ms} ms, p99 ${figures.zwaveP99Ms} ms (goal p99 <= 200 ms)`);
console.log(`  bare zwave-js Set+Get (x2):  p50 ${figures.zwaveBareP50Ms} ms, p95 ${figures.zwaveBareP95Ms} ms, p99 ${figures.zwaveBareP99Ms} ms`);
console.log(`  ratio p99 hub / bare:        ${figures.zwaveRatio} (goal <= 1.2)`);
console.log(`  S2 Access Control (${S2_ROUNDS}):     p50 ${figures.zwaveS2P50Ms} ms, p99 ${figures.zwaveS2P99Ms} ms`);
console.log(`Memory (RSS after ready + ${IDLE_MS / 1000} s idle; hub from ${mem.hubLoader}):`);
console.log(`  keyhub run with Z-Wave:      ${figures.rssWithZwaveMb} MiB (stretch goal <= 150)`);
console.log(`  bare zwave-js driver:        ${figures.rssBareZwaveMb} MiB`);
console.log(`  ratio:                       ${figures.rssRatio} (goal <= 1.15)`);
console.log(JSON.stringify(figures));
process.exit(0);
