import type { AuditEvent } from '../../protocols/audit/events.js';
import { ChainEncoder, GENESIS_HASH } from '../../protocols/audit/chain.js';
import { hash } from 'node:crypto';
const N = 1000000;
const clip = (i: number): AuditEvent => ({ type: 'clip', body: { clipId: `clip-${String(i % 1_000_000).padStart(6, '0')}`, state: 'finished', visitId: 'cd'.repeat(8) } });
const evs = Array.from({ length: 1000 }, (_, i) => clip(i));
const enc = new ChainEncoder(); let h: Uint8Array = GENESIS_HASH;
for (let r = 0; r < 3; r++) {
let t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) h = enc.chain(h, { seq: i + 1, wallMs: 1.7e12, monoMs: 5, event: evs[i % 1000]! }).hash;
console.log('chain', Number(process.hrtime.bigint() - t0) / N);
const b = Buffer.alloc(130, 3);
t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) hash('sha256', b, 'latin1');
console.log('hash only', Number(process.hrtime.bigint() - t0) / N);
}
