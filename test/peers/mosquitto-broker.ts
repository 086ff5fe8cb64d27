/**
 * A real mosquitto for the peer tests (issue 8, "Peers: mosquitto"): the test writes its config
 * — a TLS listener on a free 127.0.0.1 port, `require_certificate true`,
 * `use_identity_as_username true`, an ACL giving each hub only `keyhub/v1/<its id>/#` and the
 * cloud `keyhub/v1/#` — and a CA, server and client certificates made with hub/cloud/pki.ts.
 * Persistence is on, so a restarted broker keeps sessions and queued QoS 1 messages, as a
 * production broker would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../support/free-port.js';
import { join } from 'node:path';
import { TOPIC_ROOT } from '../../protocols/mqtt/contract.js';
import { createCertificateAuthority, type CertificateAuthority, type PemPair } from '../../hub/cloud/pki.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const CLOUD_IDENTITY = 'keyhub-cloud';

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
        `user ${CLOUD_IDENTITY}`,
        `topic readwrite ${TOPIC_ROOT}/#`,
        '',
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
        `listener ${broker.port} 127.0.0.1`,
        `cafile ${join(dir, 'ca.pem')}`,
        `certfile ${join(dir, 'server.pem')}`,
        `keyfile ${join(dir, 'server.key')}`,
        'require_certificate true',
        'use_identity_as_username true',
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
