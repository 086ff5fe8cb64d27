import { describe, expect, it } from 'vitest';
import type { PayloadOf } from '../../protocols/mqtt/contract.js';
import { ReplyQueue } from '../../hub/cloud/reply-queue.js';
import { RecordingLink } from '../support/recording-link.js';
import { silentLog } from '../support/silent-log.js';

const reply = (id: string): PayloadOf<'replies'> => ({ id, kind: 'grants', outcome: 'accepted' });
const settled = () => new Promise((r) => setImmediate(r));

describe('replies held while the link is down', () => {
  it('sends what it held in order once the link is up, and nothing twice', async () => {
    const link = new RecordingLink();
    const queue = new ReplyQueue({ link, log: silentLog() });
    queue.start();
    link.disconnect();
    for (const id of ['a', 'b', 'c']) queue.send(reply(id));
    expect(queue.held).toBe(3);
    link.connect();
    await settled();
    link.connect();
    await settled();
    expect(link.replies.map((r) => r.value.id)).toEqual(['a', 'b', 'c']);
    expect(queue.held).toBe(0);
  });

  it('holds at most its bound: the oldest go first', async () => {
    const link = new RecordingLink();
    const queue = new ReplyQueue({ link, log: silentLog(), maxHeld: 2 });
    queue.start();
    link.disconnect();
    for (const id of ['a', 'b', 'c', 'd']) queue.send(reply(id));
    link.connect();
    await settled();
    expect(link.replies.map((r) => r.value.id)).toEqual(['c', 'd']);
  });

  it('does not retry a reply the broker refused while the link stayed up', async () => {
    const link = new RecordingLink();
    const queue = new ReplyQueue({ link, log: silentLog() });
    queue.start();
    link.failWith = new Error('PUBACK 0x87 not authorized');
    queue.send(reply('a'));
    await settled();
    link.failWith = undefined;
    link.disconnect();
    link.connect();
    await settled();
    expect(link.replies).toEqual([]);
    expect(queue.held).toBe(0);
  });

  it('drops what it holds at stop and holds nothing after', async () => {
    const link = new RecordingLink();
    const queue = new ReplyQueue({ link, log: silentLog() });
    queue.start();
    link.disconnect();
    queue.send(reply('a'));
    queue.stop();
    queue.send(reply('b'));
    link.connect();
    await settled();
    expect(link.replies).toEqual([]);
    expect(queue.held).toBe(0);
  });
});
