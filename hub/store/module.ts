import { join } from 'node:path';
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { hubId, recordRunReady, recordRunStart, recordRunStop, uncleanRuns } from './daemon-runs.js';
import { openStore, type Store } from './store.js';

export function databasePath(stateDir: string): string {
  return join(stateDir, 'keyhub.db');
}

export interface StoreModule extends Module {
  /** The open store; throws before start and after stop. */
  store(): Store;
  /** Marks this run ready (after every module started). */
  markReady(): void;
  /** How the run ended, recorded on stop ('clean' unless told otherwise). */
  setOutcome(outcome: string): void;
}

/** Opens the database first and closes it last; records each daemon run for `keyhub status`. */
export function storeModule(deps: { stateDir: string; busyTimeoutMs: number; clock: Clock; log: Logger; version: string }): StoreModule {
  let store: Store | undefined;
  let runId = 0;
  let outcome = 'clean';
  const open = (): Store => {
    if (store === undefined) throw new Error('store is not open');
    return store;
  };
  return {
    name: 'store',
    async start() {
      store = await openStore({ path: databasePath(deps.stateDir), busyTimeoutMs: deps.busyTimeoutMs, log: deps.log });
      runId = recordRunStart(store, { pid: process.pid, version: deps.version, startedAtMs: deps.clock.now() });
      const unclean = uncleanRuns(store, runId);
      if (unclean > 0) deps.log.warn({ unclean }, 'earlier daemon runs ended without a clean stop');
      deps.log.info({ hubId: hubId(store), path: store.path, schema: store.schemaVersion }, 'store open');
    },
    stop() {
      if (store === undefined) return;
      recordRunStop(store, runId, deps.clock.now(), outcome);
      store.close();
      store = undefined;
    },
    store: open,
    markReady() {
      recordRunReady(open(), runId, deps.clock.now());
    },
    setOutcome(value) {
      outcome = value;
    },
  };
}
