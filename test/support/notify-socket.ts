/**
 * A stand-in for systemd's notify socket: a REAL AF_UNIX datagram socket that collects what a
 * process sends with sd_notify. Node cannot bind one, so a tiny Python receiver does: it binds
 * (abstract names with their exact length, as systemd does), prints one JSON line when bound and
 * one per datagram, and exits when its stdin closes, so it never outlives the test.
 *
 * It asks the kernel for the sender's credentials (SO_PASSCRED), so a test can check that
 * READY=1 came from the daemon's main PID, as NotifyAccess=main requires.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The system interpreter: `python3` on PATH may be a pyenv shim that picks another one, or none. */
const PYTHON = '/usr/bin/python3';

const RECEIVER = String.raw`
import json, os, selectors, socket, sys, time
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
# A bytes address starting with NUL is bound with length 2 + len(name), exactly as systemd does.
s.bind(b"\0" + name[1:].encode() if name.startswith("@") else name)
def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
out({"ready": True})
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ)
sel.register(sys.stdin, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is sys.stdin:
            if not os.read(sys.stdin.fileno(), 4096):
                sys.exit(0)
            continue
        data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
        pid = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = int.from_bytes(cdata[0:4], sys.byteorder)
        out({"ns": str(time.monotonic_ns()), "pid": pid, "data": data.decode("utf-8", "replace")})
`;

export interface NotifyDatagram {
  /** The datagram as text, e.g. "READY=1\nSTATUS=up". */
  data: string;
  /** The sender's PID (SCM_CREDENTIALS), when the kernel supplied it. */
  pid: number | undefined;
  /** CLOCK_MONOTONIC at receipt, in ns: comparable with process.hrtime.bigint() on Linux. */
  receivedNs: bigint;
}

export interface BindOptions {
  /** Bind an abstract-namespace name (`@…`) instead of a path in a fresh temp dir. */
  abstract?: boolean;
  /** How long to wait for the receiver to bind, default 10 s. */
  timeoutMs?: number;
}

interface Waiter {
  check(): void;
  fail(err: Error): void;
}

/** Splits one datagram into its KEY=VALUE assignments. */
export function notifyFields(data: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of data.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

/** A predicate for waitFor: the datagram carries KEY=VALUE (e.g. `has('READY', '1')`). */
export function has(key: string, value?: string): (msg: string) => boolean {
  return (msg) => {
    const got = notifyFields(msg).get(key);
    return got !== undefined && (value === undefined || got === value);
  };
}

export class NotifySocket {
  /** The value for $NOTIFY_SOCKET. */
  readonly address: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #dir: string | undefined;
  readonly #datagrams: NotifyDatagram[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #exited: Promise<void>;
  #stderr = '';
  #bound = false;
  #closed = false;
  #failure: Error | undefined;

  private constructor(address: string, dir: string | undefined, child: ChildProcessWithoutNullStreams) {
    this.address = address;
    this.#dir = dir;
    this.#child = child;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => this.#onLine(line));
    child.once('error', (err) => this.#fail(new Error(`cannot run ${PYTHON}: ${err.message}`)));
    this.#exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (!this.#closed) this.#fail(new Error(`notify receiver exited (${code ?? signal}): ${this.#stderr.trim()}`));
        resolve();
      });
    });
  }

  /** Binds a fresh socket; resolves once the receiver has bound it and is listening. */
  static async bind(options: BindOptions = {}): Promise<NotifySocket> {
    const tag = `keyhub-notify-${process.pid}-${randomBytes(4).toString('hex')}`;
    const dir = options.abstract === true ? undefined : await mkdtemp(join(tmpdir(), 'keyhub-notify-'));
    const address = dir === undefined ? `@${tag}` : join(dir, 'notify.sock');
    if (Buffer.byteLength(address) > 107) {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      throw new Error(`notify socket path is too long for sun_path: ${address}`);
    }
    const child = spawn(PYTHON, ['-c', RECEIVER, address], { stdio: ['pipe', 'pipe', 'pipe'] });
    const socket = new NotifySocket(address, dir, child);
    try {
      await socket.#wait(() => socket.#bound, options.timeoutMs ?? 10_000, 'the receiver to bind');
    } catch (err) {
      await socket.close();
      throw err;
    }
    return socket;
  }

  /** Every datagram's text so far, in arrival order. */
  get messages(): readonly string[] {
    return this.#datagrams.map((d) => d.data);
  }

  /** Every datagram so far, with its sender and time of arrival. */
  get datagrams(): readonly NotifyDatagram[] {
    return this.#datagrams;
  }

  /** The first datagram, received so far or later, that matches; rejects after timeoutMs. */
  async waitFor(predicate: (msg: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const [first] = await this.waitForCount(predicate, 1, timeoutMs);
    return first as string;
  }

  /** The first `count` matching datagrams, received so far or later; rejects after timeoutMs. */
  async waitForCount(predicate: (msg: string) => boolean, count: number, timeoutMs = 10_000): Promise<string[]> {
    const matching = (): string[] => this.messages.filter(predicate);
    await this.#wait(() => matching().length >= count, timeoutMs, `${count} matching datagram(s)`);
    return matching().slice(0, count);
  }

  /** Stops the receiver (by closing its stdin) and removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#fail(new Error('the notify socket was closed'));
      this.#child.stdin.end();
      const kill = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
      await this.#exited;
      clearTimeout(kill);
      if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true });
    }
    await this.#exited;
  }

  #onLine(line: string): void {
    let msg: { ready?: boolean; ns?: string; pid?: number | null; data?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.#fail(new Error(`notify receiver printed garbage: ${line}`));
      return;
    }
    if (msg.ready === true) this.#bound = true;
    else this.#datagrams.push({ data: msg.data ?? '', pid: msg.pid ?? undefined, receivedNs: BigInt(msg.ns ?? 0) });
    for (const waiter of this.#waiters) waiter.check();
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const waiter of this.#waiters) waiter.fail(err);
  }

  async #wait(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return;
    if (this.#failure !== undefined) throw this.#failure;
    await new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        if (err === undefined) resolve();
        else reject(err);
      };
      const waiter: Waiter = {
        check: () => {
          if (condition()) settle();
        },
        fail: (err) => settle(new Error(`while waiting for ${what} on ${this.address}: ${err.message}`, { cause: err })),
      };
      const timer = setTimeout(() => {
        const got = JSON.stringify(this.messages);
        settle(new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${this.address}; got ${got}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }
}
