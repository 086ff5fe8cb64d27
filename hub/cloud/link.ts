import mqtt, { Store, type IClientOptions, type IPublishPacket, type IStore, type MqttClient, type Packet } from 'mqtt';
import { encodePayload, maxPublishBytes, topicFor, TOPICS, type JsonTopic, type PayloadOf, type TopicName } from '../../protocols/mqtt/contract.js';
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

/** Where the link connects and how it proves who it is. */
export interface CloudEndpoint {
  /** `mqtts://host:port` */
  url: string;
  tls: CloudTls;
  /** 5 for mosquitto (and real deployments); 4 (3.1.1) for the embedded aedes, which lacks MQTT 5. */
  protocolVersion: 4 | 5;
}

export interface CloudLinkOptions {
  hubId: string;
  /**
   * The endpoint, or how to learn it at start: the embedded broker's port and the certificate it
   * issues the hub exist only once the broker runs, and TLS files are read when the link starts.
   */
  endpoint: CloudEndpoint | (() => Promise<CloudEndpoint>);
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
 * The hub's MQTT connection to the cloud: mqtt.js 5 over TLS with the
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
  #endpoint: CloudEndpoint | undefined;
  #client: MqttClient | undefined;
  #timer: Timer | undefined;
  #attempt = 0;
  #connected = false;
  #stopped = true;
  #retainedState: Uint8Array | undefined;
  /** Publishes waiting for their PUBACK (a clean stop gives them time to get it). */
  readonly #inFlight = new Set<Promise<unknown>>();

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

  /**
   * Learns the endpoint, then starts connecting and returns at once: the hub works offline; the
   * link catches up. An aborted start makes no client (stop is not called after a failed start).
   */
  async start(signal?: AbortSignal): Promise<void> {
    const endpoint = this.#o.endpoint;
    this.#endpoint = typeof endpoint === 'function' ? await endpoint() : endpoint;
    signal?.throwIfAborted();
    this.#stopped = false;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    if (client === undefined) return;
    if (client.connected) await this.#goodbye(client);
    else client.end(true);
  }

