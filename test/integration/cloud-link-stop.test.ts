import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../hub/cloud/embedded-broker.js';
import { CloudLink } from '../../hub/cloud/link.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { silentLog } from '../support/silent-log.js';
import { relayTo } from '../support/tcp-relay.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

describe('the cloud link on shutdown and when its connection goes', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A link to an embedded broker through a relay the test can silence or cut. */
  const linkThroughRelay = async () => {
    const dir = tempDir('keyhub-link-stop-');
    cleanups.push(() => dir.cleanup());
    const clock = systemClock();
    const broker = new EmbeddedBroker({ dir: join(dir.path, 'broker'), port: 0, cloudIdentity: 'keyhub-cloud', clock, log: silentLog() });
    await broker.start();
    cleanups.push(() => broker.stop());
    const relay = await relayTo(Number(new URL(broker.url).port));
    cleanups.push(() => relay.close());
    const hubId = 'kh-00000000000000aa';
    const link = new CloudLink({ hubId, endpoint: { url: `mqtts://127.0.0.1:${relay.port}`, tls: { ...(await broker.clientIdentity(hubId)), ca: broker.caCert }, protocolVersion: 4 }, clock, log: silentLog() });
    cleanups.push(() => link.stop());
    await link.start();
    await until(() => link.connected, 'the link to connect');
    return { hubId, link, relay };
  };

  it('rejects a publish still waiting for its PUBACK when the connection is cut, so its sender can send it again', async () => {
    const { hubId, link, relay } = await linkThroughRelay();
    relay.silence();
    const sent = link.publish('state', { hubId, atMs: Date.now(), version: 'test', audit: { headSeq: 0, ackedThrough: 0, backlog: 0 } });
    await relay.close();
    await expect(sent).rejects.toMatchObject({ code: ErrorCode.CLOUD_PUBLISH_FAILED });
    expect(link.connected).toBe(false);
  });

  it('stops within its goodbye cap when the broker stops answering with a publish still unacknowledged (the path went silent, TCP stayed open)', async () => {
    const { hubId, link, relay } = await linkThroughRelay();
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
