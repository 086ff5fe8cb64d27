import { z } from 'zod';
import { BatchEncoder, decodeBatch, MAX_BATCH_EVENTS, type BatchDecoded, type EventBatch } from '../audit/batch.js';

/**
 * THE topic contract between a hub and the cloud (DESIGN.md, "Cloud link").
 * Every topic, its direction, QoS, retain flag and payload schema is here; the hub (hub/cloud) and
 * the simulated cloud (sim/cloud) both import it, and nothing else spells a topic string.
 *
 * Topics are `keyhub/v1/{hubId}/{name}`. A broker's ACL gives each hub `keyhub/v1/<its id>/#` only.
 * Payloads up are JSON (zod-checked on both sides), except `events`: audit batches are canonical
 * CBOR (protocols/audit/batch.ts) carrying each body's stored bytes and its hash as they are, so
 * neither side decodes and re-encodes a body to move it. Payloads down that carry authority (grants,
 * revocations, keys, time, commands) are the grants room's signed envelopes (protocols/grant),
 * carried as raw bytes and verified by the hub before anything is stored: the transport is never
 * the only check. `acks` are JSON bound to the hub's own chain by the acked entry's hash.
 *
 * QoS 1 everywhere (MQTT 5 §4.3.2: at least once): the audit outbox dedupes by seq, downlink
 * payloads are idempotent by id, so "at least once" is exactly-once in effect, without QoS 2's
 * extra round trip.
 */
export const TOPIC_ROOT = 'keyhub/v1';
export const HUB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const hubIdSchema = z.string().regex(HUB_ID_PATTERN, 'a hub id: lowercase letters, digits and dashes, no MQTT wildcards');

const seq = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const ms = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex32 = z.string().regex(/^[0-9a-f]{64}$/);

/** Most audit entries per `events` batch; the outbox bounds batches by this and by time. */
export { MAX_BATCH_EVENTS };

export const statePayload = z.strictObject({
  hubId: hubIdSchema,
  atMs: ms,
  version: z.string().max(64),
  audit: z.strictObject({ headSeq: seq, ackedThrough: seq, backlog: seq }),
  lock: z.strictObject({ bolt: z.enum(['locked', 'unlocked', 'jammed', 'unknown']), door: z.enum(['open', 'closed', 'unknown']) }).optional(),
});

export const statusPayload = z.strictObject({
  status: z.enum(['online', 'offline']),
  hubId: hubIdSchema,
  atMs: ms.optional(),
});

export const replyPayload = z.strictObject({
  /** The id of the downlink payload answered (grant id, list version, command id…), or '' when unreadable. */
  id: z.string().max(128),
  kind: z.enum(['grants', 'revocations', 'keys', 'commands', 'time']),
  outcome: z.enum(['accepted', 'duplicate', 'refused']),
  reason: z.int().min(0).max(999).optional(),
  reasonName: z.string().max(64).optional(),
  detail: z.string().max(200).optional(),
  /** MQTT 3.1.1 peers (the embedded aedes) lack correlation data: it is echoed here, hex. */
  correlation: z.string().regex(/^(?:[0-9a-f]{2}){0,64}$/).optional(),
});

export const receiptPayload = z.strictObject({
  /** The hub-signed receipt (protocols/grant/receipt.ts), base64. */
  receipt: z.string().max(4096),
});

export const acksPayload = z.strictObject({
  /** Every entry up to and including this seq is stored by the cloud (cumulative, like TCP). */
  through: seq,
  /** The hash of entry `through` as the cloud computed it: an ack that names another chain is refused. */
  hash: hex32,
});

export type Direction = 'up' | 'down';
type Json<S extends z.ZodType> = { encoding: 'json'; schema: S; maxBytes: number };
type Bytes = { encoding: 'bytes'; maxBytes: number };
/** A binary payload with its own strict codec: the decoder never throws and names the problem. */
type Cbor<T> = { encoding: 'cbor'; format: string; maxBytes: number; decode(bytes: Uint8Array, maxBytes: number): Decoded<T>; encode(value: T): Uint8Array };
type AnyPayload = Json<z.ZodType> | Bytes | Cbor<EventBatch>;

