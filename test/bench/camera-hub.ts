/**
 * The hub's side of camera.bench.ts, in its own process so its CPU and RSS are its own: the
 * camera client (RTSP over TCP) with a pre-roll ring, and the recorder writing an fMP4 clip.
 * Prints `recording` once the pre-roll covers preRollS and the clip has started, records until a
 * line arrives on stdin, then prints one JSON line about the clip and exits.
 * Mode `client` skips the recorder: the client + pre-roll alone, to split the cost.
 *   node --import tsx test/bench/camera-hub.ts <url> <dir> <preRollS> [record|client]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Camera } from '../../hub/camera/camera.js';
import { ClipStore } from '../../hub/camera/clip-store.js';
import { Recorder } from '../../hub/camera/recorder.js';
import { openStore } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { createLogger } from '../../hub/system/logger.js';

const [url, dir, preRollText, mode = 'record'] = process.argv.slice(2);
if (url === undefined || dir === undefined) throw new Error('usage: camera-hub.ts <url> <dir> <preRollS>');
const preRollS = Number(preRollText ?? '10');
const clock = systemClock();
const log = createLogger({ level: 'warn', format: 'json' });
mkdirSync(dir, { recursive: true });
// CAMERA_READ_BATCH_MS: the read batching delay (hub/camera/rtsp-connection.ts), default the camera's own.
const batch = process.env.CAMERA_READ_BATCH_MS;
const camera = new Camera({ url, clock, log, preRollS, stallS: 5, ...(batch === undefined ? {} : { readBatchMs: Number(batch) }) });
let frames = 0;
camera.onFrame(() => frames++);
camera.start();
const store = await openStore({ path: join(dir, 'keyhub.db'), busyTimeoutMs: 1000, log });
const clips = new ClipStore({ store, dir: join(dir, 'clips'), clock, log, quotaBytes: 1e10, visitQuotaBytes: 1e10 });
const span = (): number => {
  const p = camera.preRoll();
  return (p.at(-1)?.time ?? 0) - (p[0]?.time ?? 0);
};
while (!camera.healthy() || span() < preRollS) await new Promise((r) => setTimeout(r, 50));
const recording = mode === 'record' ? await new Recorder({ camera, clips, clock, log }).start('bench-visit') : undefined;
const startFrames = frames;
const elu0 = performance.eventLoopUtilization();
const cpu0 = process.cpuUsage();
process.stdout.write('recording\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
const elu = performance.eventLoopUtilization(elu0);
const cpu = process.cpuUsage(cpu0);
const row = (await recording?.stop())?.clips[0];
await camera.stop();
store.close();
process.stdout.write(`${JSON.stringify({ clip: row === undefined ? '' : clips.path(row), bytes: row?.bytes ?? 0, liveFrames: frames - startFrames, mainThreadBusyMs: Math.round(elu.active), cpuUserMs: Math.round(cpu.user / 1000), cpuSystemMs: Math.round(cpu.system / 1000) })}\n`);
process.exit(0);
