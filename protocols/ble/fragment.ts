/**
 * GATT fragmentation. An ATT write or notification carries at most ATT_MTU − 3 bytes (Bluetooth
 * Core Spec v5.4, Vol 3, Part F, 3.4.5.1 / 3.4.7.1); the default ATT_MTU is 23, so a frame is split
 * into chunks, each led by one header byte:
 *
 *   bit 7     last chunk of the frame
 *   bits 0–6  chunk index within the frame (0..127)
 *
 * The receiver restarts on index 0, drops a frame whose chunks arrive out of order, and never
 * buffers more than MAX_FRAME_BYTES, so a peer sending garbage costs bounded memory.
 */
import { MAX_FRAME_BYTES } from './frame.js';

export const DEFAULT_ATT_MTU = 23;
/** ATT header of a Write Request / Handle Value Notification: opcode (1) + handle (2). */
export const ATT_HEADER_BYTES = 3;
const LAST = 0x80;
const MAX_CHUNKS = 128;

/** Splits `frame` into chunks that fit an ATT payload of `mtu − 3` bytes. */
export function fragment(frame: Uint8Array, mtu: number): Uint8Array[] {
  const room = Math.floor(mtu) - ATT_HEADER_BYTES - 1;
  if (!(room >= 1)) throw new RangeError(`ATT MTU ${mtu} leaves no room for data`);
  const count = Math.max(1, Math.ceil(frame.length / room));
  if (count > MAX_CHUNKS) throw new RangeError(`a ${frame.length}-byte frame needs ${count} chunks at MTU ${mtu} (max ${MAX_CHUNKS})`);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = frame.subarray(i * room, (i + 1) * room);
    const chunk = new Uint8Array(part.length + 1);
    chunk[0] = i | (i === count - 1 ? LAST : 0);
    chunk.set(part, 1);
    chunks.push(chunk);
  }
  return chunks;
}

export type ReassemblyResult =
  | { kind: 'frame'; frame: Uint8Array }
  | { kind: 'partial' }
  | { kind: 'dropped'; reason: 'empty' | 'sequence' | 'oversize' };

/** Collects chunks of one direction of one link back into frames. */
export class Reassembler {
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #expected = 0;

  push(chunk: Uint8Array): ReassemblyResult {
    const header = chunk[0];
    if (header === undefined) return this.#drop('empty');
    const index = header & ~LAST;
    if (index === 0) this.#reset();
    else if (index !== this.#expected) return this.#drop('sequence');
    const data = chunk.subarray(1);
    if (this.#bytes + data.length > MAX_FRAME_BYTES) return this.#drop('oversize');
    this.#parts.push(data.slice());
    this.#bytes += data.length;
    this.#expected = index + 1;
    if ((header & LAST) === 0) return { kind: 'partial' };
    const frame = new Uint8Array(this.#bytes);
    let at = 0;
    for (const part of this.#parts) {
      frame.set(part, at);
      at += part.length;
    }
    this.#reset();
    return { kind: 'frame', frame };
  }

  /** Bytes held for an incomplete frame. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  #reset(): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#expected = 0;
  }

  #drop(reason: 'empty' | 'sequence' | 'oversize'): ReassemblyResult {
    this.#reset();
    return { kind: 'dropped', reason };
  }
}
