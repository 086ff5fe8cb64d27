import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const PYTHON = '/usr/bin/python3'; // Debian's, which has python3-gi; a pyenv shim would not
const LAUNCHER = fileURLToPath(new URL('./camera-gst-rtsp-server.py', import.meta.url));

export interface GstCamera {
  url: string;
  /** What gst wrote to stderr so far (its GST_DEBUG log when `gstDebug` was given). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts gst-rtsp-server (see camera-gst-rtsp-server.py) and resolves once it listens. */
export async function startGstCamera(credentials?: { username: string; password: string }, options: { gstDebug?: string; udpOnly?: boolean } = {}): Promise<GstCamera> {
  const args = [LAUNCHER, ...(options.udpOnly === true ? ['--udp-only'] : []), ...(credentials === undefined ? [] : [credentials.username, credentials.password])];
  const env = options.gstDebug === undefined ? process.env : { ...process.env, GST_DEBUG: options.gstDebug, GST_DEBUG_NO_COLOR: '1' };
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`gst-rtsp-server launcher exited ${code}: ${stderr}`)));
  });
  const { port, path } = JSON.parse(first) as { port: number; path: string };
  return {
    url: `rtsp://127.0.0.1:${port}${path}`,
    stderr: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end(); // the launcher exits when its stdin closes
      }),
  };
}

/** A TCP relay that keeps the first `limit` bytes the server sent: real captures for the fuzzers. */
export async function recordingProxy(
  target: { host: string; port: number },
  limit = 512 * 1024,
): Promise<{ port: number; captured: () => Uint8Array; sent: () => Uint8Array; close(): Promise<void> }> {
  const chunks: Buffer[] = [];
  let size = 0;
  // What the client sent, last `limit` bytes kept (its RTCP and requests at the end of a session).
  let sent = Buffer.alloc(0);
  const server: Server = createServer((client) => {
    const upstream = connect(target);
    client.on('data', (chunk: Buffer) => {
      sent = Buffer.concat([sent, chunk]);
      if (sent.length > limit) sent = sent.subarray(sent.length - limit);
    });
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (size < limit) {
        chunks.push(chunk);
        size += chunk.length;
      }
      client.write(chunk);
    });
    // A side that closes has its last bytes (the hub's RTCP BYE and TEARDOWN) delivered before the
    // other side is closed: end() flushes, destroy() would drop what is still buffered.
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('end', () => upstream.end()).on('close', () => upstream.end()).on('error', end);
    upstream.on('end', () => client.end()).on('close', () => client.end()).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    captured: () => new Uint8Array(Buffer.concat(chunks)),
    sent: () => new Uint8Array(sent),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
