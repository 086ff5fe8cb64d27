/**
 * Camera: the simulated camera streams 1080p30 H.264 at ~4 Mbit/s (made by ffmpeg on first run and
 * cached in the OS temp dir); in the same run the hub's client + recorder (10 s pre-roll) and
 * `ffmpeg -rtsp_transport tcp -i … -c copy -f mp4 -movflags frag_keyframe+empty_moov` record the
 * same stream side by side for BENCH_SECONDS (default 60). CPU of each process is read from
 * /proc/<pid>/stat over the same window; the hub's RSS is sampled every second in that window.
 *   npx tsx test/bench/camera.bench.ts      (last line: JSON)
 * Knobs: BENCH_SECONDS; BENCH_DEBUG=1 (user/system split, the hub's self-report);
 * HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (node flags for both hub processes: a CPU
 * profile of each, written when they exit); CAMERA_READ_BATCH_MS (the hub's read batching,
 * hub/camera/rtsp-connection.ts; 0 turns it off, to see what it saves).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../hub/system/clock.js';
import { SimCamera } from '../../sim/camera/server.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { tempDir } from '../support/temp-dir.js';
import { round, rssMb } from './support.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? '60');
const PRE_ROLL_S = 10;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Compiled JS, as an installed hub runs it (no tsx loader thread in the measured process). */
const OUT = join(ROOT, 'node_modules', '.cache', 'keyhub-camera-bench');
const HUB = join(OUT, 'test', 'bench', 'camera-hub.js');
const CLIP = join(tmpdir(), 'keyhub-bench-1080p30-4M.h264');
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function ensureClip(): void {
  if (existsSync(CLIP)) return;
  console.log(`generating ${CLIP} (1080p30, ~4 Mbit/s, 20 s loop, GOP 1 s, no B-frames)…`);
  execFileSync('/usr/bin/ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '20',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-b:v', '4M', '-maxrate', '4M', '-bufsize', '4M',
    '-x264-params', 'keyint=30:min-keyint=30:scenecut=0:bframes=0', '-f', 'h264', CLIP,
  ], { stdio: 'inherit' });
}

/** utime + stime of a process, in seconds (proc(5): fields 14 and 15, in clock ticks). */
function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / TICKS, system: Number(fields[12]) / TICKS };
}

function compileHub(): void {
  rmSync(OUT, { recursive: true, force: true });
  // Only camera-hub.ts and what it imports; the tsconfig's strictness, the build's output shape.
  execFileSync(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--outDir', OUT, '--rootDir', ROOT, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
    '--target', 'ES2023', '--lib', 'ES2023', '--strict', '--skipLibCheck', '--types', 'node', '--resolveJsonModule', join(ROOT, 'test', 'bench', 'camera-hub.ts'),
  ], { stdio: 'inherit' });
  cpSync(join(ROOT, 'hub', 'store', 'migrations'), join(OUT, 'hub', 'store', 'migrations'), { recursive: true });
}

ensureClip();
compileHub();
const sim = new SimCamera({ clock: systemClock(), clipPath: CLIP, fps: 30 });
await sim.start();
const work = tempDir('keyhub-camera-bench-');
const ffOut = join(work.path, 'ffmpeg.mp4');
const bitrate = (statSync(CLIP).size * 8) / (sim.clip.frames.length / 30) / 1e6;
console.log(`stream: ${sim.clip.frames.length} frames, ${round(bitrate, 2)} Mbit/s, ${SECONDS} s window, pre-roll ${PRE_ROLL_S} s`);

