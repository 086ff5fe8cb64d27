/**
 * The daemon's control socket (hub/control/server.ts) on a real unix socket: who may connect, how
 * much it reads, what it answers to what is no request, and that it never outlives its welcome.
 * Handlers are small fakes of the contract's; the real ones run in control-cli.test.ts.
 */
import { spawn } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRequest, parseReply, type HubStatus, type ParsedReply } from '../../protocols/control/contract.js';
import { askDaemon } from '../../hub/control/client.js';
import { soPeerCred, type PeerReader } from '../../hub/control/peer-credentials.js';
import { ControlServer, type ControlHandlers } from '../../hub/control/server.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { FRESH_HUB_READINESS } from '../support/fresh-hub.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { until } from '../support/wait.js';

const ME = process.getuid?.() ?? 0;
const STATUS: HubStatus = {
  hubId: 'kh-0011223344556677',
  source: 'daemon',
  daemon: 'running',
  pid: 42,
  startedAt: '2026-12-04T10:00:00.000Z',
  uptimeS: 5,
  lastStop: null,
  versions: { keyhub: '0.1.0', node: '20.20.2', sqlite: '3.50.0', schema: 5, config: 1 },
  stateDir: '/var/lib/keyhub',
  database: '/var/lib/keyhub/keyhub.db',
  access: FRESH_HUB_READINESS,
  audit: { headSeq: 0, ackedThrough: 0, backlog: 0, prunedThrough: 0, lastCheckpointSeq: null },
  lock: { id: null },
  home: { deliveriesPaused: false, petsInside: false },
};

let dir: ReturnType<typeof tempDir> | undefined;
let servers: ControlServer[] = [];
let calls: string[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop();
  servers = [];
  calls = [];
  dir?.cleanup();
  dir = undefined;
});

const handlers: ControlHandlers = {
  status: () => {
    calls.push('status');
    return STATUS;
  },
  'trust-root': ({ key }) => {
    calls.push('trust-root');
    return { outcome: 'pinned', key };
  },
  'audit-export': async (_params, data) => {
    calls.push('audit-export');
    await data.write(new Uint8Array(100_000).fill(7));
    return { hubId: 'kh-1', from: 1, to: 2, events: 2 };
  },
};

async function serve(o: { peers?: PeerReader; clock?: FakeClock; maxConnections?: number; path?: string } = {}): Promise<ControlServer> {
  dir ??= tempDir('keyhub-control-');
  const server = new ControlServer({
    path: o.path ?? join(dir.path, 'control.sock'),
    handlers,
    clock: o.clock ?? new FakeClock(),
    log: silentLog(),
    peers: o.peers === undefined ? soPeerCred : async () => o.peers as PeerReader,
    allowedUids: [ME],
    ...(o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections }),
  });
  await server.start();
  servers.push(server);
  return server;
}

