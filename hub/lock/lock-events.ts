/**
 * The fan-out behind `Lock.onEvent`. A listener that throws must not stop the others nor the
 * driver that is delivering a report: its error goes to `onListenerError` (the driver logs it).
 */
import type { LockEvent, LockEventListener } from './lock.js';

export class LockEventFanout {
  readonly #listeners = new Set<LockEventListener>();
  readonly #onListenerError: (err: unknown, event: LockEvent) => void;

  constructor(onListenerError: (err: unknown, event: LockEvent) => void) {
    this.#onListenerError = onListenerError;
  }

  subscribe(listener: LockEventListener): () => void {
    // Wrapped so that one function subscribed twice gets two independent subscriptions.
    const entry: LockEventListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(event: LockEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.#onListenerError(err, event);
      }
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
