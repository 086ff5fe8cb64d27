/**
 * The one request in flight on the BLE link and the reply it waits for. Commands are serialized
 * by the CommandQueue, so there is at most one; a reply is matched by request id (the command's
 * nonce counter, protocols/ble/hub-channel.ts), which a recorded reply cannot match later.
 */
import type { Envelope, LockReply } from '../../../protocols/ble/messages.js';

interface Waiting {
  requestId: number;
  want: LockReply['type'];
  resolve(reply: Envelope<LockReply>): void;
  reject(err: unknown): void;
}

export type Delivery = 'resolved' | 'rejected' | 'progress' | 'unexpected';

export class PendingReply {
  #waiting: Waiting | undefined;

  get busy(): boolean {
    return this.#waiting !== undefined;
  }

  /**
   * Waits for the reply of type `want` to `requestId` (an ERROR reply rejects through `onError`).
   * The returned promise is pre-handled: it may settle while the caller is still writing chunks.
   */
  expect(requestId: number, want: LockReply['type'], signal: AbortSignal): Promise<Envelope<LockReply>> {
    const reply = new Promise<Envelope<LockReply>>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#waiting?.requestId === requestId) this.#waiting = undefined;
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(fn: (v: T) => void) => (v: T): void => {
        signal.removeEventListener('abort', onAbort);
        fn(v);
      };
      this.#waiting = { requestId, want, resolve: settle(resolve), reject: settle(reject) };
    });
    reply.catch(() => {});
    return reply;
  }

  /** Hands a reply from the lock to the waiting request, if it is its. */
  deliver(reply: Envelope<LockReply>, onError: (error: number) => unknown): Delivery {
    const w = this.#waiting;
    if (w === undefined || w.requestId !== reply.requestId) return 'unexpected';
    if (reply.type === 'error') {
      this.#waiting = undefined;
      w.reject(onError(reply.error));
      return 'rejected';
    }
    if (reply.type !== w.want) return 'progress';
    this.#waiting = undefined;
    w.resolve(reply);
    return 'resolved';
  }

  /** Fails the waiting request (link lost, send failed, refusal without a request id). */
  fail(err: unknown): boolean {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(err);
    return w !== undefined;
  }
}
