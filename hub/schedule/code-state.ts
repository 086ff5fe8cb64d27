/**
 * The one state a code is shown in, from what its slot should hold now and what the lock last read
 * back there (never from what the hub merely asked for):
 *   active     its window is open and the slot read back holding its PIN
 *   scheduled  its slot read back empty and a window opens later (or the set is on its way)
 *   clearing   its slot should be empty and has not read back so yet
 *   cleared    its slot read back empty and it will not open again (expired, over, paused, removed)
 *   failing    the last set or clear of its slot failed (why: the lock's error), being retried
 */
import { ErrorCode } from '../system/errors.js';
import { holds, type SlotWant } from './slot-drift.js';
import type { SlotStatus } from './slot-sync.js';

export const CODE_STATES = ['scheduled', 'active', 'clearing', 'cleared', 'failing'] as const;
export type CodeState = (typeof CODE_STATES)[number];

export function codeState(input: { want: SlotWant; status: SlotStatus; removed: boolean; opensAgain: boolean }): { state: CodeState; why: string | undefined } {
  const { want, status } = input;
  const b = status.believed;
  const settled = b !== undefined && b.content !== 'unknown' && holds(b, want);
  if (!settled && status.failure !== undefined && status.inFlight === undefined) {
    const f = status.failure;
    const code = f.code === undefined ? '' : `E${f.code} ${ErrorCode[f.code] ?? ''}: `;
    return { state: 'failing', why: `${f.action} failed ${f.attempts}× — ${code}${f.message}` };
  }
  if (want.content === 'code') return { state: settled ? 'active' : 'scheduled', why: undefined };
  if (!settled) return { state: 'clearing', why: undefined };
  return { state: !input.removed && input.opensAgain ? 'scheduled' : 'cleared', why: undefined };
}
