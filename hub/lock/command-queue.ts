/**
 * Serializes the commands sent to one lock (DESIGN.md, "Lock drivers": every command has a timeout
 * and a confirmed outcome). Locks are slow, half-duplex devices: two commands in the air at once
 * race each other's reports, so a driver runs exactly one at a time.
 *
 * Joining: a command whose key equals the key of the LAST command in line (running or queued) does
 * not get sent again; the caller gets the same promise. Only the tail is joined, so
 * `unlock, lock, unlock` still sends three commands and ends unlocked, while a courier's handheld
 * retrying `unlock` during the bolt's travel sends one.
 *
 * Labels: errors name a command by its label (the key unless told otherwise), so a key that carries
 * a keypad code to tell two Sets apart never puts the code into an error message or a log line.
 *
 * Timeout: measured on the Clock from the moment the command starts running (waiting in line does
 * not count against it). On expiry the caller gets LOCK_TIMEOUT, the command's AbortSignal is aborted
 * with that error, and the next command may start.
 */
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';

export type Command<T> = (signal: AbortSignal) => Promise<T>;

interface Entry {
  readonly key: string;
  /** What the command is called in errors and logs: a key may hold a secret (a keypad code). */
  readonly label: string;
  readonly command: Command<unknown>;
  readonly timeoutMs: number;
  readonly promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  settled: boolean;
  abort?: AbortController;
}

export interface CommandQueueOptions {
  clock: Clock;
  /** Default time for a command to reach a confirmed outcome. */
  timeoutMs: number;
}

export class CommandQueue {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  #running: Entry | undefined;
  readonly #waiting: Entry[] = [];

  constructor(options: CommandQueueOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`command timeout must be > 0 ms, got ${options.timeoutMs}`);
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs;
  }

  /** Commands running or waiting. */
  get size(): number {
    return this.#waiting.length + (this.#running === undefined ? 0 : 1);
  }

  /**
   * Runs `command` after every command already in line, or joins the last one in line when it has
   * the same key. Commands sharing a key must resolve to the same type.
   */
  run<T>(key: string, command: Command<T>, options: { timeoutMs?: number; label?: string } = {}): Promise<T> {
    const tail = this.#waiting.at(-1) ?? this.#running;
    if (tail !== undefined && !tail.settled && tail.key === key) return tail.promise as Promise<T>;
    let resolve!: (value: unknown) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    this.#waiting.push({ key, label: options.label ?? key, command: command as Command<unknown>, timeoutMs, promise, resolve, reject, settled: false });
    this.#pump();
    return promise as Promise<T>;
  }

  /** Rejects every waiting command and aborts the running one with `err` (driver stop, link lost). */
  cancelAll(err: HubError): void {
    const waiting = this.#waiting.splice(0);
    for (const entry of waiting) this.#settle(entry, err, false);
    if (this.#running !== undefined) {
      this.#running.abort?.abort(err);
      this.#settle(this.#running, err, false);
    }
  }

  #pump(): void {
    if (this.#running !== undefined) return;
    const entry = this.#waiting.shift();
    if (entry === undefined) return;
    this.#running = entry;
    const abort = new AbortController();
    entry.abort = abort;
    const timer = this.#clock.setTimeout(() => {
      const err = new HubError(ErrorCode.LOCK_TIMEOUT, `${entry.label}: no confirmed outcome from the lock within ${entry.timeoutMs} ms`);
      abort.abort(err);
      this.#settle(entry, err, false);
    }, entry.timeoutMs);
    let started: Promise<unknown>;
    try {
      started = entry.command(abort.signal);
    } catch (err) {
      started = Promise.reject(err);
    }
    started.then(
      (value) => {
        timer.cancel();
        this.#settle(entry, value, true);
      },
      (err: unknown) => {
        timer.cancel();
        this.#settle(entry, err, false);
      },
    );
  }

  #settle(entry: Entry, outcome: unknown, ok: boolean): void {
    if (entry.settled) return;
    entry.settled = true;
    if (ok) entry.resolve(outcome);
    else entry.reject(outcome);
    if (this.#running === entry) {
      this.#running = undefined;
      this.#pump();
    }
  }
}
