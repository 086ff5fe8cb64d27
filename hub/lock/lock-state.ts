/**
 * What the hub believes about a lock, with freshness: the fail-secure rule (DESIGN.md) says a
 * bolt position nobody confirmed recently is not a position at all. Each field remembers when the
 * lock last reported it, on the monotonic clock (a wall-clock step neither ages nor refreshes it);
 * past its max age it reads `unknown`. A lost connection forgets bolt and door at once.
 */
import type { Clock } from '../system/clock.js';
import type { BoltState, DoorState, LockState } from './lock.js';

export interface LockStateOptions {
  clock: Clock;
  /** How long a bolt or door report stays true. */
  maxAgeMs: number;
  /** Battery reports are rare (hours apart on Z-Wave locks), so they age separately. Default 26 h. */
  batteryMaxAgeMs?: number;
}

interface Reading<T> {
  value: T;
  atMono: number;
}

export interface LockStatePatch {
  bolt?: Exclude<BoltState, 'unknown'>;
  door?: Exclude<DoorState, 'unknown'>;
  batteryPercent?: number;
}

export class LockStateTracker {
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #batteryMaxAgeMs: number;
  #bolt: Reading<Exclude<BoltState, 'unknown'>> | undefined;
  #door: Reading<Exclude<DoorState, 'unknown'>> | undefined;
  #battery: Reading<number> | undefined;
  #updatedAtMs: number | undefined;
  #connected = false;

  constructor(options: LockStateOptions) {
    if (!(options.maxAgeMs > 0)) throw new RangeError(`state max age must be > 0 ms, got ${options.maxAgeMs}`);
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs;
    this.#batteryMaxAgeMs = options.batteryMaxAgeMs ?? 26 * 3600_000;
  }

  /** Records what the lock just reported. Battery is clamped to 0–100 (some locks send 0xFF = low). */
  update(patch: LockStatePatch): void {
    const atMono = this.#clock.monotonic();
    if (patch.bolt !== undefined) this.#bolt = { value: patch.bolt, atMono };
    if (patch.door !== undefined) this.#door = { value: patch.door, atMono };
    if (patch.batteryPercent !== undefined) {
      this.#battery = { value: Math.min(100, Math.max(0, Math.round(patch.batteryPercent))), atMono };
    }
    this.#updatedAtMs = this.#clock.now();
  }

  /** Forgets the bolt position (e.g. a command timed out: the bolt may be anywhere). */
  forgetBolt(): void {
    this.#bolt = undefined;
  }

  setConnected(connected: boolean): void {
    this.#connected = connected;
    if (!connected) {
      this.#bolt = undefined;
      this.#door = undefined;
    }
  }

  get connected(): boolean {
    return this.#connected;
  }

  snapshot(): LockState {
    const now = this.#clock.monotonic();
    const fresh = <T>(r: Reading<T> | undefined, maxAge: number): T | undefined =>
      r !== undefined && now - r.atMono <= maxAge ? r.value : undefined;
    return {
      bolt: fresh(this.#bolt, this.#maxAgeMs) ?? 'unknown',
      door: fresh(this.#door, this.#maxAgeMs) ?? 'unknown',
      batteryPercent: fresh(this.#battery, this.#batteryMaxAgeMs),
      updatedAtMs: this.#updatedAtMs,
      connected: this.#connected,
    };
  }
}
