import { createHash, type Hash } from 'node:crypto';
import { close, openSync, writev } from 'node:fs';
import { ErrorCode, HubError } from '../system/errors.js';

/**
 * One clip file being written: buffers are appended in file order and drained by a single loop
 * that hands everything queued to one positional `writev` at a time (libuv's thread pool), so the
 * camera's path never waits for the disk and a GOP costs one system call, not one per sample.
 * The queue is bounded: past `maxQueueBytes` the file fails loudly rather than eat memory, and
 * that failure is what `flushed()` and `close()` reject with.
 *
 * Crash safety comes from the order, not from fsync: bytes reach the file strictly in order, each
 * fragment whole or cut, so a file cut by kill -9 is its init segment and whole fragments, then
 * at most one torn fragment that ClipStore.recover() trims (hub/camera/mp4-boxes.ts).
 */
export interface ClipFileOptions {
  path: string;
  /** Bytes waiting for the disk (including the write in flight) beyond which the file fails. */
  maxQueueBytes: number;
  /** What the failure says about the clip, e.g. `clip clip-1f…`. */
  label: string;
}

/** Linux's IOV_MAX: more buffers than this go in the next writev. */
const MAX_IOV = 1024;

export class ClipFile {
  readonly #opts: ClipFileOptions;
  readonly #fd: number;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #position = 0;
  #writing = false;
  /** Settles when the writev in flight returns: the descriptor is not closed under it. */
  #inFlight: Promise<void> = Promise.resolve();
  #failure: HubError | undefined;
  #closed = false;
  /** SHA-256 of the bytes written so far, in file order: what a visit's receipt vouches for. */
  readonly #written: Hash = createHash('sha256');
  #waiters: Array<{ resolve(): void; reject(err: HubError): void }> = [];

  /** Creates the file (it must not exist: two recordings never share one). */
  constructor(options: ClipFileOptions) {
    this.#opts = options;
    this.#fd = openSync(options.path, 'wx', 0o600);
  }

  /** Bytes accepted but not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes the file holds once the queue is drained. */
  get size(): number {
    return this.#position + this.#queuedBytes;
  }

  get failure(): HubError | undefined {
    return this.#failure;
  }

  /** The bytes on disk so far and their SHA-256 (wait for `flushed()` first to include what is queued). */
  writtenDigest(): { bytes: number; sha256: Uint8Array } {
    return { bytes: this.#position, sha256: new Uint8Array(this.#written.copy().digest()) };
  }

  /** Queues buffers for the end of the file (they must not change until written). */
  append(buffers: readonly Uint8Array[], bytes: number): void {
    if (this.#failure !== undefined || this.#closed) return;
    this.#queuedBytes += bytes;
    if (this.#queuedBytes > this.#opts.maxQueueBytes) {
      this.fail(new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `${this.#opts.label}: ${this.#queuedBytes} bytes waiting for the disk (bound ${this.#opts.maxQueueBytes})`));
      return;
    }
    for (const b of buffers) this.#queue.push(b);
    this.#drain();
  }

  /** Resolves once everything appended so far is written; rejects with the file's failure. */
  flushed(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Writes what is queued, then closes the descriptor. Rejects with the failure, if any (closed all the same). */
  async close(): Promise<void> {
    let failure: unknown;
    try {
      await this.flushed();
    } catch (err) {
      failure = err;
    }
    if (!this.#closed) {
      this.#closed = true;
      // A failure (the queue overflowed) drops what is queued, not the write libuv is doing: close
      // only once it returned, so nothing lands in the file after it is hashed and renamed, and
      // the descriptor number is not reused under a write still in flight.
      await this.#inFlight;
      await new Promise<void>((resolve) => close(this.#fd, () => resolve()));
    }
    if (failure !== undefined) throw failure;
  }

  /** Stops writing; what is queued is dropped. */
  fail(err: HubError): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#settle();
  }

  #drain(): void {
    if (this.#writing || this.#failure !== undefined || this.#queue.length === 0) return;
    const batch = this.#queue.length <= MAX_IOV ? this.#queue : this.#queue.slice(0, MAX_IOV);
    this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_IOV);
    let bytes = 0;
    for (const b of batch) bytes += b.length;
    this.#writing = true;
    let returned!: () => void;
    this.#inFlight = new Promise((resolve) => (returned = resolve));
    writev(this.#fd, batch, this.#position, (err, written) => {
      this.#writing = false;
      returned();
      if (this.#failure !== undefined) return; // failed meanwhile: its queue and counts are gone
      if (err !== null || written !== bytes) {
        // A short write on a regular file means the disk is full (or the file too big): the clip
        // keeps what is whole, and the recording fails where someone will see it.
        const reason = err === null ? `short write (${written} of ${bytes} bytes; disk full?)` : err.message;
        this.fail(new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `${this.#opts.label}: writing failed: ${reason}`, { cause: err ?? undefined }));
        return;
      }
      // The buffers are unchanged until written (append's contract): hash them now, once on disk.
      for (const b of batch) this.#written.update(b);
      this.#position += bytes;
      this.#queuedBytes -= bytes;
      if (this.#queue.length > 0) this.#drain();
      else this.#settle();
    });
  }

  #settle(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (this.#failure !== undefined) w.reject(this.#failure);
      else w.resolve();
    }
  }
}
