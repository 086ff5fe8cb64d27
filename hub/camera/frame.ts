import type { AccessUnit } from '../../protocols/rtsp/h264-depacketizer.js';

/** One picture as the hub keeps it: never decoded, timed twice. */
export interface Frame {
  readonly au: AccessUnit;
  /** Media time in seconds: RTP time over the clock rate, made continuous across reconnects. */
  readonly time: number;
  /** When it arrived, on the hub's monotonic clock (ms): liveness is judged on this, never on RTP time. */
  readonly receivedAt: number;
}
