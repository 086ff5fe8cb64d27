import { describe, expect, it } from 'vitest';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { startAll, stopAll, stopWithin, type Module } from '../../hub/system/lifecycle.js';
import { silentLog } from '../support/silent-log.js';

const log = silentLog();

function recorder() {
  const calls: string[] = [];
  const mod = (name: string, opts: { failStart?: unknown; failStop?: boolean; stopNever?: boolean } = {}): Module => ({
    name,
    async start() {
      calls.push(`start ${name}`);
      if (opts.failStart !== undefined) throw opts.failStart;
    },
    async stop() {
      calls.push(`stop ${name}`);
      if (opts.failStop === true) throw new Error(`${name} stop broke`);
      if (opts.stopNever === true) await new Promise(() => {});
    },
  });
  return { calls, mod };
}

describe('module lifecycle', () => {
  it('starts modules in order and stops them in reverse order', async () => {
    const { calls, mod } = recorder();
    const started = await startAll([mod('store'), mod('lock'), mod('cloud')], new AbortController().signal, log);
    expect(await stopAll(started, log)).toEqual([]);
    expect(calls).toEqual(['start store', 'start lock', 'start cloud', 'stop cloud', 'stop lock', 'stop store']);
  });

  it('stops the modules already started when one fails to start, and names the one that failed', async () => {
    const { calls, mod } = recorder();
    const err = await startAll([mod('store'), mod('lock'), mod('camera', { failStart: new Error('no stream') }), mod('cloud')], new AbortController().signal, log).catch((e: unknown) => e);
    expect(calls).toEqual(['start store', 'start lock', 'start camera', 'stop lock', 'stop store']);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe(ErrorCode.MODULE_START_FAILED);
    expect((err as HubError).message).toBe('camera failed to start: no stream');
  });

  it("keeps a failing module's own HubError code", async () => {
    const { mod } = recorder();
    const own = new HubError(ErrorCode.STORE_NEWER_SCHEMA, 'too new');
    const err = await startAll([mod('store', { failStart: own })], new AbortController().signal, log).catch((e: unknown) => e);
    expect(err).toBe(own);
  });

  it('starts nothing more once shutdown was requested', async () => {
    const { calls, mod } = recorder();
    const ctl = new AbortController();
    ctl.abort(new Error('SIGTERM'));
    await expect(startAll([mod('store')], ctl.signal, log)).rejects.toThrow();
    expect(calls).toEqual([]);
  });

  it('keeps stopping the others when one module fails to stop, and reports which', async () => {
    const { calls, mod } = recorder();
    const failed = await stopAll([mod('store'), mod('lock', { failStop: true }), mod('cloud')], log);
    expect(failed).toEqual(['lock']);
    expect(calls).toEqual(['stop cloud', 'stop lock', 'stop store']);
  });

  it('abandons a module that does not stop by its share of the deadline, and still stops the ones after it', async () => {
    const { calls, mod } = recorder();
    const clock = new FakeClock();
    const pending = stopWithin([mod('store'), mod('audit'), mod('camera', { stopNever: true })], 10_000, clock, log);
    let settled = false;
    void pending.then(() => (settled = true));
    // The camera gets what is left less a second kept back for the others.
    await clock.advance(8_999);
    expect(settled).toBe(false);
    expect(calls).toEqual(['stop camera']);
    await clock.advance(1);
    expect(await pending).toEqual({ failed: [], abandoned: ['camera'], timedOut: true });
    expect(calls).toEqual(['stop camera', 'stop audit', 'stop store']);
    expect(clock.pending()).toBe(0);
  });

  it('never runs past the deadline in all, however many modules hang', async () => {
    const { calls, mod } = recorder();
    const clock = new FakeClock();
    const pending = stopWithin([mod('store', { stopNever: true }), mod('lock', { stopNever: true }), mod('cloud', { stopNever: true })], 4_000, clock, log);
    await clock.advance(4_000);
    expect(await pending).toEqual({ failed: [], abandoned: ['cloud', 'lock', 'store'], timedOut: true });
    expect(calls).toEqual(['stop cloud', 'stop lock', 'stop store']);
  });

  it('reports a stop within the deadline as not timed out', async () => {
    const { mod } = recorder();
    const clock = new FakeClock();
    expect(await stopWithin([mod('store')], 1_000, clock, log)).toEqual({ failed: [], abandoned: [], timedOut: false });
    expect(clock.pending()).toBe(0);
  });
});
