import { ErrorCode, HubError } from '../system/errors.js';
import { Fmp4Muxer } from './fmp4.js';
import type { Frame } from './frame.js';

/** What live view needs from the camera. */
export interface LiveSource {
  latestGop(): Frame[];
  onFrame(listener: (frame: Frame) => void): () => void;
}

export interface LiveSegment {
  /** `init`: ftyp+moov, first, and again when the camera's parameter sets change. `fragment`: one moof+mdat (one GOP). */
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
  let failure: HubError | undefined;
  let wake: (() => void) | undefined;
  let unsubscribe: () => void = () => {};
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };

  // One timeline for the whole view (a SourceBuffer wants it continuous); a new init segment
  // whenever the camera's parameter sets change, which MSE accepts mid-stream.
  const muxer = new Fmp4Muxer(
    {
      init: (segment) => push({ kind: 'init', data: segment }),
      fragment: (head, samples, bytes) => {
        // A SourceBuffer takes one contiguous buffer per append: the one copy a viewer costs.
        const data = new Uint8Array(bytes);
        data.set(head, 0);
        let o = head.length;
        for (const s of samples) {
          data.set(s, o);
          o += s.length;
        }
        push({ kind: 'fragment', data });
      },
    },
    { restartOnNewInit: false },
  );

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

  const feed = (frame: Frame): void => {
    if (failure !== undefined) return;
    try {
      muxer.add(frame);
    } catch (err) {
      failure = new HubError(ErrorCode.CAMERA_RECORDING_FAILED, `live muxer: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      unsubscribe();
      notify();
    }
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
    muxer.cancel();
  }
}
