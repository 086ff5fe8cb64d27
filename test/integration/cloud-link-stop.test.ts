import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../hub/cloud/embedded-broker.js';
import { CloudLink } from '../../hub/cloud/link.js';
import { systemClock } from '../../hub/system/clock.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

/** A TCP relay to the broker that can go silent while keeping both connections open (a half-open path). */
async function silentableRelay(to: number): Promise<{ port: number; silence(): void; close(): Promise<void> }> {
  let silent = false;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(to, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (d) => silent || upstream.write(d));
    upstream.on('data', (d) => silent || client.write(d));
    for (const s of [client, upstream]) s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence: () => (silent = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the cloud link on shutdown', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('stops within its goodbye cap when the broker stops answering with a publish still unacknowledged (the path went silent, TCP stayed open)', async () => {
    const dir = tempDir('keyhub-link-stop-');
    cleanups.push(() => dir.cleanup());
    const clock = systemClock();
    const broker = new EmbeddedBroker({ dir: join(dir.path, 'broker'), port: 0, cloudIdentity: 'keyhub-cloud', clock, log: silentLog() });
    await broker.start();
    cleanups.push(() => broker.stop());
    const relay = await silentableRelay(Number(new URL(broker.url).port));
    cleanups.push(() => relay.close());
    const hubId = 'kh-00000000000000aa';
    const link = new CloudLink({ hubId, url: `mqtts://127.0.0.1:${relay.port}`, tls: { ...(await broker.clientIdentity(hubId)), ca: broker.caCert }, protocolVersion: 4, clock, log: silentLog() });
    link.start();
    await until(() => link.connected, 'the link to connect');
    relay.silence();
    let acked = false;
    void link.publish('state', { hubId, atMs: Date.now(), version: 'test', audit: { headSeq: 0, ackedThrough: 0, backlog: 0 } }).then(
      () => (acked = true),
      () => undefined,
    );
    let stopped = false;
    const stopping = link.stop().then(() => (stopped = true));
    // The goodbye waits 2 s for its PUBACK; then the link must let go, whatever is still out.
    await until(() => stopped, 'link.stop() to return', 8_000);
    await stopping;
    expect(acked).toBe(false); // it was still out: a graceful end would have waited for it forever
    expect(link.connected).toBe(false);
  });
});