const hubArgs = (mode: string): string[] => [...(process.env.HUB_NODE_ARGS?.split(' ').filter(Boolean) ?? []), HUB, sim.url, join(work.path, mode), String(PRE_ROLL_S), mode];
const hub = spawn(process.execPath, hubArgs('record'), { stdio: ['pipe', 'pipe', 'inherit'] });
// The same client without the recorder, to show what the recording itself costs.
const client = spawn(process.execPath, hubArgs('client'), { stdio: ['pipe', 'pipe', 'inherit'] });
const ffmpeg = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', sim.url, '-c', 'copy', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov', '-y', ffOut], { stdio: ['pipe', 'ignore', 'inherit'] });
const hubLines = createInterface({ input: hub.stdout });
const clientLines = createInterface({ input: client.stdout });
const nextLine = (): Promise<string> => new Promise((resolve) => hubLines.once('line', resolve));
const clientLine = (): Promise<string> => new Promise((resolve) => clientLines.once('line', resolve));
await Promise.all([nextLine(), clientLine()]); // 'recording': pre-roll full, clip open
while (!existsSync(ffOut) || statSync(ffOut).size === 0) await new Promise((r) => setTimeout(r, 50));

const hubPid = hub.pid as number;
const ffPid = ffmpeg.pid as number;
const clientPid = client.pid as number;
const hub0 = cpuSeconds(hubPid);
const client0 = cpuSeconds(clientPid);
const ff0 = cpuSeconds(ffPid);
const rss: number[] = [];
for (let s = 0; s < SECONDS; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  rss.push(rssMb(hubPid));
}
const hubCpu = cpuSeconds(hubPid) - hub0;
const clientCpu = cpuSeconds(clientPid) - client0;
if (process.env.BENCH_DEBUG) console.log('hub split', cpuSplit(hubPid), 'ffmpeg split', cpuSplit(ffPid));
const ffCpu = cpuSeconds(ffPid) - ff0;

const hubDone = nextLine();
const clientDone = clientLine();
hub.stdin.write('stop\n');
client.stdin.write('stop\n');
await clientDone;
const hubResult = JSON.parse(await hubDone) as { clip: string; bytes: number; liveFrames: number; mainThreadBusyMs: number; cpuUserMs: number; cpuSystemMs: number };
if (process.env.BENCH_DEBUG) console.log('hub self-report', hubResult);
const ffExit = new Promise((r) => ffmpeg.once('exit', r));
ffmpeg.stdin.write('q'); // ffmpeg's interactive quit: finishes the file
await ffExit;
await sim.stop();

const hubProbe = await ffprobe(hubResult.clip);
const ffProbe = await ffprobe(ffOut);
work.cleanup();

const minutes = SECONDS / 60;
const hubCpuPerMin = round(hubCpu / minutes, 2);
const ffmpegCpuPerMin = round(ffCpu / minutes, 2);
const rssPeak = round(Math.max(...rss));
console.log(`hub    client+recorder: ${hubCpuPerMin} CPU s/min, RSS peak ${rssPeak} MB, clip ${hubProbe.frames} frames ${round(hubProbe.durationS)} s ${hubProbe.codec} ${hubProbe.width}x${hubProbe.height}${hubProbe.errors ? ` (ffprobe: ${hubProbe.errors})` : ''}`);
console.log(`hub    client only:      ${round(clientCpu / minutes, 2)} CPU s/min (the recorder's share is the difference)`);
console.log(`ffmpeg -c copy (fMP4):  ${ffmpegCpuPerMin} CPU s/min, clip ${ffProbe.frames} frames ${round(ffProbe.durationS)} s`);
console.log(
  JSON.stringify({
    hubCpuPerMin,
    ffmpegCpuPerMin,
    ratio: round(hubCpu / ffCpu, 2),
    rssMb: rssPeak,
    hubClientOnlyCpuPerMin: round(clientCpu / minutes, 2),
    rssMbMedian: round([...rss].sort((a, b) => a - b)[Math.floor(rss.length / 2)] ?? 0),
    hubClipFrames: hubProbe.frames,
    ffmpegClipFrames: ffProbe.frames,
    streamMbps: round(bitrate, 2),
    seconds: SECONDS,
    preRollS: PRE_ROLL_S,
  }),
);
