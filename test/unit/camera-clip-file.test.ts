import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClipFile } from '../../hub/camera/clip-file.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { tempDir } from '../support/temp-dir.js';

let dir: { path: string; cleanup(): void } | undefined;
afterEach(() => {
  dir?.cleanup();
  dir = undefined;
});

const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('a clip file being written', () => {
  it('writes appended buffers in order, one drain at a time, and flushed() waits for all of them', async () => {
    dir = tempDir('keyhub-clipfile-');
    const path = join(dir.path, 'a.mp4.part');
    const file = new ClipFile({ path, maxQueueBytes: 1e6, label: 'clip a' });
    const parts = Array.from({ length: 50 }, (_, i) => bytes(100 + i, i));
    for (let i = 0; i < parts.length; i += 5) file.append(parts.slice(i, i + 5), parts.slice(i, i + 5).reduce((s, p) => s + p.length, 0));
    expect(file.size).toBe(parts.reduce((s, p) => s + p.length, 0));
    await file.flushed();
    expect(file.queuedBytes).toBe(0);
    await file.close();
    expect(Buffer.from(readFileSync(path)).equals(Buffer.concat(parts))).toBe(true);
  });

  it('refuses to reuse an existing file (two recordings never share one)', () => {
    dir = tempDir('keyhub-clipfile-');
    const path = join(dir.path, 'a.mp4.part');
    new ClipFile({ path, maxQueueBytes: 10, label: 'clip a' });
    expect(() => new ClipFile({ path, maxQueueBytes: 10, label: 'clip a' })).toThrow(/EEXIST/);
  });

  it('fails loudly when more waits for the disk than its bound: flushed() and close() reject with CAMERA_RECORDING_FAILED', async () => {
    dir = tempDir('keyhub-clipfile-');
    const file = new ClipFile({ path: join(dir.path, 'b.mp4.part'), maxQueueBytes: 1000, label: 'clip b' });
    file.append([bytes(600, 1)], 600);
    file.append([bytes(600, 2)], 600); // the first is still in flight: 1200 > 1000
    expect(file.failure?.code).toBe(ErrorCode.CAMERA_RECORDING_FAILED);
    expect(file.failure?.message).toMatch(/clip b: 1200 bytes waiting for the disk/);
    await expect(file.flushed()).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_RECORDING_FAILED));
    await expect(file.close()).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_RECORDING_FAILED));
  });

  it('closes only once the write in flight at the failure has returned: the file does not change after close(), and nothing counts below zero', async () => {
    dir = tempDir('keyhub-clipfile-');
    const path = join(dir.path, 'c.mp4.part');
    const big = 32 * 1024 * 1024; // long enough to still be in the thread pool when close() is called
    const file = new ClipFile({ path, maxQueueBytes: big + 1, label: 'clip c' });
    file.append([bytes(big, 3)], big);
    file.append([bytes(16, 4)], 16); // over the bound while the first is in flight
    await expect(file.close()).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_RECORDING_FAILED));
    const size = statSync(path).size;
    expect(size).toBe(big); // the write in flight landed whole before the descriptor was closed
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(statSync(path).size).toBe(size);
    expect(file.queuedBytes).toBe(0);
  });
});
