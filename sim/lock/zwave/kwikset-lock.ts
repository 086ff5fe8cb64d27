/**
 * A Kwikset 916-class Z-Wave deadbolt as a zwave-js MockNode (@zwave-js/testing): the behaviours
 * answer the real CCs the driver sends (Z-Wave CC spec: Door Lock CC v4, User Code CC v1,
 * Notification CC v8 "Access Control" 0x06 / "Home Security" 0x07, Battery CC v1) and send the
 * unsolicited reports such a lock sends when a person turns the thumb-turn, uses the keypad, or the
 * door sensor changes. Knobs for faults: the bolt can be blocked (jam), the lock can go silent
 * (ACKs but answers nothing) or dead (not even ACKs), and can emit garbage frames.
 *
 * The default zwave-js node behaviours still answer everything this file does not (interview,
 * User Code slots, capabilities); the behaviours here are asked before them.
 */
import { CommandClasses, SecurityClass, dskToString } from '@zwave-js/core';
import {
  MockNode,
  MockZWaveFrameType,
  createMockZWaveRequestFrame,
  type MockNodeBehavior,
  type MockNodeResponse,
  type MockZWaveRequestFrame,
} from '@zwave-js/testing';
import {
  BatteryCCGet,
  BatteryCCReport,
  CommandClass,
  DoorLockCCOperationGet,
  DoorLockCCOperationReport,
  DoorLockCCOperationSet,
  DoorLockMode,
  Duration,
  NotificationCCGet,
  NotificationCCReport,
  Security2CC,
  Security2CCNonceGet,
  Security2CCNonceReport,
} from 'zwave-js';
import { createDefaultMockNodeBehaviors } from 'zwave-js/Testing';
import type { Clock, Timer } from '../../../hub/system/clock.js';
import { KwiksetKeypad } from './kwikset-keypad.js';
import type { MockStick } from './mock-stick.js';

/** Notification CC "Access Control" (0x06) events (Z-Wave Notification Type/Event table). */
export const AccessControl = {
  type: 0x06,
  manualLock: 0x01,
  manualUnlock: 0x02,
  rfLock: 0x03,
  rfUnlock: 0x04,
  keypadLock: 0x05,
  keypadUnlock: 0x06,
  autoLock: 0x09,
  jammed: 0x0b,
  allCodesDeleted: 0x0c,
  codeDeleted: 0x0d,
  codeAdded: 0x0e,
  duplicateCode: 0x0f,
  keypadDisabled: 0x10,
  doorOpen: 0x16,
  doorClosed: 0x17,
} as const;
/** Notification CC "Home Security" (0x07): 0x03 tampering, product cover removed; 0x04 tampering, invalid code. */
export const HomeSecurity = { type: 0x07, tamper: 0x03, invalidCode: 0x04 } as const;

export type SimBolt = 'locked' | 'unlocked' | 'jammed';

/** How long the controller must have been quiet before the secure lock speaks up on its own (ms). */
const QUIET_MS = 60;

export interface KwiksetOptions {
  nodeId?: number;
  /** Bolt travel time; 0 moves it at once. */
  motorMs?: number;
  /** Keypad slots (User Code CC "Users Number"). */
  slots?: number;
  batteryPercent?: number;
  /** Include the node with S2 Access Control (the stick must have been given the keys). */
  secure?: boolean;
  /** Time for the motor and the radio's quiet spells (the test's clock, real or fake). */
  clock: Clock;
  /** Simulated radio airtime per frame, each way (MockNode `txDelay`; zwave-js's default is 10 ms). */
  txDelayMs?: number;
  /**
   * A door sensor (default true). Many deadbolts have none: then the door still moves (openDoor,
   * closeDoor) but the lock reports nothing about it, and its Operation Report has no door status.
   */
  doorSensor?: boolean;
}

