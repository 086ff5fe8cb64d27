import type { KeyObject } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BatchEntry, EventBatch } from '../../protocols/audit/batch.js';
import { toHex } from '../../protocols/audit/chain.js';
import { checkRawBody } from '../../protocols/audit/raw-entry.js';
import { ChainVerifier, type ChainBreak } from '../../protocols/audit/verify.js';
import type { WireEvent } from '../../protocols/audit/wire.js';
import {
  checkBytesPayload,
  decodePayload,
  encodePayload,
  everyHub,
  parseTopic,
  topicFor,
  TOPICS,
  type DownlinkKind,
  type PayloadOf,
} from '../../protocols/mqtt/contract.js';

export interface SimCloudOptions {
  url: string;
  tls: { cert: string; key: string; ca: string };
  /** 5 against mosquitto; 4 against the embedded aedes. */
  protocolVersion: 4 | 5;
  /** The hubs this cloud knows, by id, with the Ed25519 public key each registered at provisioning. */
  hubs: Map<string, KeyObject>;
  clientId?: string;
  /** Keep every received entry (tests read them back); off for the long bench. */
  keepEvents?: boolean;
}

export interface HubLedger {
  /** Entries stored, in seq order, each exactly once. */
  events: WireEvent[];
  lastSeq: number;
  lastHash: string;
  duplicates: number;
  /** Entries that arrived ahead of a missing one (dropped; the hub resends from the last ack). */
  outOfOrder: number;
  batches: number;
  checkpoints: number;
  broken: ChainBreak | undefined;
  status: PayloadOf<'status'> | undefined;
  /** Every status seen, in order ('online' births and 'offline' wills or goodbyes). */
  statusHistory: Array<'online' | 'offline'>;
  state: PayloadOf<'state'> | undefined;
  replies: PayloadOf<'replies'>[];
  refusedPayloads: number;
}

/**
 * The simulated cloud: one MQTT client with the cloud's certificate. It
 * receives `events` batches from every hub, dedupes by (hubId, seq), verifies the hash chain and
 * the hub's signed checkpoints as entries arrive (the same verifier as `keyhub audit verify`),
 * acks the highest contiguous seq with its hash, keeps each hub's status, state and replies, and
 * pushes downlink payloads (with MQTT 5 response topic and correlation data). `goAway()` /
 * `comeBack()` make it vanish and return, as a cloud outage would.
 */
export class SimCloud {
  readonly #o: SimCloudOptions;
  readonly #ledgers = new Map<string, HubLedger>();
  readonly #verifiers = new Map<string, ChainVerifier>();
  readonly #waiters = new Set<() => void>();
  #client: MqttClient | undefined;
  #correlation = 0;

  constructor(options: SimCloudOptions) {
    this.#o = options;
  }

  ledger(hubId: string): HubLedger {
    let l = this.#ledgers.get(hubId);
    if (l === undefined) {
      l = { events: [], lastSeq: 0, lastHash: '', duplicates: 0, outOfOrder: 0, batches: 0, checkpoints: 0, broken: undefined, status: undefined, statusHistory: [], state: undefined, replies: [], refusedPayloads: 0 };
      this.#ledgers.set(hubId, l);
    }
    return l;
  }

  async start(): Promise<void> {
    await this.comeBack();
  }

  async stop(): Promise<void> {
    await this.goAway();
  }

  /** Disconnects (an outage seen from the hub: its batches pile up in its outbox). */
  async goAway(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync(true);
  }

