/**
 * A real mosquitto for the peer tests (what real deployments run), with the config the
 * README's cloud section gives an operator: a TLS listener (here on a free 127.0.0.1 port),
 * `require_certificate true`, `use_identity_as_username true` and `use_username_as_clientid true`
 * (a certificate speaks only under its own client id: another hub's certificate cannot take over
 * a hub's session and fire its will), `max_packet_size` from the contract's largest uplink
 * publish, an ACL giving each hub only `keyhub/v1/<its id>/#` and the cloud identities
 * `keyhub/v1/#`; a CA, server and client certificates made with hub/cloud/pki.ts. Persistence is
 * on, so a restarted broker keeps sessions and queued QoS 1 messages, as a production broker would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../support/free-port.js';
import { join } from 'node:path';
import { maxPublishBytes, TOPIC_NAMES, TOPIC_ROOT, TOPICS } from '../../protocols/mqtt/contract.js';
import { createCertificateAuthority, type CertificateAuthority, type PemPair } from '../../hub/cloud/pki.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const CLOUD_IDENTITY = 'keyhub-cloud';
/**
 * A second cloud-side identity, for tools beside the sim cloud (mosquitto_pub/sub, watchers):
 * with `use_username_as_clientid` every client of one certificate shares one client id, so a tool
 * under CLOUD_IDENTITY would take over the sim cloud's session.
 */
export const CLOUD_TOOL_IDENTITY = 'keyhub-cloud-tool';
/** A third, for a watcher (mosquitto_sub) running while tools publish. */
export const CLOUD_WATCH_IDENTITY = 'keyhub-cloud-watch';

export { freePort };

export interface TestPki {
  ca: CertificateAuthority;
  server: PemPair;
  client(commonName: string): Promise<PemPair>;
}

export async function makeTestPki(nowMs = Date.now()): Promise<TestPki> {
  const ca = await createCertificateAuthority({ commonName: 'keyhub test CA', nowMs });
  const server = await ca.issue({ commonName: 'localhost', usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'], nowMs });
  return { ca, server, client: (commonName) => ca.issue({ commonName, usage: 'client', nowMs }) };
}

export class MosquittoBroker {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.#log;
  }

  /** The CA certificate file, for mosquitto_pub/sub's --cafile. */
  get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  /** Writes config, certificates and ACL under `dir` and starts mosquitto; resolves when it listens. */
  static async start(dir: string, pki: TestPki, port?: number): Promise<MosquittoBroker> {
    mkdirSync(dir, { recursive: true });
    const broker = new MosquittoBroker(port ?? (await freePort()), dir);
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
    writeFileSync(join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(join(dir, 'server.key'), pki.server.key, { mode: 0o600 });
    writeFileSync(
      join(dir, 'acl'),
      [
        ...[CLOUD_IDENTITY, CLOUD_TOOL_IDENTITY, CLOUD_WATCH_IDENTITY].flatMap((user) => [`user ${user}`, `topic readwrite ${TOPIC_ROOT}/#`, '']),
        '# every other identity is a hub: its own subtree only (%u = the certificate CN)',
        `pattern readwrite ${TOPIC_ROOT}/%u/#`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        'per_listener_settings false',
        'allow_anonymous false',
        `acl_file ${join(dir, 'acl')}`,
        'persistence true',
        `persistence_location ${join(dir, 'data')}/`,
        'autosave_interval 1',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'user root',
        'max_inflight_messages 100',
        // Small acks must not wait for Nagle (RFC 896) behind delayed ACKs: ~40 ms per round trip.
        'set_tcp_nodelay true',
        'max_queued_messages 100000',
        // The largest PUBLISH the contract lets a hub send (an audit batch); anything larger is a
        // protocol error and the client is disconnected. What reaches a hub is bounded tighter by
        // the Maximum Packet Size its own CONNECT carries.
        `max_packet_size ${maxPublishBytes('up')}`,
        // The largest payload of any topic: a larger one is not forwarded (an MQTT 5 publisher
        // gets a PUBACK with an error reason instead of a disconnect).
        `message_size_limit ${Math.max(...TOPIC_NAMES.map((t) => TOPICS[t].payload.maxBytes))}`,
        `listener ${broker.port} 127.0.0.1`,
        `cafile ${join(dir, 'ca.pem')}`,
        `certfile ${join(dir, 'server.pem')}`,
        `keyfile ${join(dir, 'server.key')}`,
        'require_certificate true',
        'use_identity_as_username true',
        'use_username_as_clientid true',
        'tls_version tlsv1.2',
        '',
      ].join('\n'),
    );
    await broker.restart();
    return broker;
  }

  /** Starts (again) on the same port with the same persistence directory. */
  async restart(): Promise<void> {
    if (this.#child !== undefined) await this.stop();
    const child = spawn(MOSQUITTO, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.#log += s));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${this.#log}`);
      if (await listening(this.port)) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${this.port}: ${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (mosquitto saves its persistence file), then waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
