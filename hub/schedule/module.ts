/**
 * Keypad codes on a schedule as a daemon module: the codes (service.ts), the slot worker that makes
 * the lock hold them (slot-sync.ts), the timer at every window edge (edge-timer.ts) and the keypad
 * watch (keypad-watch.ts), joined here. Started after the lock and the audit log, so its first act,
 * reading the hub's slots back (boot reconcile), finds both; it then reconciles again after every
 * reconnect, when the lock says its codes changed, and every `reconcileEveryMs`.
 */
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Lock } from '../lock/lock.js';
import { ScheduleStore } from '../store/schedule-store.js';
import type { Store } from '../store/store.js';
import type { Clock, Timer } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import { LocalTimes } from '../system/local-time.js';
import type { Logger } from '../system/logger.js';
import { EdgeTimer } from './edge-timer.js';
import { KeypadWatch } from './keypad-watch.js';
import { describeCode, type Notifier } from './notifications.js';
import { PinHasher } from './pin-hash.js';
import { ScheduleCodes, type ScheduleService, type ScheduleSettings } from './service.js';
import { SlotSync } from './slot-sync.js';

export interface ScheduleModuleSettings extends ScheduleSettings {
  reconcileEveryMs: number;
  wrongCodes: { limit: number; windowMs: number };
}

export interface ScheduleModuleDeps {
  store: () => Store;
  lock: () => Lock;
  audit: () => { append(event: AuditEvent): unknown };
  clock: Clock;
  log: Logger;
  settings: ScheduleModuleSettings;
  notifier: Notifier;
  onAuditFailure(err: unknown): void;
  /** Whether the wall clock may be believed (hub/access: not behind the clock floor); true when not given. */
  clockTrusted?: () => boolean;
  /** No edge timer runs longer than this, so a stepped wall clock is noticed within it. */
  watchMs?: number;
  backoff?: { minMs: number; maxMs: number };
}

export interface ScheduleModule extends Module {
  /** The codes; throws before start and after stop. */
  service(): ScheduleService;
  /** Resolves once the slot worker has nothing to do now (tests, bench). */
  idle(): Promise<void>;
  /** The next window edge the module waits for (wall ms). */
  nextEdgeAtMs(): number | undefined;
  /** Wrong codes counted at the keypad in the current window. */
  wrongCodeCount(): number;
  /** Reads every slot back now and re-syncs what differs; resolves once done. */
  reconcile(): Promise<void>;
}

export function scheduleModule(deps: ScheduleModuleDeps): ScheduleModule {
  const times = new LocalTimes();
  const log = deps.log;
  let parts: { codes: ScheduleCodes; sync: SlotSync; edges: EdgeTimer; keypad: KeypadWatch } | undefined;
  let unsubscribe: (() => void) | undefined;
  let periodic: Timer | undefined;
  let trustWatch: Timer | undefined;
  const started = (): NonNullable<typeof parts> => {
    if (parts === undefined) throw new Error('the schedule is not running');
    return parts;
  };
  const auditFailed = (err: unknown): void => deps.onAuditFailure(err);

  return {
    name: 'schedule',
    start() {
      const repo = new ScheduleStore(deps.store());
      const hasher = new PinHasher(repo.hashKey());
      const audit = deps.audit();
      const lock = deps.lock();
      const { settings, clock } = deps;
      const sync: SlotSync = new SlotSync({
        lock,
        clock,
        log,
        repo,
        audit,
        hasher,
        slots: settings.slots,
        wants: () => codes.wants(),
        onConfirmed: () => codes.sweep(),
        onFailing: (slot, action, code, why) => {
          const who = code === undefined ? `slot ${slot}` : describeCode(code.name, code.kind);
          if (action === 'clear') {
            try {
              audit.append({ type: 'code.alarm', body: { alarm: 'clear-failing', slot, ...(code === undefined ? {} : { codeId: code.id }) } });
            } catch (err) {
              auditFailed(err);
            }
          }
          deps.notifier.notify({
            kind: 'alarm',
            alarm: action === 'clear' ? 'clear-failing' : 'set-failing',
            slot,
            ...(code === undefined ? {} : { name: code.name, codeKind: code.kind }),
            atMs: clock.now(),
            text: action === 'clear' ? `Could not clear ${who} from the lock (${why}): still trying` : `Could not put ${who} into the lock (${why}): still trying`,
          });
        },
        onAuditFailure: auditFailed,
        ...(deps.backoff === undefined ? {} : { backoff: deps.backoff }),
      });
      const codes: ScheduleCodes = new ScheduleCodes({
        repo,
        audit,
        hasher,
        times,
        clock,
        settings,
        slots: sync,
        onChange: () => {
          edges.rearm();
          sync.kick();
        },
        onAuditFailure: auditFailed,
        ...(deps.clockTrusted === undefined ? {} : { clockTrusted: deps.clockTrusted }),
      });
      const edges: EdgeTimer = new EdgeTimer({
        clock,
        log,
        times,
        codes: () => codes.codes(),
        onEdge: () => {
          sync.kick();
          codes.sweep();
        },
        watchMs: deps.watchMs ?? 60_000,
      });
      const keypad = new KeypadWatch({
        clock,
        log,
        audit,
        notifier: deps.notifier,
        slots: settings.slots,
        codeIn: (slot) => codes.codeIn(slot),
        wantOf: (code, atMs) => codes.wantOf(code, atMs),
        clearNow: (slot, pinHash) => sync.urgentClear(slot, pinHash),
        wrongCodes: settings.wrongCodes,
        onAuditFailure: auditFailed,
      });
      codes.load();
      sync.load();
      unsubscribe = lock.onEvent((event) => {
        if (event.kind === 'connection-restored') {
          sync.retryNow();
          sync.reconcileSoon();
        } else if (event.kind === 'codes-changed') {
          sync.reconcileSoon();
        } else {
          keypad.handle(event);
        }
      });
      parts = { codes, sync, edges, keypad };
      edges.start();
      periodic = clock.setInterval(() => sync.reconcileSoon(), settings.reconcileEveryMs);
      const trusted = deps.clockTrusted;
      if (trusted !== undefined) {
        let was = trusted();
        if (!was) log.warn('the wall clock is behind the clock floor: no code goes into the lock until it is trusted again');
        trustWatch = clock.setInterval(() => {
          const now = trusted();
          if (now === was) return;
          was = now;
          log.warn({ clockTrusted: now }, now ? 'the wall clock is trusted again: codes follow their windows' : 'the wall clock is behind the clock floor: clearing every code');
          sync.kick();
        }, deps.watchMs ?? 60_000);
      }
      // Boot: what the lock holds now, not what the store last knew, decides the first moves.
      sync.reconcileSoon();
      log.info({ codes: codes.codes().length, slots: settings.slots }, 'schedule started');
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      periodic?.cancel();
      trustWatch?.cancel();
      const p = parts;
      parts = undefined;
      if (p === undefined) return;
      p.edges.stop();
      await p.sync.stop();
    },
    service: () => started().codes,
    idle: () => started().sync.idle(),
    nextEdgeAtMs: () => started().edges.nextAtMs,
    wrongCodeCount: () => started().keypad.wrongCodeCount(),
    async reconcile() {
      const { sync } = started();
      sync.reconcileSoon();
      await sync.idle();
    },
  };
}
