import mqtt, { Store, type IClientOptions, type IPublishPacket, type IStore, type MqttClient, type Packet } from 'mqtt';
import { encodePayload, topicFor, TOPICS, type JsonTopic, type PayloadOf, type TopicName } from '../../protocols/mqtt/contract.js';
import type { Clock, Timer } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';

export interface CloudTls {
  /** PEM: the hub's client certificate and key (its identity at the broker). */
  cert: string;
  key: string;
  /** PEM: the ONLY CA trusted for the broker's certificate (pinned; the system store is not used). */
  ca: string;
  /** Name to check in the broker's certificate, when the URL's host is an IP or differs. */
  servername?: string;
}

export interface CloudLinkOptions {
  hubId: string;
  /** `mqtts://host:port` */
  url: string;
  tls: CloudTls;
  /** 5 for mosquitto (and real deployments); 4 (3.1.1) for the embedded aedes, which lacks MQTT 5. */
  protocolVersion: 4 | 5;
  clock: Clock;
  log: Logger;
  /** Reconnect backoff: full jitter between 0 and min(maxMs, initialMs·2^attempt). */
  backoff?: { initialMs: number; maxMs: number };
  /** MQTT 5 §3.1.2.11.2: how long the broker keeps our subscriptions and queued QoS 1 messages. */
  sessionExpiryS?: number;
  keepaliveS?: number;
  connectTimeoutMs?: number;
  /** Uniform [0, 1) for the jitter; tests pass a seeded one. */
  random?: () => number;
}

/**
 * The wait before reconnect attempt `attempt` (0-based): "full jitter", uniform in
 * [0, min(maxMs, initialMs·2^attempt)), so a fleet of hubs that lost the same broker does not
 * come back in lockstep.
 */
export function backoffDelay(attempt: number, backoff: { initialMs: number; maxMs: number }, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.min(random(), 1 - Number.EPSILON) * ceiling);
}

export interface IncomingMessage {
  name: TopicName;
  payload: Uint8Array;
  /** MQTT 5 request/response (§4.10): where to answer and what to echo. */
  responseTopic?: string;
  correlationData?: Uint8Array;
}

export interface LinkEvents {
  onConnect?(): void;
  onDisconnect?(): void;
  onMessage?(message: IncomingMessage): void;
}

/**
 * The hub's MQTT connection to the cloud (issue 8, Cloud link 2): mqtt.js 5 over TLS with the
 * hub's client certificate and a pinned CA; last will `status=offline` and birth `status=online`,
 * both retained; a persistent session (clean start off, session expiry) so downlink messages
 * published while the hub was away are delivered on return; reconnect with jittered exponential
 * backoff on the injected Clock (mqtt.js' own fixed-period reconnect is off).
 *
 * It is the only place in hub/ that talks MQTT; it only ever publishes to its own hub's topics.
 */
export class CloudLink implements Module {
  readonly name = 'cloud-link';
  readonly #o: Required<Omit<CloudLinkOptions, 'random'>> & { random: () => number };
  readonly #handlers: LinkEvents[] = [];
  #client: MqttClient | undefined;
  #timer: Timer | undefined;
  #attempt = 0;
  #connected = false;
  #stopped = true;
  #retainedState: Uint8Array | undefined;

