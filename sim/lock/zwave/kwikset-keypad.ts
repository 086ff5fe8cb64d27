/**
 * The keypad side of the simulated Kwikset (kwikset-lock.ts): its code memory as zwave-js's default
 * User Code mock behaviour keeps it (the node's `UserCode_*` state), plus what a real keypad does
 * around it (Z-Wave Notification CC, Access Control 0x06 / Home Security 0x07):
 * - a Set of a code that another slot already holds is refused (0x0f "new user code not added due
 *   to duplicate code"); the read-back then shows the slot unchanged;
 * - a code typed that no slot holds is refused ("tampering, invalid code", Home Security 0x04),
 *   and after `wrongCodeLimit` in a row the keypad disables itself (0x10);
 * - a code programmed at the keypad (0x0e with the slot), a factory reset (0x0c).
 * Every Set the lock carries out goes into `log`, so tests count exactly what reached the lock.
 */
import type { MockNode, MockNodeBehavior, MockNodeResponse } from '@zwave-js/testing';
import { UserCodeCCSet, UserIDStatus } from 'zwave-js';
import type { Clock } from '../../../hub/system/clock.js';

export interface CodeChange {
  slot: number;
  action: 'set' | 'clear';
  /** The lock's clock (wall ms) when it stored or freed the slot. */
  atMs: number;
}

const ACCESS_CONTROL = 0x06;
const HOME_SECURITY = 0x07;

type Notify = (type: number, event: number, params?: Uint8Array<ArrayBuffer>) => Promise<void>;

export class KwiksetKeypad {
  readonly log: CodeChange[] = [];
  /** Wrong codes in a row after which the keypad disables itself for a while (Kwikset: 5). */
  wrongCodeLimit = 5;
  readonly #node: MockNode;
  readonly #clock: Clock;
  readonly #notify: Notify;
  #wrongInARow = 0;

  constructor(node: MockNode, clock: Clock, notify: Notify) {
    this.#node = node;
    this.#clock = clock;
    this.#notify = notify;
  }

  codeIn(slot: number): string | undefined {
    const status = (this.#node.state.get(`UserCode_userIdStatus_${slot}`) as UserIDStatus | undefined) ?? UserIDStatus.Available;
    if (status !== UserIDStatus.Enabled) return undefined;
    const code = this.#node.state.get(`UserCode_userCode_${slot}`) as string | Uint8Array | undefined;
    return code instanceof Uint8Array ? Buffer.from(code).toString('ascii') : code;
  }

  /** `unlock` moves the bolt and reports the keypad unlock with the slot. */
  async enter(pin: string, unlock: (slot: number) => Promise<void>): Promise<'unlocked' | 'refused' | 'locked-out'> {
    const slot = this.#slotHolding(pin);
    if (slot !== undefined) {
      this.#wrongInARow = 0;
      await unlock(slot);
      return 'unlocked';
    }
    this.#wrongInARow += 1;
    await this.#notify(HOME_SECURITY, 0x04);
    if (this.#wrongInARow < this.wrongCodeLimit) return 'refused';
    this.#wrongInARow = 0;
    await this.#notify(ACCESS_CONTROL, 0x10);
    return 'locked-out';
  }

  /** A code programmed at the keypad: stored, and reported (0x0e with the slot). */
  async program(slot: number, pin: string): Promise<void> {
    this.preset(slot, pin);
    await this.#notify(ACCESS_CONTROL, 0x0e, Uint8Array.from([slot]));
  }

  /** A code the lock held before the hub ever talked to it (no report). */
  preset(slot: number, pin: string): void {
    this.#node.state.set(`UserCode_userIdStatus_${slot}`, UserIDStatus.Enabled);
    this.#node.state.set(`UserCode_userCode_${slot}`, pin);
  }

  async reset(): Promise<void> {
    for (let slot = 1; slot <= 255; slot++) {
      if (this.#node.state.get(`UserCode_userIdStatus_${slot}`) === undefined) continue;
      this.#node.state.set(`UserCode_userIdStatus_${slot}`, UserIDStatus.Available);
      this.#node.state.set(`UserCode_userCode_${slot}`, undefined);
    }
    await this.#notify(ACCESS_CONTROL, 0x0c);
  }

  /** Asked before zwave-js's default User Code behaviour, which stores what this lets through. */
  behavior(): MockNodeBehavior {
    return {
      handleCC: (_c, _self, cc): MockNodeResponse | undefined => {
        if (!(cc instanceof UserCodeCCSet)) return undefined;
        const storing = cc.userIdStatus === UserIDStatus.Enabled || cc.userIdStatus === UserIDStatus.Disabled;
        if (storing) {
          const code = typeof cc.userCode === 'string' ? cc.userCode : Buffer.from(cc.userCode).toString('ascii');
          const holder = this.#slotHolding(code);
          if (holder !== undefined && holder !== cc.userId) {
            void this.#notify(ACCESS_CONTROL, 0x0f).catch(() => {});
            return { action: 'ok' };
          }
        }
        this.log.push({ slot: cc.userId, action: storing ? 'set' : 'clear', atMs: this.#clock.now() });
        return undefined;
      },
    };
  }

  #slotHolding(pin: string): number | undefined {
    for (let slot = 1; slot <= 255; slot++) if (this.codeIn(slot) === pin) return slot;
    return undefined;
  }
}
