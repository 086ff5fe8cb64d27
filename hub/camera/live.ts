import { ErrorCode, HubError } from '../system/errors.js';
import { Fmp4Muxer } from './fmp4.js';
import type { Frame } from './frame.js';
import { topLevelBoxes } from './mp4-boxes.js';

/** What live view needs from the camera. */
export interface LiveSource {
  latestGop(): Frame[];
  onFrame(listener: (frame: Frame) => void): () => void;
}

export interface LiveSegment {
  /** `init`: ftyp+moov, once, first. `fragment`: one moof+mdat (one GOP). */
  readonly kind: 'init' | 'fragment';
  readonly data: Uint8Array;
}

export interface LiveOptions {
  /** Bytes a viewer may leave unread before it is dropped (default 8 MB, a few GOPs at 4 Mbit/s). */
  maxBacklogBytes?: number;
  signal?: AbortSignal;
}

/**
 * A live view for a browser's Media Source Extensions: an fMP4 init segment, then fragments from
 * the latest keyframe on. Every viewer has its own muxer fed from the one camera session, so
 * viewers share the RTSP stream; a viewer that falls behind is dropped (its iterator throws
 * CAMERA_VIEWER_TOO_SLOW) and never holds up the camera or the recorder.
 */
export async function* live(source: LiveSource, options: LiveOptions = {}): AsyncGenerator<LiveSegment> {
  const maxBacklog = options.maxBacklogBytes ?? 8 * 1024 * 1024;
  const ready: LiveSegment[] = [];
  let backlog = 0;
  let pending = new Uint8Array(0);
  let sentInit = false;
  let failure: HubError | undefined;
  let wake: (() => void) | undefined;
  let unsubscribe: () => void = () => {};
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };

  const muxer = new Fmp4Muxer((data) => {
    // Writes arrive in file order; cut them into whole top-level boxes.
    const merged = new Uint8Array(pending.length + data.length);
    merged.set(pending, 0);
    merged.set(data, pending.length);
    let used = 0;
    const boxes = topLevelBoxes(merged);
    for (let i = 0; i < boxes.length; i++) {
      const box = boxes[i];
      if (box === undefined) break;
      if (!sentInit && box.type === 'ftyp') {
        const moov = boxes[i + 1];
        if (moov?.type !== 'moov') break;
        push({ kind: 'init', data: merged.slice(box.start, moov.start + moov.size) });
        sentInit = true;
        used = moov.start + moov.size;
        i++;
      } else if (box.type === 'moof') {
        const mdat = boxes[i + 1];
        if (mdat?.type !== 'mdat') break;
        push({ kind: 'fragment', data: merged.slice(box.start, mdat.start + mdat.size) });
        used = mdat.start + mdat.size;
        i++;
      } else {
        used = box.start + box.size; // mfra and the like: not for MSE
      }
    }
    pending = merged.slice(used);
  });

  function push(segment: LiveSegment): void {
    ready.push(segment);
    backlog += segment.data.length;
    if (backlog > maxBacklog && failure === undefined) {
      failure = new HubError(ErrorCode.CAMERA_VIEWER_TOO_SLOW, `live viewer left ${backlog} bytes unread (bound ${maxBacklog}); dropped`);
      // Free what it did not read now; its next read throws.
      ready.length = 0;
      backlog = 0;
      unsubscribe();
    }
    notify();
  }

  let chain: Promise<void> = Promise.resolve();
  const feed = (frame: Frame): void => {
    if (failure !== undefined) return;
    chain = chain.then(() => muxer.add(frame)).catch((err: unknown) => {
      failure ??= new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `live muxer: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      notify();
    });
  };
  for (const frame of source.latestGop()) feed(frame);
  unsubscribe = source.onFrame(feed);
  const onAbort = (): void => notify();
  options.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const next = ready.shift();
      if (next !== undefined) {
        backlog -= next.data.length;
        yield next;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (options.signal?.aborted) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    unsubscribe();
    options.signal?.removeEventListener('abort', onAbort);
    await chain;
    await muxer.cancel().catch(() => undefined);
  }
}
