/**
 * Long fuzz of the Z-Wave driver's report handling: a simulated lock sends mutated and random CC
 * frames through the real mock stick and zwave-js into the hub's driver. After every batch the hub
 * must still get a confirmed unlock and lock (or, when the mock node itself gave up, report the lock
 * unreachable with the bolt unknown); RSS must stay bounded. Exits 1 on any failure.
 *   npm run fuzz:zwave -- [frames=20000] [seed]
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { confirmedRoundTrip, garbageFrame } from '../support/zwave-garbage.js';
import { startRig } from '../support/zwave-lock-rig.js';

const frames = Number(process.argv[2] ?? 20_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const BATCH = 500;

let rig = await startRig();
const rss0 = process.memoryUsage().rss;
let sent = 0;
const recent: { ccId: number; ccCommand: number; payload: Uint8Array }[] = [];
let checks = 0;
let simRestarts = 0;
const t0 = performance.now();

/**
 * The hub's round trip after a batch. Some garbage makes zwave-js answer the node with frames the
 * mock node cannot take, and the mock node stops answering for good (a simulator limit, as with
 * S2 frames). The hub must then say so (LOCK_UNREACHABLE, bolt unknown) rather than crash or claim
 * an outcome; the fuzz then powers a fresh simulated lock and carries on.
 */
async function check(): Promise<void> {
  try {
    await confirmedRoundTrip(rig);
  } catch (err) {
    if (!isHubError(err, ErrorCode.LOCK_UNREACHABLE)) throw err;
    if (rig.lock.state().bolt !== 'unknown') throw new Error(`lock unreachable but bolt reads ${rig.lock.state().bolt}`, { cause: err });
    simRestarts++;
    console.log(`simulated lock stopped answering after frame ${sent}; last frames: ${recent.slice(-5).map(describe).join(', ')}`);
    await rig.close();
    rig = await startRig();
    await confirmedRoundTrip(rig);
  }
}

function describe(f: { ccId: number; ccCommand: number; payload: Uint8Array }): string {
  return `cc 0x${f.ccId.toString(16)} cmd 0x${f.ccCommand.toString(16)} ${Buffer.from(f.payload).toString('hex')}`;
}

try {
  const samples = fc.sample(garbageFrame, { numRuns: frames, seed });
  for (const frame of samples) {
    recent.push(frame);
    if (recent.length > 20) recent.shift();
    const sim = rig.sim!;
    await sim.sendRaw(frame.ccId, frame.ccCommand, frame.payload);
    sent++;
    if (sent % BATCH === 0) {
      // The mocks record every frame for assertions; drop that, so RSS measures the hub.
      sim.node.clearReceivedControllerFrames();
      sim.node.clearSentControllerFrames();
      rig.stick.controller.clearReceivedHostMessages();
      sim.received.length = 0;
      global.gc?.();
      await check();
      checks++;
      const mb = (process.memoryUsage().rss - rss0) / 2 ** 20;
      console.log(`${sent} frames, ${checks} confirmed round trips, RSS +${mb.toFixed(1)} MiB`);
      if (mb > 200) throw new Error(`RSS grew by ${mb.toFixed(1)} MiB`);
    }
  }
  await check();
  console.log(
    JSON.stringify({ seed, frames: sent, confirmedRoundTrips: checks + 1, simRestarts, crashed: 0, seconds: Math.round((performance.now() - t0) / 1000) }),
  );
} catch (err) {
  console.error(`fuzz failed after ${sent} frames (seed ${seed}):`, err);
  console.error('last frames sent:');
  for (const f of recent) console.error(`  ${describe(f)}`);
  process.exitCode = 1;
} finally {
  await rig.close();
}
