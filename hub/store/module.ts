import { join } from 'node:path';
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { hubId, recordRunReady, recordRunStart, recordRunStop, uncleanRuns } from './daemon-runs.js';
import { openStore, type Store } from './store.js';

export function databasePath(stateDir: string): string {
  return join(stateDir, 'keyhub.db');
}

/** Opens (and migrates) the daemon's database, before anything is built on it. */
export function openDaemonStore(deps: { stateDir: string; busyTimeoutMs: number; log: Logger }): Promise<Store> {
  return openStore({ path: databasePath(deps.stateDir), busyTimeoutMs: deps.busyTimeoutMs, log: deps.log });
}

export interface StoreModule extends Module {
  /** Marks this run ready (after every module started). */
  markReady(): void;
  /** How the run ended, recorded on stop ('clean' unless told otherwise). */
  setOutcome(outcome: string): void;
}

/**
 * The open store as the first module: records each daemon run for `keyhub status` (start, ready,
 * stop and how it ended) and closes the database last. The store itself is opened before the
 * module list is built, so every room gets it as a value.
 */
export function storeRoom(deps: { store: Store; clock: Clock; log: Logger; version: string }): { module: StoreModule; service: Store } {
  const { store } = deps;
  let runId: number | undefined;
  let outcome = 'clean';
  const module: StoreModule = {
    name: 'store',
    start() {
      runId = recordRunStart(store, { pid: process.pid, version: deps.version, startedAtMs: deps.clock.now() });
      const unclean = uncleanRuns(store, runId);
      if (unclean > 0) deps.log.warn({ unclean }, 'earlier daemon runs ended without a clean stop');
      deps.log.info({ hubId: hubId(store), path: store.path, schema: store.schemaVersion }, 'store open');
    },
    stop() {
      if (runId !== undefined) recordRunStop(store, runId, deps.clock.now(), outcome);
      store.close();
    },
    markReady() {
      if (runId !== undefined) recordRunReady(store, runId, deps.clock.now());
    },
    setOutcome(value) {
      outcome = value;
    },
  };
  return { module, service: store };
}
