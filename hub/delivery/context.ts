/**
 * What a visit works with (handed in by the delivery room's builder, module.ts) and the small rules
 * every phase of it shares: is the door open, what a failure's code is, what the bolt entry says
 * moved it, how a clip goes on record.
 */
import type { AuditEvent, VisitCause } from '../../protocols/audit/events.js';
import type { Signer } from '../../protocols/grant/ed25519.js';
import type { ClipRow } from '../camera/clip-store.js';
import type { Recorder } from '../camera/recorder.js';
import type { Lock } from '../lock/lock.js';
import type { ErrorCode} from '../system/errors.js';
import { HubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import type { NoticeSink } from './notices.js';
import type { StepStores } from './steps.js';
import type { Visit } from './visit.js';

export interface DeliverySettings {
  /** Recording goes on this long after the relock (config camera.postRollS). */
  postRollMs: number;
  /** A visit's recording stops after this long even if its door is still not secured. */
  maxRecordingMs: number;
  /** A relock that failed is tried again after `firstMs`, doubling up to `maxMs`, `attempts` times. */
  relockRetry: { firstMs: number; maxMs: number; attempts: number };
  /** With no visit, a door open this long is `door ajar` (config delivery.doorAjarS). */
  doorAjarMs: number;
}

export const DEFAULT_SETTINGS: DeliverySettings = {
  postRollMs: 10_000,
  maxRecordingMs: 600_000,
  relockRetry: { firstMs: 5_000, maxMs: 300_000, attempts: 8 },
  doorAjarMs: 300_000,
};

export interface DoorContext extends StepStores {
  log: Logger;
  lock: Lock;
  /** Absent: no camera on this hub (deliveries are then refused before the door opens). */
  recorder: Pick<Recorder, 'start'> | undefined;
  clips: { byVisit(visitId: string): ClipRow[] } | undefined;
  cameraHealthy(): boolean;
  hubId: string;
  hubKey: Signer;
  settings: DeliverySettings;
  notify: NoticeSink;
  /** To the cloud's `receipts` (best effort: the courier got it on its own path). */
  publishReceipt(receipt: Uint8Array): void;
}

/** Kinds that bring a stranger into the home: recorded, or not let in (as decide() requires the camera). */
export function needsCamera(kind: string): boolean {
  return kind === 'delivery' || kind === 'service';
}

/** The door as the lock's sensor reports it; a lock without one reads `unknown`, never `open`. */
export function doorOpen(ctx: Pick<DoorContext, 'lock'>): boolean {
  return ctx.lock.state().door === 'open';
}

/** The numbered code of a lock or camera failure; anything else leaves the bolt unconfirmed. */
export function codeOf(err: unknown, fallback: ErrorCode): ErrorCode {
  return err instanceof HubError ? err.code : fallback;
}

export function detailOf(err: unknown): string {
  return String((err as Error)?.message ?? err).slice(0, 200);
}

/** What the bolt entry of a relock names as its reason. */
export function relockedBy(cause: VisitCause): Extract<AuditEvent, { type: 'bolt' }>['body']['by'] {
  switch (cause) {
    case 'courier':
    case 'unlock-failed':
      return 'grant';
    case 'camera-stall':
      return 'camera-stall';
    case 'boot-recovery':
      return 'boot-recovery';
    case 'shutdown':
      return 'shutdown';
    default:
      return 'relock-timer';
  }
}

export function clipEntries(visit: Visit, rows: readonly ClipRow[]): AuditEvent[] {
  return rows.map((row) => ({
    type: 'clip',
    body: {
      clipId: row.id,
      state: row.state === 'complete' ? 'finished' : 'recovered',
      visitId: visit.id,
      ...(row.sha256 === null ? {} : { sha256: row.sha256 }),
      bytes: row.bytes,
    },
  }));
}

/**
 * Stops the visit's recording (once) and returns the `clip` entries of its clips. A recording whose
 * writing failed still has its clips indexed as they are (recovered): those are what is recorded.
 */
export async function stopRecording(ctx: DoorContext, visit: Visit): Promise<AuditEvent[]> {
  const recording = visit.recording;
  if (recording === undefined) return [];
  visit.recording = undefined;
  try {
    const { clips } = await recording.stop();
    return clipEntries(visit, clips);
  } catch (err) {
    ctx.log.error({ visitId: visit.id, err: detailOf(err) }, 'the visit recording failed: its clips are kept as far as they were written');
    return clipEntries(visit, ctx.clips?.byVisit(visit.id) ?? []);
  }
}
