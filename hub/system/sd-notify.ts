/**
 * systemd's sd_notify protocol (sd_notify(3)): newline-separated KEY=VALUE datagrams sent to the
 * AF_UNIX SOCK_DGRAM socket named by $NOTIFY_SOCKET. A name starting with '@' is in Linux's
 * abstract namespace: sun_path starts with NUL and the address length must be exactly
 * 2 + name length (unix(7)); systemd binds its notify socket that way.
 *
 * Why koffi: Node has no AF_UNIX datagram sockets (node:dgram is UDP only). The npm packages for
 * them (unix-dgram, node-unix-socket) were checked: both pass sizeof(sockaddr_un) as the address
 * length, which names a different abstract socket (the name padded with NULs), so they never reach
 * systemd's. koffi (prebuilt FFI) calls libc's socket/sendto/close directly, and is imported only
 * when $NOTIFY_SOCKET is set, so a dev start pays nothing for it.
 */
import { endianness } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { Clock, Timer } from './clock.js';
import type { Logger } from './logger.js';

export interface ServiceNotifier {
  /** True when messages really go to a service manager. */
  readonly enabled: boolean;
  /** Half of $WATCHDOG_USEC, when the watchdog is on for this process. */
  readonly watchdogIntervalMs: number | undefined;
  ready(status?: string): void;
  status(text: string): void;
  stopping(status?: string): void;
  watchdog(): void;
  /** Pings WATCHDOG=1 every `watchdogIntervalMs` on the Clock until close(). Idempotent. */
  startWatchdog(): void;
  close(): void;
}

/** An unconnected AF_UNIX datagram socket: send() returns 0 or the errno of the failure. */
export interface DatagramSender {
  send(address: Buffer, payload: Buffer): number;
  close(): void;
}

export interface ServiceNotifierOptions {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  log: Logger;
  enabled: boolean;
  /** Opens the socket; tests replace it. Defaults to libc through koffi. */
  openSocket?: () => Promise<DatagramSender>;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
// Never block the event loop on a full queue, never die of SIGPIPE if systemd went away.
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_SIZE = 108; // sizeof(sockaddr_un.sun_path) on Linux

/** Parses $NOTIFY_SOCKET into a sockaddr_un of the right length, or says why it cannot. */
export function notifyAddress(value: string): { sockaddr: Buffer } | { error: string } {
  const abstract = value.startsWith('@');
  if (!abstract && !value.startsWith('/')) return { error: 'must be an absolute path or an @abstract name' };
  if (value.length < 2) return { error: 'names no socket' };
  const name = Buffer.from(value, 'utf8');
  if (abstract) name[0] = 0;
  // A path needs room for its NUL terminator; an abstract name has none (systemd: sockaddr_un_set_path).
  if (name.length + (abstract ? 0 : 1) > SUN_PATH_SIZE) return { error: `is longer than ${SUN_PATH_SIZE - 1} bytes` };
  const sockaddr = Buffer.alloc(2 + name.length + (abstract ? 0 : 1));
  if (endianness() === 'LE') sockaddr.writeUInt16LE(AF_UNIX, 0);
  else sockaddr.writeUInt16BE(AF_UNIX, 0);
  name.copy(sockaddr, 2);
  return { sockaddr };
}

/** sd_watchdog_enabled(3): the interval to ping at, or undefined when the watchdog is not for us. */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  // Ping at half the timeout, as sd_watchdog_enabled(3) recommends, so one late tick is not fatal.
  return Math.max(1, Math.floor(usec / 2000));
}

/** STATUS= is one line: a newline would start a new (bogus) KEY=VALUE assignment. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

export async function createServiceNotifier(opts: ServiceNotifierOptions): Promise<ServiceNotifier> {
  const { env, clock, log } = opts;
  const value = env['NOTIFY_SOCKET'];
  if (!opts.enabled || value === undefined || value === '') return disabledNotifier();
  const address = notifyAddress(value);
  if ('error' in address) {
    log.warn({ notifySocket: value }, `NOTIFY_SOCKET ${address.error}; not notifying the service manager`);
    return disabledNotifier();
  }
  let socket: DatagramSender;
  try {
    socket = await (opts.openSocket ?? openLibcSocket)();
  } catch (err) {
    log.warn({ err, notifySocket: value }, 'cannot open the sd_notify socket; not notifying the service manager');
    return disabledNotifier();
  }

  const watchdogIntervalMs = watchdogInterval(env, process.pid);
  log.debug({ notifySocket: value, watchdogIntervalMs }, 'notifying the service manager');
  let closed = false;
  let failing = false; // warn once per run of failures, not on every watchdog tick
  let watchdogTimer: Timer | undefined;

  const send = (lines: string[]): void => {
    if (closed) return;
    const errno = socket.send(address.sockaddr, Buffer.from(lines.join('\n'), 'utf8'));
    if (errno === 0) {
      if (failing) log.info({ notifySocket: value }, 'sd_notify works again');
      failing = false;
      return;
    }
    if (failing) return;
    failing = true;
    const code = errnoName(errno);
    const err = Object.assign(new Error(`sendto ${value}: ${code}`), { code, errno });
    log.warn({ err, notifySocket: value, payload: lines.join(' ') }, 'sd_notify failed');
  };

  return {
    enabled: true,
    watchdogIntervalMs,
    ready: (status) => send(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${oneLine(status)}`]),
    status: (text) => send([`STATUS=${oneLine(text)}`]),
    stopping: (status) => send(status === undefined ? ['STOPPING=1'] : ['STOPPING=1', `STATUS=${oneLine(status)}`]),
    watchdog: () => send(['WATCHDOG=1']),
    startWatchdog() {
      if (closed || watchdogIntervalMs === undefined || watchdogTimer !== undefined) return;
      log.debug({ intervalMs: watchdogIntervalMs }, 'watchdog pings started');
      watchdogTimer = clock.setInterval(() => send(['WATCHDOG=1']), watchdogIntervalMs);
    },
    close() {
      if (closed) return;
      closed = true;
      watchdogTimer?.cancel();
      socket.close();
    },
  };
}

function disabledNotifier(): ServiceNotifier {
  const nothing = (): void => {};
  return {
    enabled: false,
    watchdogIntervalMs: undefined,
    ready: nothing,
    status: nothing,
    stopping: nothing,
    watchdog: nothing,
    startWatchdog: nothing,
    close: nothing,
  };
}

async function openLibcSocket(): Promise<DatagramSender> {
  const { default: koffi } = await import('koffi');
  // dlopen(NULL): libc's symbols as the node binary already links them (glibc or musl alike).
  const libc = koffi.load(null);
  const socketFn = libc.func('int socket(int domain, int type, int protocol)');
  const sendtoFn = libc.func(
    'intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)',
  );
  const closeFn = libc.func('int close(int fd)');
  // errno must be read right after the call: any later syscall (even logging) may overwrite it.
  const fd = socketFn(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) as number;
  if (fd < 0) {
    const code = errnoName(koffi.errno());
    throw Object.assign(new Error(`socket(AF_UNIX, SOCK_DGRAM): ${code}`), { code });
  }
  return {
    send(address, payload) {
      const sent = sendtoFn(fd, payload, payload.length, MSG_NOSIGNAL | MSG_DONTWAIT, address, address.length) as number;
      return sent < 0 ? koffi.errno() || -1 : 0; // -1: failed, errno lost
    },
    close: () => void closeFn(fd),
  };
}

function errnoName(errno: number): string {
  return errno > 0 ? getSystemErrorName(-errno) : 'UNKNOWN';
}
