/**
 * A hub's cloud side as its own process, so a test can kill -9 it mid-drain (a power cut).
 * Usage: node --import tsx test/peers/cloud-hub-process.ts '<json options>' (or its compiled .js)
 * Prints one JSON line `{"ready":true,…}` once started, then a status line every 200 ms; exits on
 * SIGTERM after a clean stop.
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../hub/system/logger.js';
import { startHubSide } from './cloud-hub.js';

interface Options {
  dir: string;
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  batchSize: number;
  maxInFlight: number;
  protocolVersion?: 4 | 5;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const log = createLogger({ level: process.env['HUB_LOG'] === '1' ? 'debug' : 'warn', format: 'json' });
const hub = await startHubSide({
  dir: options.dir,
  url: options.url,
  ca: readFileSync(options.caFile, 'utf8'),
  identity: { cert: readFileSync(options.certFile, 'utf8'), key: readFileSync(options.keyFile, 'utf8') },
  batchSize: options.batchSize,
  maxInFlight: options.maxInFlight,
  protocolVersion: options.protocolVersion ?? 5,
  ackTimeoutMs: 3000,
  log,
});
const print = (o: object): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
print({ ready: true, hubId: hub.hubId, pid: process.pid });
const timer = setInterval(() => {
  const m = process.memoryUsage();
  print({ ...hub.outbox.status(), connected: hub.link.connected, rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20, arrayBuffersMb: m.arrayBuffers / 2 ** 20 });
}, 200);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void hub.stop().then(() => process.exit(0));
});
