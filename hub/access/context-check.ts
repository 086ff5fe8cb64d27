/**
 * The numbers a decision is measured against come from the hub itself (its clock, its config, its
 * radio), not from the signed messages, and they are checked as hard as the messages are. A NaN
 * compares false with everything, so `NaN < floor` would pass a check written as "refuse when
 * below": every number here must be finite and inside the range it has in the real world, or
 * decide() refuses before reading anything else.
 */
import { MAX_TIME_MS } from '../../protocols/cbor/fields.js';
import { MAX_CLOCK_SKEW_S } from '../config/schema.js';

/**
 * BLE RSSI as an HCI controller reports it: −127..+20 dBm (Bluetooth Core Specification v5.4,
 * Vol 4, Part E, §7.5.4, HCI_Read_RSSI; 127 means "not available" in LE advertising reports).
 */
export const RSSI_MIN_DBM = -127;
export const RSSI_MAX_DBM = 20;
/** The largest radius and accuracy the hub deals in, as a presentation's accuracyM (100 km). */
export const RADIUS_MAX_M = 100_000;

/** NaN fails both comparisons and ±Infinity one of them (the bounds are finite): no isFinite needed. */
const inRange = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && v >= min && v <= max;
const integerIn = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && inRange(v, min, max);

/** The fields of a DecideContext this file checks (decide.ts owns the type). */
export interface CheckedContext {
  now: number;
  deliveriesPaused: boolean;
  cameraHealthy: boolean;
  policy: { clockSkewMs: number; rssiFloorDbm: number; home?: { latE7: number; lonE7: number; radiusM: number } };
}

/** Undefined when every number and flag is usable, else what is wrong (one line). */
export function contextProblem(ctx: CheckedContext): string | undefined {
  if (!integerIn(ctx.now, 0, MAX_TIME_MS)) return `the hub's clock reads ${String(ctx.now)}, not a time in ms since the epoch`;
  if (typeof ctx.deliveriesPaused !== 'boolean' || typeof ctx.cameraHealthy !== 'boolean') return 'deliveriesPaused and cameraHealthy must be true or false';
  const { policy } = ctx;
  if (!integerIn(policy.clockSkewMs, 0, MAX_CLOCK_SKEW_S * 1000)) return `policy clockSkewMs ${String(policy.clockSkewMs)} is not 0..${MAX_CLOCK_SKEW_S * 1000}`;
  if (!inRange(policy.rssiFloorDbm, RSSI_MIN_DBM, RSSI_MAX_DBM)) return `policy rssiFloorDbm ${String(policy.rssiFloorDbm)} is not ${RSSI_MIN_DBM}..${RSSI_MAX_DBM}`;
  const home = policy.home;
  if (home !== undefined) {
    if (!integerIn(home.latE7, -900_000_000, 900_000_000) || !integerIn(home.lonE7, -1_800_000_000, 1_800_000_000)) {
      return `policy home ${String(home.latE7)}, ${String(home.lonE7)} is not a WGS 84 position in 1e-7 degrees`;
    }
    if (!inRange(home.radiusM, 0, RADIUS_MAX_M)) return `policy home radiusM ${String(home.radiusM)} is not 0..${RADIUS_MAX_M}`;
  }
  return undefined;
}

/** Is a measured RSSI a measurement at all? (undefined, NaN, ±Infinity and 127 are not.) */
export function isRssi(v: number | undefined): v is number {
  return inRange(v, RSSI_MIN_DBM, RSSI_MAX_DBM);
}
