import type { PayloadOf } from '../../protocols/mqtt/contract.js';
import type { IncomingMessage, LinkEvents } from '../../hub/cloud/link.js';

/** A link that records replies and lets the test deliver messages as the broker would. */
export class RecordingLink {
  readonly replies: Array<{ value: PayloadOf<'replies'>; correlationData?: Uint8Array }> = [];
  /** Every other publish (e.g. `state`), in order. */
  readonly published: Array<{ name: string; value: unknown }> = [];
  /** Set to make publishes fail as a dropped link would. */
  failWith: Error | undefined;
  /** Publishes waiting for a PUBACK the test gives or refuses (`ack()` / `drop()`), when set. */
  holdAcks = false;
  #pending: Array<{ name: string; value: unknown; options: { correlationData?: Uint8Array }; resolve(): void; reject(err: Error): void }> = [];
  #connected = true;
  #handlers: LinkEvents[] = [];

  get connected(): boolean {
    return this.#connected;
  }

  on(h: LinkEvents): () => void {
    this.#handlers.push(h);
    return () => (this.#handlers = this.#handlers.filter((x) => x !== h));
  }

  async publish(name: string, value: unknown, options: { correlationData?: Uint8Array } = {}): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    if (!this.#connected) throw new Error('not connected');
    if (this.holdAcks) {
      await new Promise<void>((resolve, reject) => this.#pending.push({ name, value, options, resolve, reject }));
    }
    this.#record(name, value, options);
  }

  /** PUBACKs every held publish. */
  ack(): void {
    for (const p of this.#pending.splice(0)) p.resolve();
  }

  /** The connection drops: held publishes fail, as the real link settles them. */
  disconnect(): void {
    this.#connected = false;
    for (const h of this.#handlers) h.onDisconnect?.();
    for (const p of this.#pending.splice(0)) p.reject(new Error('not acknowledged: the connection closed'));
  }

  connect(): void {
    this.#connected = true;
    for (const h of [...this.#handlers]) h.onConnect?.();
  }

  deliver(message: IncomingMessage): void {
    for (const h of this.#handlers) h.onMessage?.(message);
  }

  #record(name: string, value: unknown, options: { correlationData?: Uint8Array }): void {
    if (name === 'replies') this.replies.push({ value: value as PayloadOf<'replies'>, ...options });
    else this.published.push({ name, value });
  }
}