/** A raw client: what it sent, each reply line parsed, and whether the daemon closed. */
async function client(path: string): Promise<{ socket: Socket; replies: ParsedReply[]; closed: () => boolean; send(text: string): void }> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const replies: ParsedReply[] = [];
  let closed = false;
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (t: string) => {
    buffer += t;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      replies.push(parseReply(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return { socket, replies, closed: () => closed, send: (text) => socket.write(text) };
}

describe('the control socket', () => {
  it('is a socket only its owner may connect to (mode 0600)', async () => {
    const server = await serve();
    const st = statSync(server.path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('answers the daemon user with the kernel-reported credentials (SO_PEERCRED)', async () => {
    const server = await serve();
    const asked = await askDaemon(server.path, 'status', {}, { clock: systemClock() });
    expect(asked).toEqual({ reached: true, result: STATUS });
  });

  it('refuses a peer that is neither the daemon user nor root, and one the kernel does not name, running nothing', async () => {
    for (const peers of [() => ({ pid: 1, uid: ME + 4242, gid: 0 }), () => undefined] satisfies PeerReader[]) {
      const server = await serve({ peers, path: join((dir ??= tempDir('keyhub-control-')).path, `c${servers.length}.sock`) });
      const c = await client(server.path);
      c.send(encodeRequest(1, 'status', {}));
      await until(c.closed, 'the refusal');
      expect(c.replies).toEqual([{ kind: 'error', id: 0, error: { code: ErrorCode.CONTROL_PEER_REFUSED, name: 'CONTROL_PEER_REFUSED', message: 'only the daemon user or root may use the control socket' } }]);
    }
    expect(calls).toEqual([]);
  });

  it('refuses a request line over the cap without reading it to its end, and closes', async () => {
    const server = await serve();
    const c = await client(server.path);
    c.send('{"v":1,"id":1,"method":"status","params":{"x":"');
    const megabyte = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 16 && !c.closed(); i++) c.send(megabyte);
    await until(c.closed, 'the connection to close');
    expect(c.replies[0]).toMatchObject({ kind: 'error', id: 0, error: { code: ErrorCode.CONTROL_REQUEST_INVALID, message: 'request longer than 16384 bytes' } });
    expect(calls).toEqual([]);
  });

  it('answers what is no request with CONTROL_REQUEST_INVALID and goes on serving the connection', async () => {
    const server = await serve();
    const c = await client(server.path);
    c.send('not json\n');
    c.send(`${JSON.stringify({ v: 1, id: 2, method: 'reboot', params: {} })}\n`);
    c.send(`${JSON.stringify({ v: 1, id: 3, method: 'trust-root', params: { key: 'zz', replace: false } })}\n`);
    c.send(encodeRequest(4, 'trust-root', { key: 'cd'.repeat(32), replace: false }));
    await until(() => c.replies.length === 4, 'four answers');
    expect(c.replies.slice(0, 3).map((r) => (r.kind === 'error' ? [r.id, r.error.code] : r.kind))).toEqual([
      [0, ErrorCode.CONTROL_REQUEST_INVALID],
      [2, ErrorCode.CONTROL_REQUEST_INVALID],
      [3, ErrorCode.CONTROL_REQUEST_INVALID],
    ]);
    expect(c.replies[3]).toEqual({ kind: 'result', id: 4, result: { outcome: 'pinned', key: 'cd'.repeat(32) } });
    expect(calls).toEqual(['trust-root']);
    c.socket.destroy();
  });

  it('streams a reply as data lines, in order, before its result', async () => {
    const server = await serve();
    const parts: Uint8Array[] = [];
    const asked = await askDaemon(server.path, 'audit-export', { format: 'jsonl' }, { clock: systemClock(), onData: (b) => parts.push(b) });
    expect(asked).toEqual({ reached: true, result: { hubId: 'kh-1', from: 1, to: 2, events: 2 } });
    expect(parts.length).toBeGreaterThan(1);
    expect(Buffer.concat(parts)).toEqual(Buffer.alloc(100_000, 7));
  });

  it('answers busy beyond its connection limit, and closes a connection idle past the limit', async () => {
    const clock = new FakeClock();
    const server = await serve({ clock, maxConnections: 1 });
    const first = await client(server.path);
    const second = await client(server.path);
    await until(second.closed, 'the second connection to be turned away');
    expect(second.replies).toMatchObject([{ kind: 'error', error: { code: ErrorCode.CONTROL_BUSY } }]);
    expect(first.closed()).toBe(false);
    await clock.advance(30_000);
    await until(first.closed, 'the idle connection to close');
  });

  it('replaces a socket file a dead daemon left, and will not start beside a daemon that answers on it', async () => {
    dir = tempDir('keyhub-control-');
    const path = join(dir.path, 'control.sock');
    // A socket file nobody listens on: bound once, then the listener gone without unlinking.
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(path, r));
    await new Promise<void>((r) => {
      // Close the handle but keep the file: Node unlinks on close, so put a stale copy back.
      dead.close(() => r());
    });
    writeFileSync(path, '');
    await serve({ path });
    const other = new ControlServer({ path, handlers, clock: new FakeClock(), log: silentLog(), peers: soPeerCred, allowedUids: [ME] });
    await expect(other.start()).rejects.toSatisfy((err) => isHubError(err, ErrorCode.CONTROL_SOCKET_FAILED) && /another keyhub daemon answers/.test((err as Error).message));
    const long = new ControlServer({ path: join(dir.path, 'x'.repeat(120)), handlers, clock: new FakeClock(), log: silentLog(), peers: soPeerCred, allowedUids: [ME] });
    await expect(long.start()).rejects.toSatisfy((err) => isHubError(err, ErrorCode.CONTROL_SOCKET_FAILED));
  });

  it.runIf(ME === 0)('refuses, by its kernel credentials, a process of another user that reaches a socket whose mode was opened up', async () => {
    const server = await serve();
    chmodSync(dir?.path ?? '', 0o755);
    chmodSync(server.path, 0o666);
    // As `nobody`: a plain node client (no project code), printing the first reply line it gets.
    const script = `const s = require('net').connect(process.argv[1]); s.on('data', (d) => { process.stdout.write(d); s.destroy(); }); s.on('connect', () => s.write(${JSON.stringify(encodeRequest(1, 'status', {}))}));`;
    const child = spawn(process.execPath, ['-e', script, server.path], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    await new Promise((r) => child.on('close', r));
    expect(err).toBe('');
    expect(parseReply(out.trim())).toMatchObject({ kind: 'error', error: { code: ErrorCode.CONTROL_PEER_REFUSED } });
    expect(calls).toEqual([]);
  });
});