  constructor(options: CloudLinkOptions) {
    this.#o = {
      backoff: { initialMs: 500, maxMs: 30_000 },
      sessionExpiryS: 7 * 24 * 3600,
      keepaliveS: 30,
      connectTimeoutMs: 10_000,
      random: Math.random,
      ...options,
    };
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Subscribes to link events; returns an unsubscribe function. */
  on(handlers: LinkEvents): () => void {
    this.#handlers.push(handlers);
    return () => {
      const i = this.#handlers.indexOf(handlers);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }

  /** Starts connecting and returns at once: the hub works offline; the link catches up. */
  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    if (this.#connected) {
      // A clean goodbye: the broker then does not publish the will, so say offline ourselves —
      // but never let a broker that stopped answering hold up the daemon's shutdown.
      const goodbye = client.publishAsync(topicFor(this.#o.hubId, 'status'), Buffer.from(encodePayload('status', this.#status('offline'))), { qos: 1, retain: true });
      let timer: Timer | undefined;
      const deadline = new Promise<void>((resolve) => (timer = this.#o.clock.setTimeout(resolve, 2000)));
      await Promise.race([goodbye.catch(() => undefined), deadline]);
      timer?.cancel();
    }
    this.#connected = false;
    // Forced: a graceful end waits for a PUBACK of every QoS 1 publish still out (mqtt.js holds it
    // until its outgoing list is empty), which a broker that stopped answering never sends: the
    // daemon then missed its shutdown deadline. Nothing is lost: unacked audit batches stay in
    // the store and are resent after the next connect, and the broker publishes the will.
    await client.endAsync(true).catch(() => undefined);
  }

  /** Publishes a JSON payload to one of this hub's up topics; resolves on PUBACK (QoS 1). */
  async publish<T extends JsonTopic>(name: T, value: PayloadOf<T>, options: { correlationData?: Uint8Array } = {}): Promise<void> {
    return this.publishBytes(name, encodePayload(name, value), options);
  }

  async publishBytes(name: TopicName, payload: Uint8Array, options: { correlationData?: Uint8Array } = {}): Promise<void> {
    const spec = TOPICS[name];
    if (spec.direction !== 'up') throw new RangeError(`${name} is not a hub → cloud topic`);
    const client = this.#client;
    if (client === undefined || !this.#connected) throw new HubError(ErrorCode.CLOUD_NOT_CONNECTED, `cannot publish ${name}: not connected to the cloud`);
    const properties = this.#o.protocolVersion === 5 && options.correlationData !== undefined ? { correlationData: Buffer.from(options.correlationData) } : undefined;
    try {
      await client.publishAsync(topicFor(this.#o.hubId, name), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: spec.qos, retain: spec.retain, ...(properties ? { properties } : {}) });
    } catch (err) {
      throw new HubError(ErrorCode.CLOUD_PUBLISH_FAILED, `publish to ${name} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Sets the retained `state`; published now if connected, and again after every reconnect. */
  setState(value: PayloadOf<'state'>): void {
    this.#retainedState = encodePayload('state', value);
    if (this.#connected) void this.publishBytes('state', this.#retainedState).catch((err: unknown) => this.#o.log.warn({ err }, 'state publish failed'));
  }

  #status(status: 'online' | 'offline'): PayloadOf<'status'> {
    return status === 'online' ? { status, hubId: this.#o.hubId, atMs: Math.floor(this.#o.clock.now()) } : { status, hubId: this.#o.hubId };
  }

  #connect(): void {
    if (this.#stopped) return;
    const o = this.#o;
    const options: IClientOptions = {
      clientId: o.hubId,
      protocolVersion: o.protocolVersion,
      clean: false,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      outgoingStore: new UnretainedStore(),
      cert: o.tls.cert,
      key: o.tls.key,
      ca: [o.tls.ca],
      rejectUnauthorized: true,
      ...(o.tls.servername === undefined ? {} : { servername: o.tls.servername }),
      will: {
        topic: topicFor(o.hubId, 'status'),
        payload: Buffer.from(encodePayload('status', this.#status('offline'))),
        qos: 1,
        retain: true,
      },
      ...(o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpiryS } } : {}),
    };
    const client = mqtt.connect(o.url, options);
    this.#client = client;
    // Small packets (acks, PUBACKs) must not wait for Nagle (RFC 896) to meet a delayed ACK: ~40 ms
    // per round trip otherwise. tls.connect ignores a `noDelay` option, so it is set on the socket.
    noDelay(client);
    client.on('connect', (connack) => {
      if (client !== this.#client) return;
      void this.#onConnect(client, connack.sessionPresent);
    });
    client.on('message', (topic, payload, packet) => {
      if (client === this.#client) this.#onMessage(topic, payload, packet);
    });
    client.on('error', (err) => {
      if (client === this.#client) o.log.warn({ err: err.message }, 'cloud link error');
    });
    client.on('close', () => {
      if (client !== this.#client) return;
      const was = this.#connected;
      this.#connected = false;
      client.removeAllListeners('connect');
      client.end(true);
      if (was) for (const h of [...this.#handlers]) h.onDisconnect?.();
      this.#scheduleReconnect();
    });
  }

  async #onConnect(client: MqttClient, sessionPresent: boolean): Promise<void> {
    const o = this.#o;
    this.#attempt = 0;
    try {
      if (!sessionPresent) {
        const down = (Object.keys(TOPICS) as TopicName[]).filter((t) => TOPICS[t].direction === 'down');
        const grants = await client.subscribeAsync(Object.fromEntries(down.map((t) => [topicFor(o.hubId, t), { qos: 1 as const }])));
        // A broker's ACL may refuse a subscription (SUBACK 0x80/0x87); that is a provisioning error.
        const refused = grants.filter((g) => g.qos > 2);
        if (refused.length > 0) o.log.error({ topics: refused.map((g) => g.topic) }, 'broker refused subscriptions');
      }
      await client.publishAsync(topicFor(o.hubId, 'status'), Buffer.from(encodePayload('status', this.#status('online'))), { qos: 1, retain: true });
      if (this.#retainedState !== undefined) await client.publishAsync(topicFor(o.hubId, 'state'), Buffer.from(this.#retainedState), { qos: 1, retain: true });
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'cloud link setup after connect failed');
      client.end(true);
      return;
    }
    if (client !== this.#client) return;
    this.#connected = true;
    o.log.info({ url: o.url, sessionPresent }, 'cloud link up');
    for (const h of [...this.#handlers]) h.onConnect?.();
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const o = this.#o;
    const prefix = `${topicFor(o.hubId, 'acks').slice(0, -'acks'.length)}`;
    const name = topic.startsWith(prefix) ? topic.slice(prefix.length) : '';
    if (!Object.hasOwn(TOPICS, name) || TOPICS[name as TopicName].direction !== 'down') {
      o.log.warn({ topic }, 'message on a topic outside the contract: dropped');
      return;
    }
    const props = packet.properties;
    const message: IncomingMessage = {
      name: name as TopicName,
      payload: new Uint8Array(payload),
      ...(typeof props?.responseTopic === 'string' ? { responseTopic: props.responseTopic } : {}),
      ...(props?.correlationData === undefined ? {} : { correlationData: new Uint8Array(props.correlationData) }),
    };
    for (const h of [...this.#handlers]) h.onMessage?.(message);
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempt, this.#o.backoff, this.#o.random);
    this.#attempt += 1;
    this.#o.log.debug({ delay, attempt: this.#attempt }, 'cloud link reconnecting');
    this.#timer = this.#o.clock.setTimeout(() => this.#connect(), delay);
  }
}

/** TCP_NODELAY on the client's socket (mqtt.js makes it in connect(); a TLSSocket forwards it). */
export function noDelay(client: MqttClient): void {
  (client.stream as { setNoDelay?: (on: boolean) => unknown } | undefined)?.setNoDelay?.(true);
}

/**
 * An mqtt.js outgoing store that keeps nothing. mqtt.js deep-copies every QoS 1 PUBLISH (payload
 * included) into its store to resend it if the same client reconnects; this link never does that —
 * each connection is a new client (reconnectPeriod 0), and the outbox resends from the database
 * after its own reconnect. The copies were a 28 KB ArrayBuffer per audit batch kept until PUBACK:
 * long enough to be promoted, then freed only by a full GC, so the hub's RSS grew with the backlog
 * it drained (test/bench/audit.bench.ts, RSS_CURVE=1). Acks still settle each publish: `del`
 * answers for any message id.
 */
export class UnretainedStore implements IStore {
  put(_packet: Packet, cb: () => void): this {
    cb();
    return this;
  }

  /** Nothing to resend on connect: the stream of an empty store. */
  createStream(): ReturnType<IStore['createStream']> {
    return new Store().createStream();
  }

  del(packet: Pick<Packet, 'messageId'>, cb: (error?: Error, packet?: Packet) => void): this {
    cb(undefined, { cmd: 'puback', messageId: packet.messageId } as Packet);
    return this;
  }

  get(_packet: Pick<Packet, 'messageId'>, cb: (error?: Error, packet?: Packet) => void): this {
    cb(new Error('this store keeps no packets'));
    return this;
  }

  close(cb: () => void): void {
    cb();
  }
}
