import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { Aedes, type Client } from 'aedes';
import { hubSubtree, HUB_ID_PATTERN, TOPIC_ROOT } from '../../protocols/mqtt/contract.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { createCertificateAuthority, loadCertificateAuthority, type CertificateAuthority, type PemPair } from './pki.js';

export interface EmbeddedBrokerOptions {
  /** Where the CA, the broker's certificate and issued client certificates live (0700). */
  dir: string;
  /** 0 picks a free port (tests); the simulated home uses a fixed one. */
  port: number;
  /** The identity (certificate CN) allowed on every hub's topics: the (simulated) cloud. */
  cloudIdentity: string;
  clock: Clock;
  log: Logger;
}

/**
 * The embedded default broker for the simulated home (DESIGN.md, "Cloud link"): aedes in-process,
 * on 127.0.0.1 only, TLS with client certificates required, from a CA generated at first start
 * and kept in the state dir. Its authorization mirrors the mosquitto ACL of real deployments:
 * a client's identity is its certificate CN; a hub may publish and subscribe only under
 * its own subtree (contract: hubSubtree), the cloud identity under the contract's TOPIC_ROOT.
 *
 * aedes speaks MQTT 3.1.1, not 5: the hub's link runs with protocolVersion 4 against it, and
 * request/response falls back to ids and correlation echoed in the payload (contract: replies).
 */
export class EmbeddedBroker implements Module {
  readonly name = 'embedded-broker';
  readonly #o: EmbeddedBrokerOptions;
  #ca: CertificateAuthority | undefined;
  #server: Server | undefined;
  #aedes: Aedes | undefined;
  #port = 0;
  /**
   * Each client's identity, read from its certificate when it connects: a will is authorized after
   * its socket closed, when the certificate can no longer be read (every will was refused, so the
   * cloud never heard that a hub went away).
   */
  readonly #identities = new WeakMap<Client, string>();

  constructor(options: EmbeddedBrokerOptions) {
    this.#o = options;
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.#port}`;
  }

  /** The CA certificate clients pin. */
  get caCert(): string {
    if (this.#ca === undefined) throw new Error('embedded broker is not started');
    return this.#ca.cert;
  }

  async start(): Promise<void> {
    try {
      mkdirSync(this.#o.dir, { recursive: true, mode: 0o700 });
      this.#ca = await this.#loadOrCreateCa();
      const server = await this.#pair('broker', { usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
      const aedes = await Aedes.createBroker({
        preConnect: (client, _packet, done) => {
          const identity = identityOf(client);
          if (identity !== undefined) this.#identities.set(client, identity);
          done(null, identity !== undefined);
        },
        authorizePublish: (client, packet, done) => done(this.#mayUse(client, packet.topic) ? null : new Error(`publish to ${packet.topic} not allowed`)),
        // A refused filter gets a failure SUBACK (0x80, MQTT 3.1.1 §3.9.3), not a dropped connection.
        authorizeSubscribe: (client, sub, done) => done(null, this.#mayUse(client, sub.topic) ? sub : null),
      });
      this.#aedes = aedes;
      const tlsServer = createServer({ key: server.key, cert: server.cert, ca: [this.#ca.cert], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (socket) => {
        aedes.handle(socket);
      });
      tlsServer.on('tlsClientError', (err) => this.#o.log.warn({ err: err.message }, 'TLS client refused'));
      await new Promise<void>((resolve, reject) => {
        tlsServer.once('error', reject);
        tlsServer.listen(this.#o.port, '127.0.0.1', () => resolve());
      });
      this.#server = tlsServer;
      const address = tlsServer.address();
      this.#port = typeof address === 'object' && address !== null ? address.port : this.#o.port;
      this.#o.log.info({ url: this.url }, 'embedded broker listening');
    } catch (err) {
      await this.stop();
      if (err instanceof HubError) throw err;
      throw new HubError(ErrorCode.CLOUD_BROKER_FAILED, `embedded broker could not start: ${(err as Error).message}`, { cause: err });
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    const aedes = this.#aedes;
    this.#server = undefined;
    this.#aedes = undefined;
    if (aedes !== undefined) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A client certificate for `identity` (a hub id or the cloud identity), made once and kept. */
  async clientIdentity(identity: string): Promise<PemPair> {
    if (identity !== this.#o.cloudIdentity && !HUB_ID_PATTERN.test(identity)) throw new RangeError(`not a hub id: ${identity}`);
    return this.#pair(`client-${identity}`, { usage: 'client' }, identity);
  }

  #mayUse(client: Client | null, topic: string): boolean {
    if (client === null) return true; // the broker's own publications ($SYS)
    const identity = this.#identities.get(client);
    if (identity === undefined) return false;
    if (identity === this.#o.cloudIdentity) return topic.startsWith(`${TOPIC_ROOT}/`);
    if (!HUB_ID_PATTERN.test(identity)) return false;
    // The hub's own prefix, literally, first: a wildcard can only come after it, inside its own
    // subtree (an every-hub filter such as everyHub('events') does not start with it: refused).
    return topic.startsWith(hubSubtree(identity).slice(0, -1));
  }

  async #loadOrCreateCa(): Promise<CertificateAuthority> {
    const certFile = join(this.#o.dir, 'ca.pem');
    const keyFile = join(this.#o.dir, 'ca.key');
    if (existsSync(certFile) && existsSync(keyFile)) return loadCertificateAuthority({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') });
    const ca = await createCertificateAuthority({ commonName: 'keyhub embedded broker CA', nowMs: this.#o.clock.now() });
    writeFileSync(keyFile, ca.key, { mode: 0o600 });
    writeFileSync(certFile, ca.cert);
    this.#o.log.info({ dir: this.#o.dir }, 'embedded broker CA created');
    return ca;
  }

  async #pair(name: string, o: { usage: 'server' | 'client'; dnsNames?: string[]; ips?: string[] }, commonName = 'localhost'): Promise<PemPair> {
    const certFile = join(this.#o.dir, `${name}.pem`);
    const keyFile = join(this.#o.dir, `${name}.key`);
    if (existsSync(certFile) && existsSync(keyFile)) return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    if (this.#ca === undefined) throw new Error('no CA');
    const pair = await this.#ca.issue({ commonName, ...o, nowMs: this.#o.clock.now() });
    writeFileSync(keyFile, pair.key, { mode: 0o600 });
    writeFileSync(certFile, pair.cert);
    return pair;
  }
}

function identityOf(client: Client): string | undefined {
  const socket = client.conn as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}
