import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../hub/system/fake-clock.js';
import type { Logger } from '../../hub/system/logger.js';
import { createServiceNotifier, type DatagramSender, type ServiceNotifier } from '../../hub/system/sd-notify.js';
import { has, NotifySocket } from '../support/notify-socket.js';

interface LogLine {
  level: number;
  msg: string;
  err?: { code?: string; message?: string };
}

const INFO = 30;
const WARN = 40;

function capturingLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bound(abstract = false): Promise<NotifySocket> {
  const socket = await NotifySocket.bind({ abstract });
  cleanups.push(() => socket.close());
  return socket;
}

async function notifier(
  env: NodeJS.ProcessEnv,
  options: { clock?: FakeClock; log?: Logger; enabled?: boolean; openSocket?: () => Promise<DatagramSender> } = {},
): Promise<ServiceNotifier> {
  const created = await createServiceNotifier({
    env,
    clock: options.clock ?? new FakeClock(),
    log: options.log ?? silent,
    enabled: options.enabled ?? true,
    ...(options.openSocket === undefined ? {} : { openSocket: options.openSocket }),
  });
  cleanups.push(() => created.close());
  return created;
}

/** Counts opens, so a test can tell that no socket (and so no koffi) was ever asked for. */
function countingOpener(): { openSocket: () => Promise<DatagramSender>; opened: () => number } {
  let opened = 0;
  return {
    openSocket: () => {
      opened++;
      return Promise.reject(new Error('must not be opened'));
    },
    opened: () => opened,
  };
}

/** Datagrams from one sender arrive in order: once a marker is in, everything sent before it is too. */
async function flush(socket: NotifySocket, sender: ServiceNotifier, marker: string): Promise<void> {
  sender.status(marker);
  await socket.waitFor(has('STATUS', marker));
}

const pings = (socket: NotifySocket): number => socket.messages.filter(has('WATCHDOG', '1')).length;

