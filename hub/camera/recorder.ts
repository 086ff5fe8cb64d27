import { closeSync, openSync, writeSync } from 'node:fs';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import type { ClipRow, ClipStore, QuotaOutcome } from './clip-store.js';
import { Fmp4Muxer } from './fmp4.js';
import type { Frame } from './frame.js';

/** What the recorder needs from the camera (hub/camera/camera.ts implements it). */
export interface CameraFeed {
  healthy(): boolean;
  preRoll(): Frame[];
  onFrame(listener: (frame: Frame) => void): () => void;
}

export interface RecorderOptions {
  camera: CameraFeed;
  clips: ClipStore;
  clock: Clock;
  log: Logger;
  /** Frames waiting for the disk; beyond this the recording fails loudly rather than eat memory. */
  maxQueueBytes?: number;
  onQuota?: (outcome: QuotaOutcome) => void;
}

export interface Recording {
  readonly id: string;
  /** Resolves with the closed clip; rejects (CAMERA_RECORDING_FAILED) if writing failed. */
  readonly done: Promise<ClipRow>;
  /** Stops taking frames, writes the last fragment, closes and indexes the clip. */
  stop(): Promise<ClipRow>;
}

/**
 * Records visits: a clip starts with the pre-roll ring (from its oldest keyframe) and continues
 * live until stopped. Frames are queued, never awaited on the camera's path, so a slow disk cannot
 * slow the stream; a queue that outgrows its bound fails the recording, and that failure surfaces.
 */
export class Recorder {
  readonly #opts: RecorderOptions;

  constructor(options: RecorderOptions) {
    this.#opts = options;
  }

  /**
   * Starts a clip. Refuses (CAMERA_NOT_STREAMING) when the camera is not healthy: no camera, no
   * entry. Resolves once the pre-roll is written (all its GOPs but the newest, which closes when
   * the next keyframe arrives).
   */
  async start(visitId?: string): Promise<Recording> {
    const { camera, clips, clock, log } = this.#opts;
    if (!camera.healthy()) throw new HubError(ErrorCode.CAMERA_NOT_STREAMING, 'the camera is not streaming; refusing to start a recording');
    const preRoll = camera.preRoll();
    const { id, partPath } = clips.begin(visitId, clock.now() - Math.round(spanS(preRoll) * 1000));
    const fd = openSync(partPath, 'wx', 0o600);
    let written = 0;
    const muxer = new Fmp4Muxer((data, position) => {
      // Fragments are written strictly in order, one call each; positional writes keep that explicit.
      writeSync(fd, data, 0, data.length, position);
      written = Math.max(written, position + data.length);
    });
    const maxQueue = this.#opts.maxQueueBytes ?? 64 * 1024 * 1024;
    let queued = 0;
    let failure: HubError | undefined;
    let chain: Promise<void> = Promise.resolve();
    const enqueue = (frame: Frame): void => {
      if (failure !== undefined) return;
      queued += frame.au.bytes;
      if (queued > maxQueue) {
        failure = new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${id}: ${queued} bytes waiting for the disk (bound ${maxQueue})`);
        return;
      }
      chain = chain.then(async () => {
        queued -= frame.au.bytes;
        if (failure === undefined) await muxer.add(frame);
      });
      chain = chain.catch((err: unknown) => {
        failure ??= new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${id}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      });
    };
    for (const frame of preRoll) enqueue(frame);
    const preRollWritten = chain;
    const unsubscribe = camera.onFrame(enqueue);
    // "Only once the recorder is writing does the hub unlock": the pre-roll's whole GOPs are on
    // disk as fragments before start() resolves, or start() fails.
    await preRollWritten;
    if (failure !== undefined) {
      unsubscribe();
      closeSync(fd);
      throw failure;
    }
    log.info({ clip: id, visitId, preRollFrames: preRoll.length, preRollS: spanS(preRoll) }, 'recording started');

    let finished: Promise<ClipRow> | undefined;
    const stop = (): Promise<ClipRow> => {
      finished ??= (async () => {
        unsubscribe();
        await chain;
        try {
          if (failure === undefined) await muxer.finish();
          else await muxer.cancel().catch(() => undefined);
        } catch (err) {
          failure ??= new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${id}: finishing failed: ${(err as Error).message}`, { cause: err });
        } finally {
          closeSync(fd);
        }
        // Even a failed clip is kept up to its last whole fragment: it may be all the evidence there is.
        const row = clips.complete(id, clock.now(), failure === undefined ? 'complete' : 'recovered');
        log.info({ clip: id, bytes: row.bytes, written }, 'recording closed');
        this.#opts.onQuota?.(clips.enforceQuota());
        if (failure !== undefined) throw failure;
        return row;
      })();
      return finished;
    };
    let resolveDone!: (row: ClipRow) => void;
    let rejectDone!: (err: unknown) => void;
    const done = new Promise<ClipRow>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(() => undefined); // observed through stop() too; never an unhandled rejection
    return {
      id,
      done,
      stop: () => {
        const p = stop();
        p.then(resolveDone, rejectDone);
        return p;
      },
    };
  }
}

function spanS(frames: readonly Frame[]): number {
  const first = frames[0];
  const last = frames.at(-1);
  return first === undefined || last === undefined ? 0 : last.time - first.time;
}