interface TopicSpec<P extends AnyPayload> {
  direction: Direction;
  qos: 1;
  retain: boolean;
  payload: P;
}

const json = <S extends z.ZodType>(schema: S, maxBytes: number): Json<S> => ({ encoding: 'json', schema, maxBytes });
const bytes = (maxBytes: number): Bytes => ({ encoding: 'bytes', maxBytes });
const auditBatch: Cbor<EventBatch> = {
  encoding: 'cbor',
  format: 'keyhub-audit-batch/v1',
  maxBytes: 512 * 1024,
  decode: (b, max): BatchDecoded => decodeBatch(b, max),
  encode: (value) => new BatchEncoder().encode(value),
};

export const TOPICS = {
  // hub → cloud
  events: { direction: 'up', qos: 1, retain: false, payload: auditBatch },
  state: { direction: 'up', qos: 1, retain: true, payload: json(statePayload, 4096) },
  status: { direction: 'up', qos: 1, retain: true, payload: json(statusPayload, 512) },
  receipts: { direction: 'up', qos: 1, retain: false, payload: json(receiptPayload, 8192) },
  replies: { direction: 'up', qos: 1, retain: false, payload: json(replyPayload, 1024) },
  // cloud → hub
  grants: { direction: 'down', qos: 1, retain: false, payload: bytes(4096) },
  revocations: { direction: 'down', qos: 1, retain: false, payload: bytes(80 * 1024) },
  keys: { direction: 'down', qos: 1, retain: false, payload: bytes(20 * 1024) },
  commands: { direction: 'down', qos: 1, retain: false, payload: bytes(4096) },
  time: { direction: 'down', qos: 1, retain: false, payload: bytes(512) },
  acks: { direction: 'down', qos: 1, retain: false, payload: json(acksPayload, 512) },
} as const satisfies Record<string, TopicSpec<AnyPayload>>;

export type TopicName = keyof typeof TOPICS;
export type JsonTopic = { [K in TopicName]: (typeof TOPICS)[K]['payload'] extends Json<z.ZodType> ? K : never }[TopicName];
export type CborTopic = { [K in TopicName]: (typeof TOPICS)[K]['payload'] extends Cbor<unknown> ? K : never }[TopicName];
/** Topics whose payload has a schema or a codec (everything but the signed downlink envelopes). */
export type TypedTopic = JsonTopic | CborTopic;
export type BytesTopic = Exclude<TopicName, TypedTopic>;
export type PayloadOf<T extends TypedTopic> = (typeof TOPICS)[T]['payload'] extends Json<infer S> ? z.infer<S> : (typeof TOPICS)[T]['payload'] extends Cbor<infer V> ? V : never;
export type DownlinkKind = 'grants' | 'revocations' | 'keys' | 'commands' | 'time';

export const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];
export const UP_TOPICS = TOPIC_NAMES.filter((t) => TOPICS[t].direction === 'up');
export const DOWN_TOPICS = TOPIC_NAMES.filter((t) => TOPICS[t].direction === 'down');
export const DOWNLINK_KINDS: readonly DownlinkKind[] = ['grants', 'revocations', 'keys', 'commands', 'time'];

/**
 * Room for a PUBLISH's properties (MQTT 5 §3.3.2.3): response topic, correlation data and any user
 * properties the cloud adds. A publish whose properties need more is over the limit below.
 */
export const PUBLISH_PROPERTIES_ALLOWANCE = 1024;

/**
 * The largest PUBLISH packet a topic of `direction` can need, in bytes: MQTT 5 Maximum Packet Size
 * (§3.1.2.11.4 on the hub's CONNECT for what comes down; a broker's `max_packet_size` for what goes
 * up). Fixed header: 1 byte and a Remaining Length of at most 4 (§2.1.4); variable header: the
 * topic name as a UTF-8 string with its 2-byte length (§1.5.4) under the longest hub id, the 2-byte
 * packet identifier (QoS 1, §3.3.2.2), the properties length (a Variable Byte Integer of at most 4,
 * §1.5.5) and the properties allowance; then the contract's largest payload of that direction.
 */
