import type { PayloadOf } from '../../protocols/mqtt/contract.js';
import type { IncomingMessage, LinkEvents } from '../../hub/cloud/link.js';

/** A link that records replies and lets the test deliver messages as the broker would. */
export class RecordingLink {
  readonly replies: Array<{ value: PayloadOf<'replies'>; correlationData?: Uint8Array }> = [];
  /** Every other publish (e.g. `state`), in order. */
  readonly published: Array<{ name: string; value: unknown }> = [];
  /** Set to make publishes fail as a dropped link would. */
  failWith: Error | undefined;
  #handlers: LinkEvents[] = [];
  on(h: LinkEvents): () => void {
    this.#handlers.push(h);
    return () => (this.#handlers = this.#handlers.filter((x) => x !== h));
  }
  async publish(name: string, value: unknown, options: { correlationData?: Uint8Array } = {}): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    if (name === 'replies') this.replies.push({ value: value as PayloadOf<'replies'>, ...options });
    else this.published.push({ name, value });
  }
  deliver(message: IncomingMessage): void {
    for (const h of this.#handlers) h.onMessage?.(message);
  }
}
