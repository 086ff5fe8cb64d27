import type { PayloadOf } from '../../protocols/mqtt/contract.js';
import type { Logger } from '../system/logger.js';
import type { CloudLink } from './link.js';

/** What the reply queue needs of the link. */
export type ReplyLink = Pick<CloudLink, 'on' | 'publish' | 'connected'>;

/**
 * Replies held while the link is down, at most. A reply is at most 1 KiB (contract: replies), so
 * the queue stays under ~1 MiB however many messages a backlog held; past it the oldest go (their
 * outcomes are in the audit log, which reaches the cloud through the outbox).
 */
export const MAX_HELD_REPLIES = 1024;

interface Held {
  reply: PayloadOf<'replies'>;
  correlationData?: Uint8Array;
}

/**
 * Every downlink outcome is answered on `replies`, also when it was decided while the link was
 * down: a lock command that finished after the connection dropped, a message handled as the
 * link went away. Such replies are held (in memory: a restart loses them, the audit log does not)
 * and sent, in order, once the link is up again; a publish that fails because the connection
 * went is held again. A publish the broker refuses while the link stays up is not retried.
 */
export class ReplyQueue {
  readonly #link: ReplyLink;
  readonly #log: Logger;
  readonly #max: number;
  #held: Held[] = [];
  #dropped = 0;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;

  constructor(options: { link: ReplyLink; log: Logger; maxHeld?: number }) {
    this.#link = options.link;
    this.#log = options.log;
    this.#max = options.maxHeld ?? MAX_HELD_REPLIES;
  }

  /** Replies waiting for the link. */
  get held(): number {
    return this.#held.length;
  }

  start(): void {
    this.#stopped = false;
    this.#unsubscribe = this.#link.on({ onConnect: () => this.#flush() });
  }

  /** Drops what is still held (said in the log: the outcomes are on record). */
  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#held.length > 0) this.#log.warn({ replies: this.#held.length }, 'replies not sent before the stop (their outcomes are in the audit log)');
    this.#held = [];
  }

  send(reply: PayloadOf<'replies'>, correlationData?: Uint8Array): void {
    const held: Held = { reply, ...(correlationData === undefined ? {} : { correlationData }) };
    if (this.#link.connected) this.#publish(held);
    else this.#hold(held);
  }

  #publish(held: Held): void {
    this.#link.publish('replies', held.reply, held.correlationData === undefined ? {} : { correlationData: held.correlationData }).catch((err: unknown) => {
      // The connection went before the PUBACK: the reply goes again after the next connect.
      if (!this.#link.connected) this.#hold(held);
      else this.#log.warn({ err: (err as Error).message, id: held.reply.id }, 'reply refused by the broker (the cloud sees the outcome in the audit log)');
    });
  }

  #hold(held: Held): void {
    if (this.#stopped) return;
    this.#held.push(held);
    if (this.#held.length > this.#max) {
      this.#held.shift();
      if (this.#dropped++ === 0) this.#log.warn({ max: this.#max }, 'too many replies held while the link is down: the oldest are dropped (their outcomes are in the audit log)');
    }
  }

  #flush(): void {
    if (this.#dropped > 0) this.#log.warn({ dropped: this.#dropped }, 'replies dropped while the link was down');
    this.#dropped = 0;
    const held = this.#held;
    this.#held = [];
    for (const h of held) this.send(h.reply, h.correlationData);
  }
}
