import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  checkBytesPayload,
  decodePayload,
  DOWN_TOPICS,
  encodePayload,
  everyHub,
  hubSubtree,
  maxPublishBytes,
  parseTopic,
  PUBLISH_PROPERTIES_ALLOWANCE,
  TOPIC_NAMES,
  topicFor,
  TOPICS,
  UP_TOPICS,
  type JsonTopic,
} from '../../protocols/mqtt/contract.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const JSON_TOPICS = TOPIC_NAMES.filter((t) => TOPICS[t].payload.encoding === 'json') as JsonTopic[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('the MQTT topic contract', () => {
  it('lists the topics of DESIGN.md with their direction, QoS 1, and retain only for state and status', () => {
    expect(UP_TOPICS.sort()).toEqual(['events', 'receipts', 'replies', 'state', 'status']);
    expect(DOWN_TOPICS.sort()).toEqual(['acks', 'commands', 'grants', 'keys', 'revocations', 'time']);
    for (const t of TOPIC_NAMES) expect(TOPICS[t].qos).toBe(1);
    expect(TOPIC_NAMES.filter((t) => TOPICS[t].retain).sort()).toEqual(['state', 'status']);
  });

  it('builds and parses keyhub/v1/{hubId}/{name}, and nothing else', () => {
    expect(topicFor('kh-0011', 'events')).toBe('keyhub/v1/kh-0011/events');
    expect(parseTopic('keyhub/v1/kh-0011/acks')).toEqual({ hubId: 'kh-0011', name: 'acks' });
    expect(everyHub('events')).toBe('keyhub/v1/+/events');
    expect(hubSubtree('kh-0011')).toBe('keyhub/v1/kh-0011/#');
    for (const bad of ['keyhub/v1/kh-0011/toString', 'keyhub/v2/kh-0011/acks', 'keyhub/v1/+/acks', 'keyhub/v1/kh-0011/acks/x', 'keyhub/v1/KH/acks']) {
      expect(parseTopic(bad)).toBeUndefined();
    }
    for (const bad of ['+', '#', 'a/b', '', 'KH-1', 'x'.repeat(65)]) expect(() => topicFor(bad, 'events')).toThrow(RangeError);
  });

  it('is the only place in hub/ and sim/ that spells a topic string', () => {
    const offenders = [...sourceFiles(join(ROOT, 'hub')), ...sourceFiles(join(ROOT, 'sim'))]
      .filter((f) => /['"`]keyhub\/v1/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('refuses to encode a payload off contract', () => {
    expect(() => encodePayload('acks', { through: -1, hash: 'x' } as never)).toThrow(/off contract/);
    expect(() => encodePayload('status', { status: 'maybe', hubId: 'kh-1' } as never)).toThrow(/off contract/);
    expect(new TextDecoder().decode(encodePayload('status', { status: 'online', hubId: 'kh-1' }))).toBe('{"status":"online","hubId":"kh-1"}');
  });

  it('round-trips every JSON payload it encodes', () => {
    const ack = { through: 5, hash: 'ab'.repeat(32) };
    expect(decodePayload('acks', encodePayload('acks', ack))).toEqual({ ok: true, value: ack });
  });

  it('refuses unknown fields, oversized and non-UTF-8 payloads', () => {
    expect(decodePayload('acks', new TextEncoder().encode('{"through":1,"hash":"' + 'ab'.repeat(32) + '","x":1}')).ok).toBe(false);
    expect(decodePayload('acks', new Uint8Array(600).fill(0x20)).ok).toBe(false);
    expect(decodePayload('status', Uint8Array.from([0x7b, 0xff, 0x7d])).ok).toBe(false);
    expect(checkBytesPayload('grants', new Uint8Array(0)).ok).toBe(false);
    expect(checkBytesPayload('time', new Uint8Array(513)).ok).toBe(false);
  });

  it('bounds every PUBLISH the contract allows, at its largest, by the Maximum Packet Size of its direction', () => {
    const hubId = 'a'.repeat(64);
    for (const direction of ['up', 'down'] as const) {
      const limit = maxPublishBytes(direction);
      for (const name of TOPIC_NAMES.filter((t) => TOPICS[t].direction === direction)) {
        // Response topic and correlation data filling the properties allowance exactly.
        const responseTopic = topicFor(hubId, 'replies');
        const correlationData = Buffer.alloc(PUBLISH_PROPERTIES_ALLOWANCE - 2 * 3 - responseTopic.length);
        const packet = generate(
          { cmd: 'publish', topic: topicFor(hubId, name), payload: Buffer.alloc(TOPICS[name].payload.maxBytes), qos: 1, messageId: 0xffff, retain: false, dup: false, properties: { responseTopic, correlationData } },
          { protocolVersion: 5 },
        );
        expect(packet.length, name).toBeLessThanOrEqual(limit);
      }
    }
    // What the README's broker config and the hub's CONNECT say.
    expect(maxPublishBytes('up')).toBe(525_408);
    expect(maxPublishBytes('down')).toBe(83_043);
  });

  it('fuzz: decoding arbitrary bytes or JSON on any topic never throws', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JSON_TOPICS), fc.oneof(fc.uint8Array({ maxLength: 700 }), fc.json().map((j) => new TextEncoder().encode(j))), (topic, bytes) => {
        const r = decodePayload(topic, bytes);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });
});
