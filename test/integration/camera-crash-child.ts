/**
 * Child process for camera-crash.test.ts: the hub's camera and recorder against the simulated
 * camera, recording one visit into <dir>. Prints `clip <id>` once two whole fragments are on disk
 * and keeps recording until the parent kills it with SIGKILL: a hub losing power mid-visit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Camera } from '../../hub/camera/camera.js';
import { ClipStore } from '../../hub/camera/clip-store.js';
import { topLevelBoxes } from '../../hub/camera/mp4-boxes.js';
import { Recorder } from '../../hub/camera/recorder.js';
import { openStore } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { createLogger } from '../../hub/system/logger.js';
import { SimCamera } from '../../sim/camera/server.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: camera-crash-child.ts <dir>');
const clock = systemClock();
const log = createLogger({ level: 'silent', format: 'json' });
const sim = new SimCamera({ clock });
await sim.start();
const camera = new Camera({ url: sim.url, clock, log, preRollS: 1 });
camera.start();
const store = await openStore({ path: join(dir, 'keyhub.db'), busyTimeoutMs: 1000, log });
const clips = new ClipStore({ store, dir: join(dir, 'clips'), clock, log, quotaBytes: 1e9, visitQuotaBytes: 1e9 });
while (!camera.healthy()) await new Promise((r) => setTimeout(r, 20));
const recording = await new Recorder({ camera, clips, clock, log }).start('visit-power-cut');
const part = join(dir, 'clips', `${recording.id}.mp4.part`);
const fragments = (): number => topLevelBoxes(readFileSync(part)).filter((b) => b.type === 'moof').length;
while (fragments() < 2) await new Promise((r) => setTimeout(r, 20));
process.stdout.write(`clip ${recording.id}\n`);
setInterval(() => {}, 1000); // keep recording until killed
