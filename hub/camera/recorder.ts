import { parseSps } from '../../protocols/rtsp/h264-sps.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import { ClipFile } from './clip-file.js';
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
  /** Bytes waiting for the disk (and held for the open GOP); beyond this the recording fails loudly rather than eat memory. */
  maxQueueBytes?: number;
  onQuota?: (outcome: QuotaOutcome) => void;
}

/** A visit's video: usually one clip; one more after each mid-visit change of picture format. */
export interface RecordedVisit {
  readonly clips: readonly [ClipRow, ...ClipRow[]];
}

/** A clip as written at a moment of the visit: its id, its first `bytes` bytes and their SHA-256. */
export interface ClipMark {
  readonly clipId: string;
  readonly bytes: number;
  readonly sha256: Uint8Array;
}

export interface Recording {
  /** The first clip's id. */
  readonly id: string;
  /** Ids of this recording's clips so far, in order. */
  clipIds(): readonly string[];
  /**
   * The clip being written, as it stands on disk once what is queued is written: whole GOPs up to
   * the last keyframe (the GOP in progress follows). What a receipt vouches for at the relock.
   * Rejects (CAMERA_RECORDING_FAILED) when the clip's writing failed.
   */
  mark(): Promise<ClipMark>;
  /** Resolves with the closed clips; rejects (CAMERA_RECORDING_FAILED) if writing failed. */
  readonly done: Promise<RecordedVisit>;
  /** Stops taking frames, writes the last fragment, closes and indexes the clips. */
  stop(): Promise<RecordedVisit>;
}

interface Part {
  readonly id: string;
  readonly file: ClipFile;
  /** Set when the part was closed early (a format change); stop() waits for it. */
  closing: Promise<ClipRow> | undefined;
}

