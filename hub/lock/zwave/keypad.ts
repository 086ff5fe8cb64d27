/**
 * Keypad codes over User Code CC (v1: one slot per Get/Set; Z-Wave CC spec). Every change is read
 * back from the lock before it counts: a code the lock did not store must not be reported as set.
 * Plain functions over a zwave-js node; the driver runs them through its command queue.
 */
import type { ZWaveNode } from 'zwave-js';
import { ErrorCode, HubError } from '../../system/errors.js';
import { CODE_PATTERN, type CodeSlot } from '../lock.js';
import { CC, USER_ID_STATUS, radio } from './zwave-runtime.js';

/** How many slots the lock said it has (User Code "Users Number Report"), 0 when unknown. */
export function slotCount(node: ZWaveNode | undefined): number {
  const n = node?.getValue<number>({ commandClass: CC.UserCode, property: 'supportedUsers' });
  return typeof n === 'number' && n > 0 ? Math.min(n, 255) : 0;
}

export function checkCode(code: string): void {
  if (!CODE_PATTERN.test(code)) throw new HubError(ErrorCode.LOCK_CODE_INVALID, 'a keypad code is 4–10 digits');
}

function checkSlot(node: ZWaveNode, slot: number): void {
  const max = slotCount(node);
  if (!Number.isInteger(slot) || slot < 1 || slot > max) throw new HubError(ErrorCode.LOCK_CODE_INVALID, `slot ${slot} is outside 1–${max}`);
}

export async function setCode(node: ZWaveNode, slot: number, code: string): Promise<void> {
  checkCode(code);
  checkSlot(node, slot);
  const api = node.commandClasses['User Code'];
  await radio(() => api.set(slot, USER_ID_STATUS.Enabled, code), `set code in slot ${slot}`);
  const back = await radio(() => api.get(slot), `read back slot ${slot}`);
  if (back === undefined) throw unanswered(slot);
  if (back.userIdStatus !== USER_ID_STATUS.Enabled || back.userCode !== code) {
    throw new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, `slot ${slot}: the lock did not store the code (read back status ${String(back.userIdStatus)})`);
  }
}

export async function clearCode(node: ZWaveNode, slot: number): Promise<void> {
  checkSlot(node, slot);
  const api = node.commandClasses['User Code'];
  await radio(() => api.clear(slot), `clear slot ${slot}`);
  const back = await radio(() => api.get(slot), `read back slot ${slot}`);
  if (back === undefined) throw unanswered(slot);
  if (back.userIdStatus !== USER_ID_STATUS.Available) {
    throw new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, `slot ${slot}: the lock did not free it (read back status ${String(back.userIdStatus)})`);
  }
}

/** No answer to the read-back at all: the lock is not reachable (not a refusal of the code). */
function unanswered(slot: number): HubError {
  return new HubError(ErrorCode.LOCK_UNREACHABLE, `the lock did not answer the read-back of slot ${slot}`);
}

export async function readCodes(node: ZWaveNode, signal: AbortSignal): Promise<CodeSlot[]> {
  const api = node.commandClasses['User Code'];
  const out: CodeSlot[] = [];
  for (let slot = 1; slot <= slotCount(node); slot++) {
    signal.throwIfAborted();
    const r = await radio(() => api.get(slot), `read slot ${slot}`);
    if (r === undefined) throw new HubError(ErrorCode.LOCK_UNREACHABLE, `the lock did not answer for slot ${slot}`);
    const inUse = r.userIdStatus === USER_ID_STATUS.Enabled || r.userIdStatus === USER_ID_STATUS.Disabled;
    const code = inUse && typeof r.userCode === 'string' && r.userCode.length > 0 ? r.userCode : undefined;
    out.push({ slot, inUse, code });
  }
  return out;
}