  /**
   * A clean goodbye within GOODBYE_MS, whatever the broker does: say `offline` ourselves (retained),
   * give the publishes still out their PUBACK, then DISCONNECT with reason 0x00, which makes the
   * broker discard the will (MQTT 5 §3.1.2.5, §3.14.4; 3.1.1 §3.14.4), so the cloud hears one
   * `offline`, not two. mqtt.js' forced end destroys the socket without a DISCONNECT (the broker
   * then publishes the will), and its graceful end first waits for every QoS 1 PUBACK, which a
   * broker that stopped answering never sends: so what is still out after the first part of the
   * budget is let go (unacked audit batches stay in the store and are resent after the next
   * connect), and only a DISCONNECT that does not complete in the rest is forced.
   */
  async #goodbye(client: MqttClient): Promise<void> {
    const offline = client.publishAsync(topicFor(this.#o.hubId, 'status'), Buffer.from(encodePayload('status', this.#status('offline'))), { qos: 1, retain: true });
    await this.#within(Promise.allSettled([offline, ...this.#inFlight]), GOODBYE_MS - DISCONNECT_MS);
    settleOutgoing(client, 'the link is stopping');
    const ended = client.endAsync(false).catch(() => undefined);
    if (!(await this.#within(ended, DISCONNECT_MS))) {
      this.#o.log.warn('cloud link: DISCONNECT did not complete in time; connection closed (the broker may publish the will)');
      client.stream.destroy();
    }
  }

  /** Resolves true once `work` settles, false if `ms` passed first (on the injected Clock). */
  async #within(work: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: Timer | undefined;
    const late = new Promise<false>((resolve) => (timer = this.#o.clock.setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([work.then(() => true as const), late]);
    } finally {
      timer?.cancel();
    }
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
    const properties = this.#endpoint?.protocolVersion === 5 && options.correlationData !== undefined ? { correlationData: Buffer.from(options.correlationData) } : undefined;
    const sent = client.publishAsync(topicFor(this.#o.hubId, name), Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: spec.qos, retain: spec.retain, ...(properties ? { properties } : {}) });
    this.#inFlight.add(sent);
    try {
      await sent;
    } catch (err) {
      throw new HubError(ErrorCode.CLOUD_PUBLISH_FAILED, `publish to ${name} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#inFlight.delete(sent);
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
    const endpoint = this.#endpoint;
    if (this.#stopped || endpoint === undefined) return;
    const o = this.#o;
    const { tls, protocolVersion } = endpoint;
    const options: IClientOptions = {
      clientId: o.hubId,
      protocolVersion,
      clean: false,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      outgoingStore: new UnretainedStore(),
      cert: tls.cert,
      key: tls.key,
      ca: [tls.ca],
      rejectUnauthorized: true,
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      will: {
        topic: topicFor(o.hubId, 'status'),
        payload: Buffer.from(encodePayload('status', this.#status('offline'))),
        qos: 1,
        retain: true,
      },
      // MQTT 5 §3.1.2.11.4: the broker must not send this client a packet larger than the largest
      // the contract lets come down, so an oversized payload never reaches the hub (§3.1.2.11.4:
      // the broker discards it and behaves as if it was delivered).
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpiryS, maximumPacketSize: maxPublishBytes('down') } } : {}),
    };
    const client = mqtt.connect(endpoint.url, options);
    this.#client = client;
    // Small packets (acks, PUBACKs) must not wait for Nagle (RFC 896) to meet a delayed ACK: ~40 ms
    // per round trip otherwise. tls.connect ignores a `noDelay` option, so it is set on the socket.
    noDelay(client);
    client.on('connect', (connack) => {
      if (client !== this.#client) return;
      this.#onConnect(client, connack.sessionPresent);
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
      // This client never reconnects (each connection is a new one), so nothing still out will
      // ever be acknowledged: its publishes reject now, and whoever sent them (the outbox, held
      // replies) knows to send again after the next connect.
      settleOutgoing(client, 'the connection closed');
      this.#scheduleReconnect();
    });
  }

  /**
   * The link is up as soon as the broker accepted the session (CONNACK): what the broker delivers
   * right away (the persistent session's backlog, retained messages on a fresh subscribe) is then
   * answered like anything later. The subscriptions, the birth and the retained state are written
   * first (mqtt.js writes packets in call order and a broker handles one connection's packets in
   * order), before anything the handlers publish; if one of them fails the connection is ended
   * and retried.
   */
  #onConnect(client: MqttClient, sessionPresent: boolean): void {
    const o = this.#o;
    this.#attempt = 0;
    const setup: Promise<unknown>[] = [];
    if (!sessionPresent) {
      const down = (Object.keys(TOPICS) as TopicName[]).filter((t) => TOPICS[t].direction === 'down');
      setup.push(
        client.subscribeAsync(Object.fromEntries(down.map((t) => [topicFor(o.hubId, t), { qos: 1 as const }]))).then((grants) => {
          // A broker's ACL may refuse a subscription (SUBACK 0x80/0x87); that is a provisioning error.
          const refused = grants.filter((g) => g.qos > 2);
          if (refused.length > 0) o.log.error({ topics: refused.map((g) => g.topic) }, 'broker refused subscriptions');
        }),
      );
    }
    setup.push(client.publishAsync(topicFor(o.hubId, 'status'), Buffer.from(encodePayload('status', this.#status('online'))), { qos: 1, retain: true }));
    if (this.#retainedState !== undefined) setup.push(client.publishAsync(topicFor(o.hubId, 'state'), Buffer.from(this.#retainedState), { qos: 1, retain: true }));
    void Promise.all(setup).catch((err: unknown) => {
      if (client !== this.#client) return;
      o.log.warn({ err: (err as Error).message }, 'cloud link setup after connect failed');
      client.end(true);
    });
    this.#connected = true;
    o.log.info({ url: this.#endpoint?.url, sessionPresent }, 'cloud link up');
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

/** The whole goodbye of a clean stop, and the part of it left for the DISCONNECT. */
const GOODBYE_MS = 2000;
const DISCONNECT_MS = 500;

/**
 * Rejects every publish of `client` still waiting for its PUBACK. With a persistent session
 * (clean: false) mqtt.js keeps them for a reconnect of the same client, which this link never
 * makes, so without this their promises would never settle.
 */
function settleOutgoing(client: MqttClient, why: string): void {
  for (const id of Object.keys(client.outgoing)) {
    const entry = client.outgoing[Number(id)];
    delete client.outgoing[Number(id)];
    entry?.cb?.(new Error(`not acknowledged: ${why}`));
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