/**
 * Records visits: a clip starts with the pre-roll ring (from its oldest keyframe) and continues
 * live until stopped. Each picture is muxed synchronously on the camera's path (no promise, no
 * copy: the samples are the depacketizer's bytes) and each GOP goes to the file as one queued
 * writev, so a slow disk cannot slow the stream; a queue that outgrows its bound fails the
 * recording, and that failure surfaces.
 *
 * When a keyframe brings new parameter sets (the camera changed resolution), the clip is closed
 * at the last GOP of the old ones and the visit continues in a new clip file with its own init
 * segment: an `avcC` describes one SPS, and a player given pictures of another decodes garbage.
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
    const maxQueue = this.#opts.maxQueueBytes ?? 64 * 1024 * 1024;
    const parts: Part[] = [];
    let failure: HubError | undefined;
    const fail = (err: unknown): void => {
      failure ??= err instanceof HubError ? err : new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${parts.at(-1)?.id ?? '?'}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    };
    const open = (startedAtMs: number): Part => {
      const { id, partPath } = clips.begin(visitId, startedAtMs);
      const part: Part = { id, file: new ClipFile({ path: partPath, maxQueueBytes: maxQueue, label: `clip ${id}` }), closing: undefined };
      parts.push(part);
      return part;
    };
    const close = async (part: Part, state: 'complete' | 'recovered'): Promise<ClipRow> => {
      try {
        await part.file.close();
      } catch (err) {
        fail(err);
        state = 'recovered';
      }
      // Even a failed clip is kept up to its last whole fragment: it may be all the evidence there is.
      try {
        return clips.complete(part.id, clock.now(), state);
      } catch (err) {
        // The index could not be updated (disk full, I/O error): the recording fails where it is
        // seen; the file stays a .part that boot-time recovery trims and indexes.
        const error = new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${part.id}: closing failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        fail(error);
        throw error;
      }
    };
    /** A part's closing, observed at once: stop() collects it (a mid-visit close may fail long before). */
    const closing = (part: Part, state: 'complete' | 'recovered'): Promise<ClipRow> => {
      const p = close(part, state);
      p.catch(() => undefined);
      return p;
    };

    let current = open(clock.now() - Math.round(spanS(preRoll) * 1000));
    let inits = 0;
    // The frame being muxed and the newest seen: a clip opened during the pre-roll replay starts
    // when its first picture was taken, not when it is written.
    let adding: Frame | undefined;
    let newest = preRoll.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
    const muxer = new Fmp4Muxer({
      init: (segment, sps) => {
        if (inits++ > 0) {
          // New parameter sets: this clip ends at the GOP just written; the visit goes on in the next.
          const previous = current;
          previous.closing = closing(previous, 'complete');
          current = open(clock.now() - (adding === undefined ? 0 : Math.round((newest - adding.time) * 1000)));
          log.info({ clip: previous.id, next: current.id, visitId, picture: describe(sps) }, 'picture format changed; visit continues in a new clip');
        }
        current.file.append([segment], segment.length);
      },
      fragment: (head, samples, bytes) => {
        samples.unshift(head);
        current.file.append(samples, bytes);
        if (current.file.failure !== undefined) fail(current.file.failure);
      },
    });
    const take = (frame: Frame): void => {
      if (failure !== undefined) return;
      adding = frame;
      if (frame.time > newest) newest = frame.time;
      try {
        muxer.add(frame);
        if (muxer.heldBytes > maxQueue) throw new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `clip ${current.id}: a GOP of more than ${maxQueue} bytes`);
      } catch (err) {
        fail(err);
        muxer.cancel();
      }
    };
    for (const frame of preRoll) take(frame);
    const unsubscribe = camera.onFrame(take);
    // "Only once the recorder is writing does the hub unlock": the pre-roll's whole GOPs are on
    // disk as fragments before start() resolves, or start() fails.
    // Every part: a format change inside the pre-roll closed one already, and its close may fail.
    for (const part of [...parts]) {
      try {
        await (part.closing ?? part.file.flushed());
      } catch (err) {
        fail(err);
      }
    }
    if (failure !== undefined) {
      unsubscribe();
      muxer.cancel();
      // Indexed as what it is (whatever whole fragments made it to disk), never left 'recording'.
      await Promise.allSettled(parts.map((p) => (p.closing ??= closing(p, 'recovered'))));
      throw failure;
    }
    log.info({ clip: current.id, visitId, preRollFrames: preRoll.length, preRollS: spanS(preRoll) }, 'recording started');

    let finished: Promise<RecordedVisit> | undefined;
    const stop = (): Promise<RecordedVisit> => {
      finished ??= (async () => {
        unsubscribe();
        if (failure === undefined) {
          try {
            muxer.finish();
          } catch (err) {
            fail(err);
          }
        } else {
          muxer.cancel();
        }
        const last = current;
        last.closing ??= closing(last, failure === undefined ? 'complete' : 'recovered');
        // All of them, whatever fails: a failed close sets `failure`, the others still get indexed.
        const settled = await Promise.allSettled(parts.map((part) => (part.closing ??= closing(part, 'recovered'))));
        const rows = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        log.info({ clips: rows.map((r) => r.id), bytes: rows.reduce((s, r) => s + r.bytes, 0) }, 'recording closed');
        this.#opts.onQuota?.(clips.enforceQuota());
        if (failure !== undefined) throw failure;
        const [first, ...rest] = rows;
        if (first === undefined) throw new HubError(ErrorCode.CAMERA_RECORDING_FAILED, 'a recording without a clip');
        return { clips: [first, ...rest] };
      })();
      return finished;
    };
    let resolveDone!: (visit: RecordedVisit) => void;
    let rejectDone!: (err: unknown) => void;
    const done = new Promise<RecordedVisit>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(() => undefined); // observed through stop() too; never an unhandled rejection
    return {
      id: parts[0]?.id ?? current.id,
      clipIds: () => parts.map((p) => p.id),
      mark: async () => {
        const part = current;
        if (failure !== undefined) throw failure;
        await part.file.flushed();
        return { clipId: part.id, ...part.file.writtenDigest() };
      },
      done,
      stop: () => {
        const p = stop();
        p.then(resolveDone, rejectDone);
        return p;
      },
    };
  }
}

function describe(sps: Uint8Array): string {
  try {
    const { width, height } = parseSps(sps);
    return `${width}x${height}`;
  } catch {
    return 'unreadable SPS';
  }
}

function spanS(frames: readonly Frame[]): number {
  const first = frames[0];
  const last = frames.at(-1);
  return first === undefined || last === undefined ? 0 : last.time - first.time;
}
