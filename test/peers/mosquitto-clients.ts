/**
 * Debian's mosquitto-clients (mosquitto_pub, mosquitto_sub) as foreign MQTT 5 clients of the peer
 * tests' mosquitto: what a cloud operator's own tooling would send, with TLS client certificates,
 * correlation data and response topic as MQTT 5 properties (`-D PUBLISH …`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PemPair } from '../../hub/cloud/pki.js';
import type { MosquittoBroker } from './mosquitto-broker.js';

export const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub';
export const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';

export interface ToolIdentity {
  certFile: string;
  keyFile: string;
}

/** Writes a client certificate and key where the clients can read them. */
export function writeIdentity(dir: string, name: string, pair: PemPair): ToolIdentity {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key, { mode: 0o600 });
  return { certFile, keyFile };
}

function tlsArgs(broker: MosquittoBroker, id: ToolIdentity): string[] {
  return ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', broker.caFile, '--cert', id.certFile, '--key', id.keyFile, '-V', 'mqttv5'];
}

export interface PubOptions {
  topic: string;
  /** The payload: a file's bytes (`-f`), or one message per line of text (`-l`, from stdin). */
  file?: string;
  lines?: readonly string[];
  correlation?: string;
  responseTopic?: string;
}

/** Runs mosquitto_pub at QoS 1 to completion. */
export function mosquittoPub(broker: MosquittoBroker, id: ToolIdentity, o: PubOptions): Promise<{ code: number | null; stderr: string }> {
  const args = [...tlsArgs(broker, id), '-q', '1', '-t', o.topic];
  if (o.correlation !== undefined) args.push('-D', 'PUBLISH', 'correlation-data', o.correlation);
  if (o.responseTopic !== undefined) args.push('-D', 'PUBLISH', 'response-topic', o.responseTopic);
  if (o.file !== undefined) args.push('-f', o.file);
  else args.push('-l');
  const child = spawn(MOSQUITTO_PUB, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (o.lines !== undefined) child.stdin.end(o.lines.map((l) => `${l}\n`).join(''));
  else child.stdin.end();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

/**
 * mosquitto_sub on some topics, every message kept as `topic payload` (stale retained messages,
 * those already held when it subscribed, are left out: `-R`).
 */
export class MosquittoSub {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('close', () => resolve()));
    createInterface({ input: child.stdout! }).on('line', (line) => this.lines.push(line));
  }

  static start(broker: MosquittoBroker, id: ToolIdentity, topics: readonly string[]): MosquittoSub {
    const args = [...tlsArgs(broker, id), '-q', '1', '-R', '-F', '%t %p', ...topics.flatMap((t) => ['-t', t])];
    return new MosquittoSub(spawn(MOSQUITTO_SUB, args, { stdio: ['ignore', 'pipe', 'ignore'] }));
  }

  /** The payloads received on `topic`, in order. */
  on(topic: string): string[] {
    return this.lines.filter((l) => l.startsWith(`${topic} `)).map((l) => l.slice(topic.length + 1));
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
    await this.#exited;
  }
}