/** What the node is built from: usable both for a node present at start and one pending inclusion. */
export function kwiksetCapabilities(options: { slots?: number; secure?: boolean; txDelayMs?: number; doorSensor?: boolean } = {}) {
  const doorSensor = options.doorSensor !== false;
  const doorEvents: readonly number[] = [AccessControl.doorOpen, AccessControl.doorClosed];
  return {
    txDelay: options.txDelayMs ?? 10,
    // Kwikset 916: manufacturer 0x0090, FLiRS (wakes on a beam every 1000 ms).
    manufacturerId: 0x0090,
    productType: 0x0003,
    productId: 0x0541,
    isListening: false,
    isFrequentListening: '1000ms' as const,
    genericDeviceClass: 0x40,
    specificDeviceClass: 0x03,
    securityClasses: options.secure === true ? new Set([SecurityClass.S2_AccessControl]) : new Set<SecurityClass>(),
    commandClasses: [
      CommandClasses['Manufacturer Specific'],
      CommandClasses.Version,
      // The S2 model is a newer one (Z-Wave Plus v2): it also supports Supervision CC, so Sets are
      // confirmed by a Supervision Report; the plain model is the older, unsupervised 916.
      ...(options.secure === true ? [CommandClasses['Security 2'], CommandClasses.Supervision] : []),
      { ccId: CommandClasses['Door Lock'], version: 4, isSupported: true, travelTime: 0, doorSupported: doorSensor, boltSupported: true },
      { ccId: CommandClasses['User Code'], version: 1, isSupported: true, numUsers: options.slots ?? 30 },
      {
        ccId: CommandClasses.Notification,
        version: 8,
        isSupported: true,
        supportsV1Alarm: false,
        notificationTypesAndEvents: {
          [AccessControl.type]: Object.values(AccessControl).filter((v) => v !== AccessControl.type && (doorSensor || !doorEvents.includes(v))),
          [HomeSecurity.type]: [HomeSecurity.tamper, HomeSecurity.invalidCode],
        },
      },
      { ccId: CommandClasses.Battery, version: 1, isSupported: true },
    ],
  };
}

export class KwiksetLock {
  readonly node: MockNode;
  bolt: SimBolt = 'locked';
  door: 'open' | 'closed' = 'closed';
  batteryPercent: number;
  motorMs: number;
  /** The bolt is blocked: the next move ends jammed. */
  blocked = false;
  /** ACKs frames but answers nothing (firmware hung, busy). */
  silent = false;
  /** Commands the lock received, for assertions (e.g. "sent once"). */
  readonly received: string[] = [];
  /** The keypad's code memory: what it stores, refuses, and reports. */
  readonly keypad: KwiksetKeypad;
  readonly #clock: Clock;
  readonly #secure: boolean;
  readonly #doorSensor: boolean;
  #motor: Timer | undefined;
  #sending: Promise<void> = Promise.resolve();
  #lastHeardAt = Number.NEGATIVE_INFINITY;
  #stopped = false;
  #lastNotification = new Map<number, number>();

