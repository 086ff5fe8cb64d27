/**
 * What a slot read back from the lock means next to what the hub last confirmed there. Pure: the
 * reconcile pass (slot-sync.ts) audits the answer and re-syncs the slot.
 *
 * - missing: the hub had confirmed a code, the lock holds nothing (a reset, a delete at the keypad)
 * - changed: the lock holds another code than the one confirmed (programmed at the keypad)
 * - foreign: a code in a hub slot that the hub left empty, or never saw before
 * - unconfirmed: a set or clear whose outcome was never read back, and the lock holds something
 *   other than what the slot should hold now (the command never landed)
 * A lock that masks its codes reads back "in use" without the digits: then only presence is
 * compared, and a code changed at the keypad cannot be told from the one the hub set.
 */
import type { SlotContent, SlotRecord } from '../store/schedule-store.js';

export type DriftKind = 'missing' | 'changed' | 'foreign' | 'unconfirmed';

export interface SlotReading {
  content: Exclude<SlotContent, 'unknown'>;
  /** Keyed hash of the code read; undefined when empty or masked. */
  pinHash: string | undefined;
}

/** What the slot should hold now: nothing, or the code with this hash. */
export type SlotWant = { content: 'empty' } | { content: 'code'; pinHash: string };

export function driftOf(believed: SlotRecord | undefined, found: SlotReading, want: SlotWant): DriftKind | undefined {
  if (believed === undefined) {
    // Never seen: only a code the hub did not put there is worth a word.
    if (found.content === 'empty') return undefined;
    return want.content === 'code' && sameCode(found.pinHash, want.pinHash) ? undefined : 'foreign';
  }
  if (believed.content === 'unknown') return holds(found, want) ? undefined : 'unconfirmed';
  if (believed.content === 'empty') return found.content === 'empty' ? undefined : 'foreign';
  if (found.content === 'empty') return 'missing';
  return sameCode(found.pinHash, believed.pinHash) ? undefined : 'changed';
}

/** Whether the slot as read holds what it should. */
export function holds(found: SlotReading | SlotRecord, want: SlotWant): boolean {
  if (want.content === 'empty') return found.content === 'empty';
  return found.content === 'code' && sameCode(found.pinHash, want.pinHash);
}

/** Two codes are the same unless both hashes are known and differ (a masked read proves nothing). */
function sameCode(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}