export function maxPublishBytes(direction: Direction): number {
  const names = TOPIC_NAMES.filter((t) => TOPICS[t].direction === direction);
  const payload = Math.max(...names.map((t) => TOPICS[t].payload.maxBytes));
  const topic = Math.max(...names.map((t) => `${TOPIC_ROOT}/${'x'.repeat(64)}/${t}`.length));
  return 1 + 4 + 2 + topic + 2 + 4 + PUBLISH_PROPERTIES_ALLOWANCE + payload;
}

export function topicFor(hubId: string, name: TopicName): string {
  if (!HUB_ID_PATTERN.test(hubId)) throw new RangeError(`not a hub id: ${JSON.stringify(hubId)}`);
  return `${TOPIC_ROOT}/${hubId}/${name}`;
}

/** The filter matching one topic name for every hub (what the cloud subscribes to). */
export function everyHub(name: TopicName): string {
  return `${TOPIC_ROOT}/+/${name}`;
}

/** Everything of one hub: what its ACL grants it. */
export function hubSubtree(hubId: string): string {
  if (!HUB_ID_PATTERN.test(hubId)) throw new RangeError(`not a hub id: ${JSON.stringify(hubId)}`);
  return `${TOPIC_ROOT}/${hubId}/#`;
}

export function parseTopic(topic: string): { hubId: string; name: TopicName } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const [, , hubId, name] = parts as [string, string, string, string];
  if (!HUB_ID_PATTERN.test(hubId) || !Object.hasOwn(TOPICS, name)) return undefined;
  return { hubId, name: name as TopicName };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: string };

/**
 * Encodes a payload, a JSON one checked against the contract first (a hub never sends off
 * contract). A CBOR payload's encoder writes only its own shape; its decoder is the check, and
 * test/unit/audit-batch.test.ts holds the two together.
 */
export function encodePayload<T extends TypedTopic>(name: T, value: PayloadOf<T>): Uint8Array {
  const spec = TOPICS[name].payload as AnyPayload;
  if (spec.encoding === 'cbor') {
    const out = spec.encode(value as EventBatch);
    if (out.length > spec.maxBytes) throw new RangeError(`${name} payload is ${out.length} bytes, over ${spec.maxBytes}`);
    return out;
  }
  if (spec.encoding !== 'json') throw new TypeError(`${name} carries raw bytes`);
  const checked = spec.schema.safeParse(value);
  if (!checked.success) throw new TypeError(`${name} payload off contract: ${checked.error.issues[0]?.message ?? 'invalid'}`);
  const out = new TextEncoder().encode(JSON.stringify(checked.data));
  if (out.length > spec.maxBytes) throw new RangeError(`${name} payload is ${out.length} bytes, over ${spec.maxBytes}`);
  return out;
}

/** Decodes and checks a payload (JSON or CBOR, as the contract says); never throws. */
export function decodePayload<T extends TypedTopic>(name: T, bytes: Uint8Array): Decoded<PayloadOf<T>> {
  const spec = TOPICS[name].payload as AnyPayload;
  if (spec.encoding === 'bytes') return { ok: false, problem: `${name} carries raw bytes` };
  if (bytes.length > spec.maxBytes) return { ok: false, problem: `${bytes.length} bytes is over the ${spec.maxBytes}-byte cap of ${name}` };
  if (spec.encoding === 'cbor') return spec.decode(bytes, spec.maxBytes) as Decoded<PayloadOf<T>>;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { ok: false, problem: `not UTF-8 JSON: ${(err as Error).message}` };
  }
  const parsed = spec.schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { ok: false, problem: `${first?.path.join('.') || '(payload)'}: ${first?.message ?? 'invalid'}` };
  }
  return { ok: true, value: parsed.data as PayloadOf<T> };
}

/** Checks a raw downlink payload's size against the contract; the signature check comes after. */
export function checkBytesPayload(name: BytesTopic, bytes: Uint8Array): Decoded<Uint8Array> {
  const max = TOPICS[name].payload.maxBytes;
  if (bytes.length === 0) return { ok: false, problem: `empty ${name} payload` };
  if (bytes.length > max) return { ok: false, problem: `${bytes.length} bytes is over the ${max}-byte cap of ${name}` };
  return { ok: true, value: bytes };
}
