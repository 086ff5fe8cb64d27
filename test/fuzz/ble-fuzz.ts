/**
 * Fuzzer for the BLE lock protocol's parsers and the lock-side state machine: random bytes and
 * mutations of valid frames (bit flips, truncation, extension, spliced chunks, CRC repaired so a
 * mutation reaches the layers behind the check). Seeded, so a failure replays.
 *
 *   npm run fuzz:ble -- [iterations] [seed]     (long run; JSON summary as the last line; run under
 *                                              --expose-gc so heap growth is measured after a GC)
 * A short run is part of `npm test` (test/unit/ble-fuzz.test.ts).
 */
import { pathToFileURL } from 'node:url';
import { generateKeyPair, sharedKey } from '../../protocols/ble/channel.js';
import { crc16 } from '../../protocols/ble/crc16.js';
import { decodeFrame, MAX_FRAME_BYTES } from '../../protocols/ble/frame.js';
import { fragment, Reassembler } from '../../protocols/ble/fragment.js';
import { HubChannel } from '../../protocols/ble/hub-channel.js';
import { LockProtocol, type LockDevice } from '../../protocols/ble/lock-protocol.js';
import { decodeCommand, decodeReply, type HubCommand } from '../../protocols/ble/messages.js';
import { pairHelloFrame, parsePairKey } from '../../protocols/ble/sealed.js';

export interface FuzzReport {
  iterations: number;
  seed: number;
  crashes: number;
  firstCrash: string | undefined;
  lockRepliesSent: number;
  maxReassemblyBytes: number;
  heapGrowthMb: number;
}

/** xorshift32: fast, seeded, good enough to pick mutations. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function fuzzBle(iterations: number, seed = 1): FuzzReport {
  const next = prng(seed);
  const int = (n: number): number => next() % Math.max(1, n);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => next() & 0xff);

  let clockMs = 0;
  let sent = 0;
  const device: LockDevice = {
    slotCount: 30,
    status: () => ({ bolt: 'locked', door: 'closed', battery: 50 }),
    move: (_action, done) => {
      done(undefined);
      return undefined;
    },
    setCode: () => undefined,
    clearCode: () => undefined,
    codes: () => [{ slot: 1, code: '1234' }],
  };
  // Valid sealed replies from the lock, kept (bounded) as seeds for mutations aimed at the hub.
  const replies: Uint8Array[] = [];
  const lock = new LockProtocol({
    device,
    send: (f) => {
      sent += 1;
      if (replies.length < 64) replies.push(f);
      else replies[int(64)] = f;
    },
    now: () => clockMs,
    random: bytes,
  });
  // A genuine pairing, so mutations of well-formed sealed frames reach the crypto and the commands.
  const hub = generateKeyPair(bytes);
  lock.openPairing();
  lock.receive(pairHelloFrame(hub.publicKey));
  const offerFrame = decodeFrame(replies.pop()!);
  const offer = offerFrame.ok ? parsePairKey(offerFrame.frame) : undefined;
  if (offer === undefined) throw new Error('fuzz setup: no pairing offer');
  const key = sharedKey(offer.lockPublicKey, hub.secretKey);
  const pairingChannel = new HubChannel({ key, authId: 0, firstCounter: 0n, random: bytes });
  lock.receive(pairingChannel.seal({ type: 'pair-complete', challenge: offer.challenge, name: 'fuzz' }).frame);
  const paired = pairingChannel.open(replies.pop()!);
  if (paired.kind !== 'reply' || paired.message.type !== 'paired') throw new Error('fuzz setup: pairing failed');
  const channel = new HubChannel({ key, authId: paired.message.authId, firstCounter: pairingChannel.nextCounter, random: bytes });
  /** The hub's parser, fed mutated replies; its own state only ever moves on authentic frames. */
  const hubSide = new HubChannel({ key, authId: paired.message.authId, firstCounter: 0n, random: bytes });

  const commands: HubCommand[] = [
    { type: 'request-challenge' },
    { type: 'get-status' },
    { type: 'get-codes' },
    { type: 'lock-action', action: 'unlock', challenge: new Uint8Array(32) },
    { type: 'set-code', slot: 5, code: '98765', challenge: new Uint8Array(32) },
    { type: 'pair-complete', challenge: new Uint8Array(32), name: 'fuzz' },
  ];
  const reassembler = new Reassembler();
  let crashes = 0;
  let firstCrash: string | undefined;
  let maxReassembly = 0;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;

  for (let i = 0; i < iterations; i++) {
    let input: Uint8Array;
    const mode = int(6);
    const towardHub = int(3) === 0 && replies.length > 0;
    if (mode === 0) input = bytes(int(80));
    else {
      const base = towardHub ? replies[int(replies.length)]! : channel.seal(commands[int(commands.length)]!).frame;
      input = mutate(base, mode, int, bytes);
    }
    try {
      decodeFrame(input);
      decodeCommand(input.subarray(Math.min(input.length, 4 + int(40))));
      decodeReply(input.subarray(Math.min(input.length, int(40))));
      if (towardHub) hubSide.open(input);
      else lock.receive(input);
      for (const chunk of mode === 5 ? fragment(input.length > 0 ? input : Uint8Array.of(0), 23 + int(200)) : [input]) {
        reassembler.push(chunk);
        maxReassembly = Math.max(maxReassembly, reassembler.pendingBytes);
      }
      if (reassembler.pendingBytes > MAX_FRAME_BYTES) throw new Error(`reassembler holds ${reassembler.pendingBytes} bytes`);
    } catch (err) {
      crashes += 1;
      firstCrash ??= `iteration ${i} (seed ${seed}): ${(err as Error).stack ?? String(err)} input=${Buffer.from(input).toString('hex')}`;
    }
    clockMs += int(3) * 1000;
  }
  gc?.();
  const heapGrowthMb = Math.max(0, process.memoryUsage().heapUsed - heapBefore) / 1048576;
  return { iterations, seed, crashes, firstCrash, lockRepliesSent: sent, maxReassemblyBytes: maxReassembly, heapGrowthMb: Math.round(heapGrowthMb * 10) / 10 };
}

