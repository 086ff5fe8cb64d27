/**
 * Adding and removing a lock (Z-Wave network inclusion/exclusion). A lock is included with S2
 * (Security 2, SDS13783) and granted Access Control only — the class meant for door locks. The
 * installer compares the DSK zwave-js shows with the lock's label and types the 5-digit PIN
 * (`validateDsk`); a lock that ends up with lower security than asked is refused and excluded
 * from use (LOCK_INCLUSION_FAILED), never silently run in plaintext.
 */
import type { Driver, InclusionGrant, InclusionResult, ZWaveNode } from 'zwave-js';
import type { Clock } from '../../system/clock.js';
import { ErrorCode, HubError } from '../../system/errors.js';
import type { Logger } from '../../system/logger.js';
import type { ZwaveModules } from './zwave-runtime.js';

export interface IncludeOptions {
  validateDsk(dsk: string): Promise<string | false>;
  timeoutMs?: number;
  clock: Clock;
  log: Logger;
}

export async function include(driver: Driver, zw: ZwaveModules, options: IncludeOptions): Promise<ZWaveNode> {
  const { SecurityClass } = zw.core;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const added = new Promise<{ node: ZWaveNode; result: InclusionResult }>((resolve, reject) => {
    const timer = options.clock.setTimeout(() => {
      cleanup();
      void driver.controller.stopInclusion().catch(() => {});
      reject(new HubError(ErrorCode.LOCK_INCLUSION_FAILED, `no lock joined within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAdded = (node: ZWaveNode, result: InclusionResult): void => {
      cleanup();
      resolve({ node, result });
    };
    const onFailed = (): void => {
      cleanup();
      reject(new HubError(ErrorCode.LOCK_INCLUSION_FAILED, 'inclusion failed'));
    };
    function cleanup(): void {
      timer.cancel();
      driver.controller.off('node added', onAdded);
      driver.controller.off('inclusion failed', onFailed);
    }
    driver.controller.on('node added', onAdded);
    driver.controller.on('inclusion failed', onFailed);
  });
  added.catch(() => {});
  const started = await driver.controller.beginInclusion({
    strategy: zw.zw.InclusionStrategy.Security_S2,
    userCallbacks: {
      grantSecurityClasses: async (requested: InclusionGrant) => {
        options.log.info({ requested: requested.securityClasses.map((c) => SecurityClass[c]) }, 'lock asks for security classes');
        if (!requested.securityClasses.includes(SecurityClass.S2_AccessControl)) return false;
        return { securityClasses: [SecurityClass.S2_AccessControl], clientSideAuth: false };
      },
      validateDSKAndEnterPIN: (dsk: string) => options.validateDsk(dsk),
      abort: () => options.log.warn('inclusion aborted by the driver (PIN not entered in time)'),
    },
  });
  if (!started) throw new HubError(ErrorCode.LOCK_INCLUSION_FAILED, 'the controller is busy (inclusion or exclusion already running)');
  const { node, result } = await added;
  if (result.lowSecurity === true || node.getHighestSecurityClass() !== SecurityClass.S2_AccessControl) {
    throw new HubError(
      ErrorCode.LOCK_INCLUSION_FAILED,
      `lock ${node.id} joined without S2 Access Control (${result.lowSecurity === true ? `bootstrap failure ${result.lowSecurityReason}` : 'lower security class granted'}); exclude it and retry`,
    );
  }
  if (!node.ready) {
    await new Promise<void>((resolve, reject) => {
      const timer = options.clock.setTimeout(() => {
        node.off('ready', onReady);
        reject(new HubError(ErrorCode.LOCK_INCLUSION_FAILED, `lock ${node.id} joined but its interview did not finish`));
      }, timeoutMs);
      function onReady(): void {
        timer.cancel();
        resolve();
      }
      node.once('ready', onReady);
    });
  }
  return node;
}

export async function exclude(driver: Driver, options: { timeoutMs: number; clock: Clock }): Promise<number> {
  const removed = new Promise<number>((resolve, reject) => {
    const timer = options.clock.setTimeout(() => {
      driver.controller.off('node removed', onRemoved);
      void driver.controller.stopExclusion().catch(() => {});
      reject(new HubError(ErrorCode.LOCK_INCLUSION_FAILED, `no node left the network within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    function onRemoved(node: ZWaveNode): void {
      timer.cancel();
      resolve(node.id);
    }
    driver.controller.once('node removed', onRemoved);
  });
  removed.catch(() => {});
  if (!(await driver.controller.beginExclusion())) {
    throw new HubError(ErrorCode.LOCK_INCLUSION_FAILED, 'the controller is busy (inclusion or exclusion already running)');
  }
  return removed;
}
