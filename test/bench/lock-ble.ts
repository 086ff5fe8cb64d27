/**
 * BLE half of the lock benchmark (the Z-Wave half lives in lock.bench.ts):
 * 1,000 unlock+lock round trips through the hub's BLE driver (CommandQueue, challenge + action,
 * crypto_box, CRC frames, GATT fragmentation at the default ATT MTU of 23) and noble's real central
 * code, against the simulated BLE lock with radio latency 0 and motor time 0. Confirmed outcomes
 * only: each call resolves on the lock's STATUS reply.
 *
 * Baseline in the same run: the same exchanges (challenge + action, both ways sealed and framed)
 * between the protocol's two ends directly, no noble, no radio, no driver: the floor of crypto
 * and framing cost.
 *
 *   npx tsx test/bench/lock-ble.ts [rounds]
 */
import { performance } from 'node:perf_hooks';
import { systemClock } from '../../hub/system/clock.js';
import { generateKeyPair, sharedKey } from '../../protocols/ble/channel.js';
import { decodeFrame } from '../../protocols/ble/frame.js';
import { fragment, Reassembler } from '../../protocols/ble/fragment.js';
import { HubChannel } from '../../protocols/ble/hub-channel.js';
import { LockProtocol, type LockDevice } from '../../protocols/ble/lock-protocol.js';
import type { HubCommand } from '../../protocols/ble/messages.js';
import { pairHelloFrame, parsePairKey } from '../../protocols/ble/sealed.js';
import { bleHome } from '../support/ble-home.js';
import { silentLog } from '../support/silent-log.js';
import { percentile, round } from './support.js';

const rounds = Number(process.argv[2] ?? 1000);
const warmup = 50;

async function driverRoundTrips(): Promise<number[]> {
  const home = bleHome({ clock: systemClock(), log: silentLog(), radio: { latencyMs: 0 }, lock: { motorMs: 0 }, driver: { statusPollMs: 3_600_000 } });
  await home.startPaired();
  const samples: number[] = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const t0 = performance.now();
    await home.driver.unlock();
    await home.driver.lock();
    if (i >= warmup) samples.push(performance.now() - t0);
  }
  home.stop();
  return samples;
}

/** The protocol's two ends wired back to back, through fragmentation and reassembly. */
function protocolRoundTrips(): number[] {
  let bolt: 'locked' | 'unlocked' = 'locked';
  const device: LockDevice = {
    slotCount: 30,
    status: () => ({ bolt, door: 'closed', battery: 90 }),
    move: (action, done) => {
      bolt = action === 'lock' ? 'locked' : 'unlocked';
      queueDone = () => done(undefined);
      return undefined;
    },
    setCode: () => undefined,
    clearCode: () => undefined,
    codes: () => [],
  };
  let queueDone: (() => void) | undefined;
  const toHub: Uint8Array[] = [];
  const hubSide = new Reassembler();
  const lockSide = new Reassembler();
  const lock = new LockProtocol({ device, send: (f) => toHub.push(...fragment(f, 23)), now: () => performance.now() });
  const hub = generateKeyPair();
  lock.openPairing();
  lock.receive(pairHelloFrame(hub.publicKey));
  const offerFrame = decodeFrame(toHub.splice(0).map((c) => hubSide.push(c)).flatMap((r) => (r.kind === 'frame' ? [r.frame] : []))[0]!);
  if (!offerFrame.ok) throw new Error('pairing failed');
  const offer = parsePairKey(offerFrame.frame)!;
  const key = sharedKey(offer.lockPublicKey, hub.secretKey);
  const pairing = new HubChannel({ key, authId: 0, firstCounter: 0n });
  const send = (ch: HubChannel, command: HubCommand) => {
    for (const chunk of fragment(ch.seal(command).frame, 23)) {
      const r = lockSide.push(chunk);
      if (r.kind === 'frame') lock.receive(r.frame);
    }
    queueDone?.();
    queueDone = undefined;
    const replies = [];
    for (const chunk of toHub.splice(0)) {
      const r = hubSide.push(chunk);
      if (r.kind === 'frame') replies.push(ch.open(r.frame));
    }
    return replies;
  };
  const paired = send(pairing, { type: 'pair-complete', challenge: offer.challenge, name: 'bench' })[0];
  if (paired?.kind !== 'reply' || paired.message.type !== 'paired') throw new Error('pairing failed');
  const ch = new HubChannel({ key, authId: paired.message.authId, firstCounter: pairing.nextCounter });
  const act = (action: 'lock' | 'unlock') => {
    const c = send(ch, { type: 'request-challenge' })[0];
    if (c?.kind !== 'reply' || c.message.type !== 'challenge') throw new Error('no challenge');
    const done = send(ch, { type: 'lock-action', action, challenge: c.message.challenge });
    const last = done.at(-1);
    if (last?.kind !== 'reply' || last.message.type !== 'status' || last.message.status.bolt !== (action === 'lock' ? 'locked' : 'unlocked')) throw new Error('not confirmed');
  };
  const samples: number[] = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const t0 = performance.now();
    act('unlock');
    act('lock');
    if (i >= warmup) samples.push(performance.now() - t0);
  }
  return samples;
}

const base = protocolRoundTrips();
const hub = await driverRoundTrips();
const figures = {
  rounds,
  bleP50Ms: round(percentile(hub, 50), 2),
  bleP99Ms: round(percentile(hub, 99), 2),
  bleProtocolOnlyP50Ms: round(percentile(base, 50), 3),
  bleProtocolOnlyP99Ms: round(percentile(base, 99), 3),
  bleGoalP99Ms: 200,
};
console.log(`BLE unlock+lock round trips (${rounds}, radio latency 0, motor 0, ATT MTU 23):`);
console.log(`  hub driver + noble + sim radio + sim lock: p50 ${figures.bleP50Ms} ms, p99 ${figures.bleP99Ms} ms (goal p99 <= 200 ms)`);
console.log(`  protocol ends back to back (baseline):     p50 ${figures.bleProtocolOnlyP50Ms} ms, p99 ${figures.bleProtocolOnlyP99Ms} ms`);
console.log(JSON.stringify(figures));