function mutate(base: Uint8Array, mode: number, int: (n: number) => number, bytes: (n: number) => Uint8Array): Uint8Array {
  let out = base.slice();
  switch (mode) {
    case 1: // flip bits
      for (let k = 0, n = 1 + int(4); k < n; k++) out[int(out.length)]! ^= 1 << int(8);
      break;
    case 2: // truncate
      out = out.subarray(0, int(out.length));
      break;
    case 3: // extend
      out = Uint8Array.of(...out, ...bytes(1 + int(20)));
      break;
    case 4: // overwrite a run
      out.set(bytes(Math.min(8, out.length)), int(Math.max(1, out.length - 8)));
      break;
  }
  // Repair the CRC half of the time, so the mutation reaches the crypto and parsers behind it.
  if (out.length >= 6 && int(2) === 0) {
    new DataView(out.buffer, out.byteOffset).setUint16(out.length - 2, crc16(out, out.length - 2), true);
    new DataView(out.buffer, out.byteOffset).setUint16(2, out.length - 6, true);
    new DataView(out.buffer, out.byteOffset).setUint16(out.length - 2, crc16(out, out.length - 2), true);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const iterations = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? Date.now() % 0xffffffff);
  const t0 = performance.now();
  const report = fuzzBle(iterations, seed);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`BLE fuzz: ${iterations} inputs in ${seconds.toFixed(1)} s (${Math.round(iterations / seconds)}/s), seed ${seed}`);
  console.log(`crashes: ${report.crashes}; lock replies: ${report.lockRepliesSent}; max reassembly buffer: ${report.maxReassemblyBytes} B; heap growth: ${report.heapGrowthMb} MB`);
  if (report.firstCrash) console.log(report.firstCrash);
  console.log(JSON.stringify({ ...report, firstCrash: undefined, seconds: Math.round(seconds * 10) / 10 }));
  process.exitCode = report.crashes === 0 ? 0 : 1;
}
