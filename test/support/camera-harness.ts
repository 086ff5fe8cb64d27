import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Camera, type CameraEvent, type CameraOptions } from '../../hub/camera/camera.js';
import type { Frame } from '../../hub/camera/frame.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { systemClock, type Clock } from '../../hub/system/clock.js';
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

/**
 * The FakeClock with timers in whole milliseconds, for both sides of a shared-clock rig: the sim's
 * 1000/30 ms picture interval and the RTCP report interval would otherwise leave the FakeClock's
 * wall time a float a hair off the millisecond (it adds fractional steps to ~1.7e12), which
 * SQLite's STRICT integer columns (a clip's start and end) refuse.
 */
function wholeMs(clock: FakeClock): Clock {
  return {
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
    setTimeout: (fn, ms) => clock.setTimeout(fn, Math.round(ms)),
    setInterval: (fn, ms) => clock.setInterval(fn, Math.max(1, Math.round(ms))),
  };
}

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
 *
 * With `sharedClock`, the camera runs on the hub's FakeClock too: pictures flow only as a test
 * advances it (see `drive`), and what both sides time (session expiry against keep-alive, a stall
 * against the pictures that stopped) is compared on one clock, whatever the machine's load.
 */
export async function startRig(camera: Partial<CameraOptions> = {}, sim: Partial<SimCameraOptions> = {}, rig: { sharedClock?: boolean } = {}): Promise<Rig> {
  const clock = new FakeClock();
  const simCamera = new SimCamera({ clock: rig.sharedClock === true ? wholeMs(clock) : systemClock(), credentials: SIM_CREDENTIALS, ...sim });
  await simCamera.start();
  const { log, lines } = capturedLog();
  const cam = new Camera({ url: simCamera.url, credentials: SIM_CREDENTIALS, clock: rig.sharedClock === true ? wholeMs(clock) : clock, log, random: () => 0.5, backoff: { initialMs: 200, maxMs: 2_000 }, readBatchMs: 0, ...camera });
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

/**
 * Moves a shared clock on by `ms` in steps, giving the sockets a moment of real time after each so
 * the camera's packets and answers arrive at about the fake instant they were sent. `until`, if
 * given, stops early once it holds (checked after every step).
 */
export async function drive(r: Rig, ms: number, until?: () => boolean, stepMs = 50): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await r.clock.advance(Math.min(stepMs, ms - t));
    await realPause(4);
    if (until?.() === true) return;
  }
}
