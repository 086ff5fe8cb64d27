import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Camera, type CameraEvent, type CameraOptions } from '../../hub/camera/camera.js';
import type { Frame } from '../../hub/camera/frame.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { systemClock } from '../../hub/system/clock.js';
import type { Logger } from '../../hub/system/logger.js';
import { SimCamera, type SimCameraOptions } from '../../sim/camera/server.js';

/**
 * Polls `check` on real time until it holds: the sim camera streams over real sockets, so a test
 * waits for bytes to arrive, but never asserts how long that took.
 */
export { until } from './wait.js';

export const realPause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A logger whose lines a test can read (to check, e.g., that no password is ever logged). */
export function capturedLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

export const SIM_CREDENTIALS = { username: 'installer', password: 'door-cam-s3cret' };

export interface Rig {
  sim: SimCamera;
  camera: Camera;
  clock: FakeClock;
  events: CameraEvent[];
  frames: Frame[];
  lines: string[];
  stop(): Promise<void>;
}

/**
 * The simulated camera on real time and the hub's camera on a FakeClock. Reads are not batched
 * (readBatchMs 0): a batching delay on a FakeClock would wait for a test to advance it.
 */
export async function startRig(camera: Partial<CameraOptions> = {}, sim: Partial<SimCameraOptions> = {}): Promise<Rig> {
  const simCamera = new SimCamera({ clock: systemClock(), credentials: SIM_CREDENTIALS, ...sim });
  await simCamera.start();
  const clock = new FakeClock();
  const { log, lines } = capturedLog();
  const cam = new Camera({ url: simCamera.url, credentials: SIM_CREDENTIALS, clock, log, random: () => 0.5, backoff: { initialMs: 200, maxMs: 2_000 }, readBatchMs: 0, ...camera });
  const events: CameraEvent[] = [];
  const frames: Frame[] = [];
  cam.onEvent((e) => events.push(e));
  cam.onFrame((f) => frames.push(f));
  cam.start();
  return {
    sim: simCamera,
    camera: cam,
    clock,
    events,
    frames,
    lines,
    async stop() {
      await cam.stop();
      await simCamera.stop();
    },
  };
}
