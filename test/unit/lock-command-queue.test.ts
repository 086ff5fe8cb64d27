import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandQueue } from '../../hub/lock/command-queue.js';
import { ErrorCode, HubError, isHubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('CommandQueue', () => {
  it('runs one command at a time, in the order asked', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 1000 });
    const log: string[] = [];
    const first = deferred<string>();
    const a = queue.run('unlock', async () => {
      log.push('unlock start');
      return first.promise;
    });
    const b = queue.run('lock', async () => {
      log.push('lock start');
      return 'locked';
    });
    await tick();
    expect(log).toEqual(['unlock start']);
    first.resolve('unlocked');
    await expect(a).resolves.toBe('unlocked');
    await expect(b).resolves.toBe('locked');
    expect(log).toEqual(['unlock start', 'lock start']);
  });

  it('joins a second identical command while the first is in flight instead of sending it twice', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 1000 });
    let sent = 0;
    const gate = deferred<void>();
    const run = (): Promise<number> =>
      queue.run('unlock', async () => {
        sent++;
        await gate.promise;
        return sent;
      });
    const a = run();
    await tick();
    const b = run();
    expect(b).toBe(a);
    gate.resolve();
    await expect(Promise.all([a, b])).resolves.toEqual([1, 1]);
    expect(sent).toBe(1);
  });

  it('does not join an identical command that has another command queued behind it', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 1000 });
    const sent: string[] = [];
    const gate = deferred<void>();
    const cmd = (key: string) =>
      queue.run(key, async () => {
        sent.push(key);
        if (sent.length === 1) await gate.promise;
      });
    const all = [cmd('unlock'), cmd('lock'), cmd('unlock')];
    gate.resolve();
    await Promise.all(all);
    expect(sent).toEqual(['unlock', 'lock', 'unlock']);
  });

  it('sends again once the earlier identical command has finished', async () => {
    const queue = new CommandQueue({ clock: new FakeClock(), timeoutMs: 1000 });
    let sent = 0;
    await queue.run('lock', async () => void sent++);
    await queue.run('lock', async () => void sent++);
    expect(sent).toBe(2);
  });

  it('rejects with LOCK_TIMEOUT when no outcome arrives within the timeout, and aborts the command', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 5000 });
    let aborted: unknown;
    const p = queue.run('unlock', (signal) => {
      signal.addEventListener('abort', () => (aborted = signal.reason));
      return new Promise<void>(() => {});
    });
    const outcome = p.catch((e: unknown) => e);
    await clock.advance(4999);
    expect(queue.size).toBe(1);
    await clock.advance(1);
    const err = await outcome;
    expect(isHubError(err, ErrorCode.LOCK_TIMEOUT)).toBe(true);
    expect(aborted).toBe(err);
    expect(queue.size).toBe(0);
  });

  it('starts the timeout when the command starts, not while it waits in line', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 1000 });
    const first = deferred<void>();
    void queue.run('unlock', () => first.promise);
    const second = queue.run('lock', () => new Promise<string>((res) => clock.setTimeout(() => res('done'), 900)));
    await clock.advance(800);
    first.resolve();
    await clock.advance(900);
    await expect(second).resolves.toBe('done');
  });

  it('moves on to the next command after a timeout', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 100 });
    const stuck = queue.run('unlock', () => new Promise<void>(() => {})).catch((e: unknown) => e);
    const next = queue.run('lock', async () => 'locked');
    await clock.advance(100);
    expect(isHubError(await stuck, ErrorCode.LOCK_TIMEOUT)).toBe(true);
    await expect(next).resolves.toBe('locked');
  });

  it('honours a per-command timeout', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 10_000 });
    const p = queue.run('codes', () => new Promise<void>(() => {}), { timeoutMs: 50 }).catch((e: unknown) => e);
    await clock.advance(50);
    expect(isHubError(await p, ErrorCode.LOCK_TIMEOUT)).toBe(true);
  });

  it('passes a command failure through unchanged and keeps going', async () => {
    const queue = new CommandQueue({ clock: new FakeClock(), timeoutMs: 100 });
    const jam = new HubError(ErrorCode.LOCK_JAMMED, 'jammed');
    await expect(queue.run('lock', async () => Promise.reject(jam))).rejects.toBe(jam);
    await expect(queue.run('lock', () => { throw jam; })).rejects.toBe(jam);
    await expect(queue.run('unlock', async () => 1)).resolves.toBe(1);
  });

  it('cancelAll rejects the running and the waiting commands with the given error', async () => {
    const clock = new FakeClock();
    const queue = new CommandQueue({ clock, timeoutMs: 1000 });
    const a = queue.run('unlock', () => new Promise<void>(() => {})).catch((e: unknown) => e);
    const b = queue.run('lock', async () => undefined).catch((e: unknown) => e);
    const stop = new HubError(ErrorCode.LOCK_DRIVER_STOPPED, 'stopping');
    queue.cancelAll(stop);
    expect(await a).toBe(stop);
    expect(await b).toBe(stop);
    expect(queue.size).toBe(0);
    expect(clock.pending()).toBeGreaterThanOrEqual(0);
  });

  it('refuses a timeout that is not positive', () => {
    expect(() => new CommandQueue({ clock: new FakeClock(), timeoutMs: 0 })).toThrow(RangeError);
  });

  it('property: never runs two commands at once, and every distinct run settles', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('lock', 'unlock', 'codes'), { minLength: 1, maxLength: 30 }), async (keys) => {
        const clock = new FakeClock();
        const queue = new CommandQueue({ clock, timeoutMs: 1000 });
        let inFlight = 0;
        let maxInFlight = 0;
        let sent = 0;
        const promises = keys.map((key) =>
          queue.run(key, () => {
            sent++;
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            return new Promise<string>((res) =>
              clock.setTimeout(() => {
                inFlight--;
                res(key);
              }, 10),
            );
          }),
        );
        await clock.advance(10 * keys.length + 10);
        const results = await Promise.all(promises);
        expect(results).toEqual(keys);
        expect(maxInFlight).toBe(1);
        // Consecutive equal keys collapse: the first runs right away, later runs join the tail.
        const expected = keys.filter((k, i) => i === 0 || k !== keys[i - 1]).length;
        expect(sent).toBe(expected);
      }),
    );
  });
});