  async comeBack(): Promise<void> {
    if (this.#client !== undefined) return;
    const o = this.#o;
    const options: IClientOptions = {
      clientId: o.clientId ?? 'keyhub-cloud',
      protocolVersion: o.protocolVersion,
      // A durable subscriber: while the cloud is away (or the broker restarts), the broker queues
      // what hubs publish (MQTT 5 §3.1.2.11.2 session expiry), as a real cloud's consumer would.
      clean: false,
      ...(o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 24 * 3600 } } : {}),
      reconnectPeriod: 250,
      connectTimeout: 5000,
      cert: o.tls.cert,
      key: o.tls.key,
      ca: [o.tls.ca],
      rejectUnauthorized: true,
    };
    const client = await mqtt.connectAsync(o.url, options);
    this.#client = client;
    // Acks must not wait for Nagle (RFC 896); set again on every reconnect's new socket.
    noDelay(client);
    // A view of mqtt.js' buffer, not a copy: a batch's bodies and hashes are read in place.
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), packet.properties?.correlationData));
    client.on('connect', () => {
      noDelay(client);
      void this.#subscribe(client);
    });
    await this.#subscribe(client);
  }

  /**
   * Takes one message as if the broker had delivered it, with no network and no ack sent unless
   * the cloud is connected: test/bench/audit.bench.ts times the cloud's own ingest this way.
   */
  receive(topic: string, payload: Uint8Array): void {
    this.#onMessage(topic, payload, undefined);
  }

  /** Publishes a signed downlink payload to one hub; returns the correlation data used. */
  async push(hubId: string, kind: DownlinkKind, payload: Uint8Array): Promise<Uint8Array> {
    const client = this.#requireClient();
    const correlation = new Uint8Array(Buffer.from((++this.#correlation).toString(16).padStart(8, '0'), 'hex'));
    const properties = this.#o.protocolVersion === 5 ? { properties: { responseTopic: topicFor(hubId, 'replies'), correlationData: Buffer.from(correlation) } } : {};
    await client.publishAsync(topicFor(hubId, kind), Buffer.from(payload), { qos: TOPICS[kind].qos, retain: false, ...properties });
    return correlation;
  }

  /** Resolves once `predicate` holds (checked on every message); rejects after timeoutMs. */
  async waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`sim cloud: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  async #subscribe(client: MqttClient): Promise<void> {
    await client.subscribeAsync(Object.fromEntries((['events', 'state', 'status', 'replies', 'receipts'] as const).map((t) => [everyHub(t), { qos: 1 as const }])));
  }

  #requireClient(): MqttClient {
    if (this.#client === undefined) throw new Error('sim cloud is away');
    return this.#client;
  }

  #onMessage(topic: string, payload: Uint8Array, correlation: Buffer | undefined): void {
    const parsed = parseTopic(topic);
    if (parsed === undefined) return;
    const { hubId, name } = parsed;
    const ledger = this.ledger(hubId);
    switch (name) {
      case 'events': {
        const d = decodePayload('events', payload);
        if (!d.ok || d.value.hubId !== hubId) ledger.refusedPayloads += 1;
        else this.#onBatch(hubId, ledger, d.value);
        break;
      }
      case 'status': {
        const d = decodePayload('status', payload);
        if (d.ok) {
          ledger.status = d.value;
          ledger.statusHistory.push(d.value.status);
        } else ledger.refusedPayloads += 1;
        break;
      }
      case 'state': {
        const d = decodePayload('state', payload);
        if (d.ok) ledger.state = d.value;
        else ledger.refusedPayloads += 1;
        break;
      }
      case 'replies': {
        const d = decodePayload('replies', payload);
        if (d.ok) ledger.replies.push(correlation === undefined ? d.value : { ...d.value, correlation: correlation.toString('hex') });
        else ledger.refusedPayloads += 1;
        break;
      }
      default:
        if (TOPICS[name].direction === 'down' && TOPICS[name].payload.encoding === 'bytes') checkBytesPayload(name as DownlinkKind, payload);
    }
    for (const w of [...this.#waiters]) w();
  }

  #onBatch(hubId: string, ledger: HubLedger, batch: EventBatch): void {
    const key = this.#o.hubs.get(hubId);
    if (key === undefined) {
      ledger.refusedPayloads += 1;
      return;
    }
    let verifier = this.#verifiers.get(hubId);
    if (verifier === undefined) {
      verifier = new ChainVerifier({ publicKey: key, hubId, recentHashes: 20_000 });
      this.#verifiers.set(hubId, verifier);
    }
    ledger.batches += 1;
    // Ascending seq order is part of the batch format (the decoder refuses anything else).
    const checkpoints = [...batch.checkpoints];
    let lastHash: Uint8Array | undefined;
    // Each entry's previous hash: the batch's for the first, the entry before's for the rest.
    let prevHash = batch.prevHash;
    for (const entry of batch.entries) {
      const implied = prevHash;
      prevHash = entry.hash;
      if (entry.seq <= ledger.lastSeq) {
        ledger.duplicates += 1;
        continue;
      }
      if (entry.seq !== ledger.lastSeq + 1) {
        ledger.outOfOrder += 1;
        continue;
      }
      if (ledger.broken !== undefined) break;
      const broken = verifier.rawEvent(entry, implied, entry.hash);
      if (broken !== undefined) {
        ledger.broken = broken;
        break;
      }
      ledger.lastSeq = entry.seq;
      lastHash = verifier.headHash;
      if (this.#o.keepEvents !== false) ledger.events.push(toWireEvent(entry, implied));
      // A checkpoint is checked once the entry it signs has been chained.
      while (checkpoints[0] !== undefined && checkpoints[0].seq <= ledger.lastSeq) {
        const b = verifier.checkpoint(checkpoints.shift()!);
        if (b !== undefined) ledger.broken = b;
        else ledger.checkpoints += 1;
      }
    }
    // Hex once per batch, not per entry: only the ack (and readers of the ledger) need it.
    if (lastHash !== undefined) ledger.lastHash = toHex(lastHash);
    for (const cp of checkpoints) {
      if (ledger.broken !== undefined || cp.seq > ledger.lastSeq) break;
      const b = verifier.checkpoint(cp);
      if (b !== undefined) ledger.broken = b;
      else ledger.checkpoints += 1;
    }
    if (ledger.broken === undefined && ledger.lastSeq > 0) {
      const ack = encodePayload('acks', { through: ledger.lastSeq, hash: ledger.lastHash });
      this.#client?.publish(topicFor(hubId, 'acks'), Buffer.from(ack), { qos: 1 });
    }
  }
}

/** A verified entry as the ledger keeps it (the export's JSON form: what tests read back). */
function toWireEvent(entry: BatchEntry, prevHash: Uint8Array): WireEvent {
  const checked = checkRawBody(entry.type, entry.body);
  if (!checked.ok) throw new Error(`a verified entry has an invalid body: ${checked.problem}`);
  const { seq, wallMs, monoMs } = entry;
  return { kind: 'event', seq, wallMs, monoMs, type: entry.type, body: checked.event.body as Record<string, unknown>, prevHash: toHex(prevHash), hash: toHex(entry.hash) };
}

/** TCP_NODELAY on the client's socket: tls.connect ignores a `noDelay` option (a TLSSocket forwards this). */
function noDelay(client: MqttClient): void {
  (client.stream as { setNoDelay?: (on: boolean) => unknown } | undefined)?.setNoDelay?.(true);
}