  private constructor(node: MockNode, options: KwiksetOptions) {
    this.node = node;
    this.motorMs = options.motorMs ?? 0;
    this.batteryPercent = options.batteryPercent ?? 90;
    this.#clock = options.clock;
    this.#secure = options.secure === true;
    this.keypad = new KwiksetKeypad(node, this.#clock, (type, event, params) => this.#notify(type, event, params));
    this.#doorSensor = options.doorSensor !== false;
    // defineBehavior puts what it gets in front: defaults first, then ours, so ours are asked first.
    node.defineBehavior(...createDefaultMockNodeBehaviors());
    node.defineBehavior(...this.#behaviors());
  }

  /** A lock already in the stick's network (as after an earlier inclusion). */
  static async attach(stick: MockStick, options: KwiksetOptions): Promise<KwiksetLock> {
    const node = await MockNode.create({ id: options.nodeId ?? 2, controller: stick.controller, capabilities: kwiksetCapabilities(options) });
    stick.controller.addNode(node);
    return new KwiksetLock(node, options);
  }

  /**
   * A lock waiting in inclusion mode (the installer pressed its button): the next inclusion the
   * hub starts picks it up. Resolves with the lock once the controller created its node.
   */
  static pendingInclusion(stick: MockStick, options: KwiksetOptions): Promise<KwiksetLock> {
    return new Promise((resolve) => {
      stick.controller.nodePendingInclusion = {
        id: options.nodeId ?? 2,
        capabilities: kwiksetCapabilities(options),
        setup: (node) => resolve(new KwiksetLock(node, options)),
      };
    });
  }

  /**
   * The S2 DSK the installer reads off the lock's label: the first 16 bytes of its Curve25519
   * public key as eight 5-digit groups (SDS13783 §3.6.5); the PIN is the first group.
   * (MockNode's own `dsk` getter reads bytes 1–16, one byte off, so it is computed here.)
   */
  get dsk(): string {
    return dskToString(this.node.ecdhKeyPair.publicKey.slice(0, 16));
  }

  get pin(): string {
    return this.dsk.slice(0, 5);
  }

  /** Dead: no ACK at all, as a lock out of range or with a flat battery. */
  set dead(dead: boolean) {
    this.node.autoAckControllerFrames = !dead;
    this.silent = dead;
  }

  // --- what a person at the door does -------------------------------------------------------

  manualLock(): Promise<void> {
    return this.#move('locked', AccessControl.manualLock);
  }

  manualUnlock(): Promise<void> {
    return this.#move('unlocked', AccessControl.manualUnlock);
  }

  /** Unlocks from the keypad if `slot` holds a code (Access Control event 6 with the user id). */
  async keypadUnlock(slot: number): Promise<void> {
    if (this.keypad.codeIn(slot) === undefined) throw new Error(`slot ${slot} holds no code`);
    await this.#move('unlocked', AccessControl.keypadUnlock, slot);
  }

  autoLock(): Promise<void> {
    return this.#move('locked', AccessControl.autoLock);
  }

  /** A person types `pin` at the keypad (KwiksetKeypad.enter); `keypad` also programs and resets. */
  keypadEnter(pin: string): Promise<'unlocked' | 'refused' | 'locked-out'> {
    return this.keypad.enter(pin, (slot) => this.#move('unlocked', AccessControl.keypadUnlock, slot));
  }

  async openDoor(): Promise<void> {
    this.door = 'open';
    if (!this.#doorSensor) return;
    await this.#notify(AccessControl.type, AccessControl.doorOpen);
    await this.#sendOperationReport();
  }

  async closeDoor(): Promise<void> {
    this.door = 'closed';
    if (!this.#doorSensor) return;
    await this.#notify(AccessControl.type, AccessControl.doorClosed);
    await this.#sendOperationReport();
  }

  async tamper(): Promise<void> {
    await this.#notify(HomeSecurity.type, HomeSecurity.tamper);
  }

  /** Battery drops; the lock reports it unsolicited (0xFF = "battery low warning", Battery CC). */
  async setBattery(percent: number, options: { lowWarning?: boolean } = {}): Promise<void> {
    this.batteryPercent = percent;
    await this.#send(new BatteryCCReport({ nodeId: this.node.controller.ownNodeId, level: options.lowWarning === true ? 'low' : percent }));
  }

  /** Sends any CC unsolicited (tests use this for garbage: CCs with truncated or random payloads). */
  async sendRaw(ccId: number, ccCommand: number, payload: Uint8Array<ArrayBuffer>): Promise<void> {
    const cc = new CommandClass({ nodeId: this.node.controller.ownNodeId, ccId, ccCommand, payload });
    await this.#send(cc);
  }

  /** The code stored in a slot, as the lock's memory holds it. */
  codeIn(slot: number): string | undefined {
    return this.keypad.codeIn(slot);
  }

  /** Powers the lock off: the motor stops and nothing more goes on air. */
  stop(): void {
    this.#stopped = true;
    this.#motor?.cancel();
  }

  // --- radio side -------------------------------------------------------------------------

  #behaviors(): MockNodeBehavior[] {
    const silence: MockNodeBehavior = {
      handleCC: (_c, _self, cc) => {
        this.#lastHeardAt = this.#clock.monotonic();
        this.received.push(cc.constructor.name);
        return this.silent ? { action: 'stop' } : undefined;
      },
    };
    const operationSet: MockNodeBehavior = {
      handleCC: (_c, self, cc): MockNodeResponse | undefined => {
        if (!(cc instanceof DoorLockCCOperationSet)) return undefined;
        const target: 'locked' | 'unlocked' = cc.mode === DoorLockMode.Secured ? 'locked' : 'unlocked';
        const moved = this.#move(target, target === 'locked' ? AccessControl.rfLock : AccessControl.rfUnlock);
        if (!cc.isEncapsulatedWith(CommandClasses.Supervision)) return { action: 'ok' };
        // Supervised (Supervision CC): "Working" with the travel time, then Success or Fail once the
        // bolt stopped; the mock's Supervision hook turns ok/fail into the Supervision Report.
        if (this.motorMs <= 0) return { action: this.blocked ? 'fail' : 'ok' };
        void moved.then(() => self.sendResponse(cc, { action: this.bolt === target ? 'ok' : 'fail' }));
        return { action: 'ok', durationMs: this.motorMs };
      },
    };
    const operationGet: MockNodeBehavior = {
      handleCC: (controller, _self, cc) => {
        if (!(cc instanceof DoorLockCCOperationGet)) return undefined;
        return { action: 'sendCC', cc: this.#operationReport(controller.ownNodeId) };
      },
    };
    const notificationGet: MockNodeBehavior = {
      handleCC: (controller, _self, cc): MockNodeResponse | undefined => {
        if (!(cc instanceof NotificationCCGet)) return undefined;
        const type = cc.notificationType ?? AccessControl.type;
        const report = new NotificationCCReport({
          nodeId: controller.ownNodeId,
          notificationType: type,
          notificationEvent: this.#lastNotification.get(type) ?? 0,
        });
        return { action: 'sendCC', cc: report };
      },
    };
    const batteryGet: MockNodeBehavior = {
      handleCC: (controller, _self, cc) => {
        if (!(cc instanceof BatteryCCGet)) return undefined;
        return { action: 'sendCC', cc: new BatteryCCReport({ nodeId: controller.ownNodeId, level: this.batteryPercent }) };
      },
    };
    // Within one defineBehavior call the first is asked first: silence must see every frame.
    return [silence, operationSet, operationGet, notificationGet, batteryGet, this.keypad.behavior()];
  }

  #operationReport(nodeId: number): DoorLockCCOperationReport {
    const mode = this.bolt === 'locked' ? DoorLockMode.Secured : this.bolt === 'unlocked' ? DoorLockMode.Unsecured : DoorLockMode.Unknown;
    return new DoorLockCCOperationReport({
      nodeId,
      currentMode: mode,
      targetMode: mode,
      duration: new Duration(0, 'seconds'),
      outsideHandlesCanOpenDoor: [false, false, false, false],
      insideHandlesCanOpenDoor: [true, true, true, true],
      ...(this.#doorSensor ? { doorStatus: this.door } : {}),
      boltStatus: this.bolt === 'locked' ? 'locked' : 'unlocked',
      latchStatus: 'closed',
    });
  }

  #move(target: 'locked' | 'unlocked', event: number, slot?: number): Promise<void> {
    this.#motor?.cancel();
    return new Promise((resolve) => {
      const done = async (): Promise<void> => {
        const jammed = this.blocked;
        this.bolt = jammed ? 'jammed' : target;
        try {
          if (jammed) await this.#notify(AccessControl.type, AccessControl.jammed);
          else await this.#notify(AccessControl.type, event, slot === undefined ? undefined : Uint8Array.from([slot]));
          await this.#sendOperationReport();
        } catch {
          // The bolt moved either way; a report lost on the air is for the hub to notice (it asks
          // again), not an error in the lock's firmware.
        }
        resolve();
      };
      if (this.motorMs <= 0) void done();
      else this.#motor = this.#clock.setTimeout(() => void done(), this.motorMs);
    });
  }

  async #notify(type: number, event: number, eventParameters?: Uint8Array<ArrayBuffer>): Promise<void> {
    this.#lastNotification.set(type, event);
    await this.#send(
      new NotificationCCReport({ nodeId: this.node.controller.ownNodeId, notificationType: type, notificationEvent: event, eventParameters }),
    );
  }

  async #sendOperationReport(): Promise<void> {
    // The S2 model reports moves and the door through Notification CC only (its Operation Report
    // answers Gets): every extra unsolicited S2 frame is one more chance to cross the controller's
    // next command on the mock's air, which MockNode's S2 layer cannot recover from.
    if (this.#secure) return;
    await this.#send(this.#operationReport(this.node.controller.ownNodeId));
  }

  /** The lock's radio sends one frame after another, in the order its firmware produced them. */
  #send(cc: CommandClass): Promise<void> {
    const sent = this.#sending.then(() => this.#sendNow(cc));
    this.#sending = sent.catch(() => {});
    return sent;
  }

  async #sendNow(cc: CommandClass): Promise<void> {
    if (this.silent || this.#stopped) return;
    // With S2 the driver drops plaintext reports from a node it knows as secure.
    if (!this.#secure) {
      await this.node.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: false }));
      return;
    }
    // MockNode's S2 layer does not recover when a frame from the controller crosses one of ours
    // (both spend the same SPAN); waiting until the controller has been quiet for a moment, as a
    // real radio's listen-before-talk does, keeps the simulated air from colliding with itself.
    // Frames still leave in order (#send queues them).
    while (this.#clock.monotonic() - this.#lastHeardAt < QUIET_MS) await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, QUIET_MS));
    await this.#ensureSpan();
    // Encapsulated only when the frame goes on air: the SPAN must be the one current at that moment.
    const plain = cc;
    await this.node.sendToController(
      createMockZWaveRequestFrame(async () => Security2CC.encapsulate(plain, this.node.id, this.node.securityManagers), { ackRequested: false }),
    );
  }

  /**
   * A node that speaks first over S2 needs the receiver's entropy input: it sends Nonce Get and
   * takes the controller's Nonce Report (SDS13783, "SPAN synchronization"). MockNode only does
   * the answering side of this, so the lock does the asking itself.
   */
  async #ensureSpan(): Promise<void> {
    const sm2 = this.node.securityManagers.securityManager2;
    const controllerId = this.node.controller.ownNodeId;
    // Always resynchronised before speaking first: the SPAN may have been spent by a frame that
    // crossed ours (the mock does not recover from that on its own).
    if (sm2 === undefined) return;
    const report = this.node.expectControllerFrame(
      (f): f is MockZWaveRequestFrame & { payload: Security2CCNonceReport } =>
        f.type === MockZWaveFrameType.Request && f.payload instanceof Security2CCNonceReport,
      { timeout: 2000, preventDefault: true },
    );
    await this.node.sendToController(createMockZWaveRequestFrame(new Security2CCNonceGet({ nodeId: controllerId }), { ackRequested: false }));
    const { payload } = await report;
    if (payload.receiverEI !== undefined) sm2.storeRemoteEI(controllerId, payload.receiverEI);
  }
}