describe('the sd_notify service notifier', () => {
  it.each([
    ['a filesystem socket', false],
    ['an abstract-namespace socket', true],
  ])('delivers READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 datagrams to %s', async (_label, abstract) => {
    const socket = await bound(abstract);
    const sd = await notifier({ NOTIFY_SOCKET: socket.address });
    expect(sd.enabled).toBe(true);

    sd.ready('listening on 8443');
    sd.status('2 locks paired');
    sd.watchdog();
    sd.stopping('shutting down');

    const got = await socket.waitForCount(() => true, 4);
    expect(got).toEqual([
      'READY=1\nSTATUS=listening on 8443',
      'STATUS=2 locks paired',
      'WATCHDOG=1',
      'STOPPING=1\nSTATUS=shutting down',
    ]);
    expect(socket.datagrams.map((d) => d.pid)).toEqual([process.pid, process.pid, process.pid, process.pid]);
  });

  it('sends READY=1 alone when no status is given', async () => {
    const socket = await bound();
    const sd = await notifier({ NOTIFY_SOCKET: socket.address });
    sd.ready();
    expect(await socket.waitFor(has('READY'))).toBe('READY=1');
  });

  it('sends a multi-line STATUS as one line', async () => {
    const socket = await bound();
    const sd = await notifier({ NOTIFY_SOCKET: socket.address });
    sd.status('camera stalled\nrelocking\r\n\nREADY=1\n');
    expect(await socket.waitFor(has('STATUS'))).toBe('STATUS=camera stalled relocking READY=1');
  });

  it('pings the watchdog at half of WATCHDOG_USEC, on the clock it was given', async () => {
    const socket = await bound();
    const clock = new FakeClock();
    const sd = await notifier({ NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: '30000000' }, { clock });
    expect(sd.watchdogIntervalMs).toBe(15_000);
    sd.startWatchdog();
    sd.startWatchdog(); // a second start does not double the pings

    await clock.advance(14_999);
    await flush(socket, sd, 'at 14.999 s');
    expect(pings(socket)).toBe(0);

    await clock.advance(1);
    await flush(socket, sd, 'at 15 s');
    expect(pings(socket)).toBe(1);

    await clock.advance(45_000);
    await flush(socket, sd, 'at 60 s');
    expect(pings(socket)).toBe(4);

    sd.close();
    expect(clock.pending()).toBe(0);
  });

  it('pings when WATCHDOG_PID names this process', async () => {
    const socket = await bound();
    const clock = new FakeClock();
    const env = { NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: '2000000', WATCHDOG_PID: String(process.pid) };
    const sd = await notifier(env, { clock });
    sd.startWatchdog();
    await clock.advance(1_000);
    await socket.waitFor(has('WATCHDOG', '1'));
  });

  it('does not ping when WATCHDOG_PID names another process', async () => {
    const socket = await bound();
    const clock = new FakeClock();
    const env = { NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid + 1) };
    const sd = await notifier(env, { clock });
    expect(sd.watchdogIntervalMs).toBeUndefined();
    sd.startWatchdog();
    expect(clock.pending()).toBe(0);

    await clock.advance(60_000);
    await flush(socket, sd, 'after 60 s');
    expect(pings(socket)).toBe(0);
  });

  it('does not ping when WATCHDOG_USEC is unset or not a positive number', async () => {
    for (const usec of [undefined, '', '0', '-5', 'soon']) {
      const sd = await notifier({ NOTIFY_SOCKET: '@keyhub-unused', WATCHDOG_USEC: usec });
      expect(sd.watchdogIntervalMs).toBeUndefined();
    }
  });

  it('is a no-op that never opens a socket (nor loads koffi) when NOTIFY_SOCKET is unset', async () => {
    const opener = countingOpener();
    const clock = new FakeClock();
    const sd = await notifier({ WATCHDOG_USEC: '30000000' }, { clock, openSocket: opener.openSocket });
    expect(sd.enabled).toBe(false);
    expect(sd.watchdogIntervalMs).toBeUndefined();
    expect(() => {
      sd.ready('up');
      sd.status('x');
      sd.watchdog();
      sd.startWatchdog();
      sd.stopping();
      sd.close();
      sd.close();
    }).not.toThrow();
    expect(clock.pending()).toBe(0);
    expect(opener.opened()).toBe(0);
  });

  it('is a no-op that never opens a socket when disabled, even with NOTIFY_SOCKET set', async () => {
    const socket = await bound();
    const opener = countingOpener();
    const sd = await notifier({ NOTIFY_SOCKET: socket.address }, { enabled: false, openSocket: opener.openSocket });
    expect(sd.enabled).toBe(false);
    sd.ready();
    expect(opener.opened()).toBe(0);
    expect(socket.messages).toEqual([]);
  });

  it.each([
    ['a relative path', 'run/notify'],
    ['an empty abstract name', '@'],
    ['a path longer than sun_path holds', `/${'x'.repeat(107)}`],
    ['an abstract name longer than sun_path holds', `@${'x'.repeat(108)}`],
  ])('warns about %s in NOTIFY_SOCKET and stays a no-op', async (_label, value) => {
    const { log, lines } = capturingLog();
    const opener = countingOpener();
    const sd = await notifier({ NOTIFY_SOCKET: value }, { log, openSocket: opener.openSocket });
    expect(sd.enabled).toBe(false);
    expect(() => sd.ready()).not.toThrow();
    expect(opener.opened()).toBe(0);
    expect(lines).toEqual([expect.objectContaining({ level: WARN, msg: expect.stringMatching(/^NOTIFY_SOCKET /) })]);
  });

  it('accepts the longest names sun_path holds', async () => {
    for (const value of [`/${'x'.repeat(106)}`, `@${'x'.repeat(107)}`]) {
      const { log, lines } = capturingLog();
      const sd = await notifier({ NOTIFY_SOCKET: value }, { log });
      expect(sd.enabled).toBe(true);
      expect(lines.filter((l) => l.level >= WARN)).toEqual([]);
    }
  });

  it('warns once, without throwing, when the socket path does not exist', async () => {
    const { log, lines } = capturingLog();
    const socket = await bound();
    const missing = `${socket.address}.missing`;
    const sd = await notifier({ NOTIFY_SOCKET: missing }, { log });
    expect(sd.enabled).toBe(true);

    expect(() => {
      sd.ready('up');
      sd.watchdog();
      sd.watchdog();
    }).not.toThrow();
    const warnings = lines.filter((l) => l.level === WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ msg: 'sd_notify failed', err: { code: 'ENOENT' } });
  });

  it('warns again about a failure that follows a recovery, and says when sends work again', async () => {
    const { log, lines } = capturingLog();
    const results = [111, 111, 0, 0, 11]; // ECONNREFUSED twice, two sends, then EAGAIN
    const sender: DatagramSender = { send: () => results.shift() ?? 0, close: () => {} };
    const sd = await notifier({ NOTIFY_SOCKET: '/run/systemd/notify' }, { log, openSocket: () => Promise.resolve(sender) });
    for (let i = 0; i < 5; i++) sd.watchdog();
    expect(lines.filter((l) => l.level >= INFO).map((l) => [l.msg, l.err?.code])).toEqual([
      ['sd_notify failed', 'ECONNREFUSED'],
      ['sd_notify works again', undefined],
      ['sd_notify failed', 'EAGAIN'],
    ]);
  });

  it('warns and stays a no-op when the socket cannot be opened', async () => {
    const { log, lines } = capturingLog();
    const sd = await notifier(
      { NOTIFY_SOCKET: '@keyhub-unused' },
      { log, openSocket: () => Promise.reject(Object.assign(new Error('no FFI here'), { code: 'ENOSYS' })) },
    );
    expect(sd.enabled).toBe(false);
    expect(() => sd.ready()).not.toThrow();
    expect(lines).toEqual([expect.objectContaining({ level: WARN, err: expect.objectContaining({ code: 'ENOSYS' }) })]);
  });

  it('sends nothing once closed', async () => {
    const socket = await bound();
    const clock = new FakeClock();
    const sd = await notifier({ NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: '1000000' }, { clock });
    sd.startWatchdog();
    sd.close();
    expect(() => sd.ready()).not.toThrow();
    await clock.advance(5_000);

    const after = await notifier({ NOTIFY_SOCKET: socket.address });
    await flush(socket, after, 'second notifier');
    expect(socket.messages).toEqual(['STATUS=second notifier']);
  });
});
