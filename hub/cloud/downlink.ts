import { bytesEqual, CborError } from '../../protocols/cbor/canonical.js';
import { Domain, openEnvelope, verifyEnvelope } from '../../protocols/grant/envelope.js';
import { decodeGrantPayload, GRANT_MAX_BYTES, type Grant } from '../../protocols/grant/grant.js';
import { checkBytesPayload, type DownlinkKind, type PayloadOf } from '../../protocols/mqtt/contract.js';
import type { AccessService } from '../access/module.js';
import { MAX_CLOCK_SKEW_S } from '../config/schema.js';
import type { TrustView } from '../access/trust.js';
import { trustStore } from '../store/trust-store.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { commandLog, type CommandLog } from '../store/command-log.js';
import type { Command } from '../../protocols/grant/command.js';
import { checkCommand } from './command-check.js';
import type { CloudLink, IncomingMessage } from './link.js';
import { DEFAULT_REFUSAL_LIMITS, RefusalFlood, type RefusalLimits } from './refusal-flood.js';
import { ReplyQueue } from './reply-queue.js';

/** What the intake needs of the access module (hub/access/module.ts AccessService, TrustState). */
export interface DownlinkTrust {
  view(): TrustView;
  installKeyring(signed: Uint8Array): number;
  installRevocations(signed: Uint8Array): number;
  /** The signed bytes of the installed keyring / list: the same bytes again are a duplicate. */
  held(which: 'keyring' | 'revocations'): Uint8Array | undefined;
  acceptSignedTime(signed: Uint8Array): number;
}

/** The production adapter over the access module's service and the trust material in the store. */
export function downlinkTrustFrom(access: Pick<AccessService, 'trust' | 'acceptSignedTime'>, store: Store): DownlinkTrust {
  const held = trustStore(store);
  return {
    view: () => access.trust(),
    installKeyring: (signed) => access.trust().installKeyring(signed),
    installRevocations: (signed) => access.trust().installRevocations(signed),
    held: (which) => held.held(which)?.signed,
    acceptSignedTime: (signed) => access.acceptSignedTime(signed),
  };
}

/**
 * What signed commands act through, handed in from hub/main.ts (via module.ts): only these, never
 * the modules themselves.
 */
export interface CommandActions {
  /** Throws the bolt; resolves once the lock confirmed it (Lock.lock()). Absent: no lock configured. */
  lock?: () => Promise<void>;
  /** Signs an audit checkpoint at the head now; the outbox sends it with the next batch. */
  checkpoint(): void;
  /** Publishes the retained `state` now; resolves on the broker's acknowledgement. */
  publishState(): Promise<void>;
}

export interface CommandIntake {
  actions: CommandActions;
  /** The clock floor now (hub/store/clock-floor.ts). */
  floorMs(): number;
  /** The access policy's skew (config access.clockSkewS): the same tolerance grants get. */
  clockSkewMs: number;
}

export interface DownlinkOptions {
  hubId: string;
  link: Pick<CloudLink, 'on' | 'publish' | 'connected'>;
  audit: Pick<AuditLog, 'append' | 'head'>;
  trust: DownlinkTrust;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Signed commands; absent, every command is refused (CLOUD_DOWNLINK_REFUSED). */
  commands?: CommandIntake;
  /**
   * An audit or command-log write failed while handling a message from the link: the daemon must
   * stop (main.ts). Without it the error is thrown as an uncaught exception (the process ends).
   */
  onAuditFailure?: (err: unknown) => void;
  /** Flood control of refusals (refusal-flood.ts); DEFAULT_REFUSAL_LIMITS when absent. */
  refusals?: RefusalLimits;
}

export type Outcome =
  | { outcome: 'accepted' | 'duplicate'; id: string; detail?: string }
  | { outcome: 'refused'; id: string; code: ErrorCode; detail: string };

/**
 * Downlink intake: `grants`, `revocations`, `keys` and `time` payloads are
 * the grants room's signed envelopes, verified with its functions BEFORE anything is stored:
 * grants against an issuer of the installed keyring (and the hub id, kind, revocations, expiry),
 * keyrings and revocation lists against the pinned root with rollback protection, signed time
 * against an issuer. Every payload is idempotent by its id (grant id, list/keyring version, time),
 * answered on `replies` (accepted / duplicate / refused + reason code) and audited, so a forged
 * payload on the hub's own topic — the transport is never the only check — is on record.
 * `commands` (protocols/grant/command.ts) are verified the same way (command-check.ts), their id
 * claimed durably before they run (hub/store/command-log.ts: at most once, across restarts), run
 * through the CommandActions handed in, and answered once they ran (or failed: a lock that did not
 * confirm is a refusal with the lock's own 3xx code, and `bolt.failed` on record).
 *
 * An outcome decided while the link is down is answered once it is up again (reply-queue.ts).
 * Refusals past the first of their kind in an interval are counted into one `downlink.refusals`
 * entry instead of one entry each (refusal-flood.ts).
 *
 * An audit write that fails is not caught: the error surfaces to the daemon.
 */
export class DownlinkIntake implements Module {
  readonly name = 'cloud-downlink';
  readonly #o: DownlinkOptions;
  readonly #commandLog: CommandLog;
  readonly #replies: ReplyQueue;
  readonly #flood: RefusalFlood;
  #unsubscribe: (() => void) | undefined;
  #handled = 0;
  /** Messages being handled (a command may be waiting for the lock): stop() lets them finish. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: DownlinkOptions) {
    this.#o = options;
    this.#commandLog = commandLog(options.store);
    this.#replies = new ReplyQueue({ link: options.link, log: options.log });
    this.#flood = new RefusalFlood({ limits: options.refusals ?? DEFAULT_REFUSAL_LIMITS, clock: options.clock, audit: options.audit, log: options.log, onAuditFailure: (err) => this.#surface(err) });
  }

  get handled(): number {
    return this.#handled;
  }

  start(): void {
    this.#settleInterrupted();
    this.#pruneCommands();
    this.#replies.start();
    this.#unsubscribe = this.#o.link.on({ onMessage: (m) => this.#onMessage(m) });
  }

  /**
   * Takes no new messages, then waits for those in hand: a lock command in flight ends with its
   * outcome on record and answered (the lock's own command timeout bounds the wait; a daemon that
   * gives up first leaves the command "interrupted" on record at the next start, never re-run).
   */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await Promise.allSettled([...this.#inFlight]);
    this.#replies.stop();
    // Not caught: what the flood control counted goes on record, or the failure surfaces.
    this.#flood.stop();
  }

  /** Verifies, stores (or runs), audits one payload; returns what it decided, for the reply. */
  async handle(kind: DownlinkKind, payload: Uint8Array): Promise<Outcome> {
    const checked = checkBytesPayload(kind, payload);
    let result: Outcome;
    let afterRecord: (() => void) | undefined;
    if (!checked.ok) result = { outcome: 'refused', id: '', code: ErrorCode.CLOUD_PAYLOAD_INVALID, detail: checked.problem };
    else if (kind === 'commands') ({ result, afterRecord } = await this.#command(payload));
    else {
      try {
        result = this.#verifyAndApply(kind, payload);
      } catch (err) {
        if (!(err instanceof HubError) && !(err instanceof CborError) && !(err instanceof RangeError)) throw err;
        const code = err instanceof HubError ? err.code : ErrorCode.CLOUD_PAYLOAD_INVALID;
        result = { outcome: 'refused', id: '', code, detail: err.message.slice(0, 200) };
      }
    }
    this.#handled += 1;
    // A refusal that changed nothing (a claimed command always did) may be counted instead.
    if (result.outcome === 'refused' && afterRecord === undefined && !this.#flood.admit(kind, result.code)) return result;
    // One transaction: the outcome on record and a command's claim finished are never apart, so a
    // stop between them cannot put a second, contradicting outcome (interrupted) on record later.
    this.#o.store.write('full', () => {
      this.#record(kind, result);
      afterRecord?.();
    });
    return result;
  }

  #onMessage(message: IncomingMessage): void {
    if (message.name === 'acks' || !isDownlinkKind(message.name)) return;
    const handled = this.handle(message.name, message.payload).then(
      (result) => this.#reply(message, result),
      // Never caught and logged: an audit or command-log write failed (DESIGN.md, Rules of the house).
      (err: unknown) => this.#surface(err),
    );
    this.#inFlight.add(handled);
    void handled.then(() => this.#inFlight.delete(handled));
  }

  #surface(err: unknown): void {
    if (this.#o.onAuditFailure !== undefined) {
      this.#o.onAuditFailure(err);
      return;
    }
    // No one to tell: thrown outside any promise, an uncaught exception ends the process.
    queueMicrotask(() => {
      throw err;
    });
  }

  /**
   * Verify (command-check.ts), claim the id durably, then run: a command runs at most once. The
   * returned `afterRecord` runs once the command's own audit entry is written: it marks the claim
   * finished (so a stop before the outcome is on record leaves it "interrupted", see start()), and
   * for `checkpoint` signs the checkpoint then, at a head that covers that entry and lies past the
   * cloud's last ack (the outbox ships checkpoints after the last ack, with the next batch).
   */
  async #command(payload: Uint8Array): Promise<{ result: Outcome; afterRecord?: () => void }> {
    const intake = this.#o.commands;
    if (intake === undefined) return { result: { outcome: 'refused', id: '', code: ErrorCode.CLOUD_DOWNLINK_REFUSED, detail: 'this hub takes no commands' } };
    const ctx = { now: Math.floor(this.#o.clock.now()), hubId: this.#o.hubId, floorMs: intake.floorMs(), clockSkewMs: intake.clockSkewMs };
    const check = checkCommand(payload, ctx, this.#o.trust.view());
    if (!check.ok) {
      return { result: { outcome: 'refused', id: check.id, code: check.code, detail: check.action === undefined ? check.reason : `${check.action}: ${check.reason}` } };
    }
    const command = check.command;
    const id = Buffer.from(command.id).toString('hex');
    if (!this.#commandLog.claim({ id: command.id, kid: command.kid, action: command.action, notAfter: command.notAfter, now: ctx.now })) {
      const prior = this.#commandLog.get(command.id)?.outcome;
      return { result: { outcome: 'duplicate', id, detail: `${command.action}: already ${prior ?? 'started'}; not run again` } };
    }
    this.#pruneCommands();
    const result = await this.#run(command, id, intake.actions);
    return {
      result,
      afterRecord: () => {
        // Not caught: a checkpoint that cannot be written is an audit write failure.
        if (command.action === 'checkpoint') intake.actions.checkpoint();
        this.#commandLog.finish(command.id, result.outcome === 'refused' ? 'refused' : 'accepted', result.outcome === 'refused' ? result.code : undefined);
      },
    };
  }

  async #run(command: Command, id: string, actions: CommandActions): Promise<Outcome> {
    const refuse = (code: ErrorCode, detail: string): Outcome => ({ outcome: 'refused', id, code, detail: `${command.action}: ${detail}` });
    this.#o.log.info({ id, action: command.action, kid: command.kid }, 'running a signed command');
    switch (command.action) {
      case 'lock': {
        if (actions.lock === undefined) return refuse(ErrorCode.COMMAND_UNAVAILABLE, 'no lock is configured on this hub');
        try {
          await actions.lock();
        } catch (err) {
          // The Lock contract rejects with a 3xx HubError; anything else still leaves the bolt unconfirmed.
          const code = err instanceof HubError ? err.code : ErrorCode.LOCK_NOT_CONFIRMED;
          const detail = String((err as Error)?.message ?? err).slice(0, 200);
          this.#o.log.error({ id, code, err: detail }, 'lock command failed: the bolt is not confirmed locked');
          this.#o.audit.append({ type: 'bolt.failed', body: { wanted: 'locked', code, detail } });
          return refuse(code, detail);
        }
        // The lock's own `by: hub` report is not audited by lock-audit (whoever commands records it).
        // Named apart from the homeowner's own LAN action: the bolt moved because the cloud said so.
        this.#o.audit.append({ type: 'bolt', body: { state: 'locked', by: 'cloud-command' } });
        return { outcome: 'accepted', id, detail: 'lock' };
      }
      case 'checkpoint':
        // Signed once this command's own entry is written (#command's afterRecord).
        return { outcome: 'accepted', id, detail: 'checkpoint' };
      case 'publish-state':
        try {
          await actions.publishState();
        } catch (err) {
          // Not connected, or no PUBACK: the cloud hears it in the reply (if the link is back) and the log.
          const code = err instanceof HubError ? err.code : ErrorCode.CLOUD_PUBLISH_FAILED;
          return refuse(code, String((err as Error)?.message ?? err).slice(0, 180));
        }
        return { outcome: 'accepted', id, detail: 'publish-state' };
    }
  }

  /** Commands claimed before a stop and never finished: on record as interrupted, never re-run. */
  #settleInterrupted(): void {
    for (const c of this.#commandLog.unfinished()) {
      const id = Buffer.from(c.id).toString('hex');
      const result: Outcome = { outcome: 'refused', id, code: ErrorCode.COMMAND_INTERRUPTED, detail: `${c.action}: the hub stopped while running it; not re-run` };
      this.#o.store.write('full', () => {
        this.#record('commands', result);
        this.#commandLog.finish(c.id, 'refused', ErrorCode.COMMAND_INTERRUPTED);
      });
    }
  }

  #pruneCommands(): void {
    const intake = this.#o.commands;
    // By the largest skew the config allows, not today's: raising access.clockSkewS later must not
    // let a command whose id was forgotten pass the window check again.
    if (intake !== undefined) this.#commandLog.prune(intake.floorMs() - Math.max(intake.clockSkewMs, MAX_CLOCK_SKEW_S * 1000));
  }

  #verifyAndApply(kind: Exclude<DownlinkKind, 'commands'>, payload: Uint8Array): Outcome {
    const trust = this.#o.trust;
    switch (kind) {
      case 'grants':
        return this.#grant(payload);
      case 'keys':
        if (sameBytes(trust.held('keyring'), payload)) return { outcome: 'duplicate', id: 'keyring' };
        return { outcome: 'accepted', id: `keyring-v${trust.installKeyring(payload)}` };
      case 'revocations':
        if (sameBytes(trust.held('revocations'), payload)) return { outcome: 'duplicate', id: 'revocations' };
        return { outcome: 'accepted', id: `revocations-v${trust.installRevocations(payload)}` };
      case 'time':
        return { outcome: 'accepted', id: `time-${trust.acceptSignedTime(payload)}` };
    }
  }

  #grant(payload: Uint8Array): Outcome {
    const envelope = openEnvelope(payload, GRANT_MAX_BYTES);
    const grant: Grant = decodeGrantPayload(envelope.payload);
    const id = Buffer.from(grant.id).toString('hex');
    const refuse = (code: ErrorCode, detail: string): Outcome => ({ outcome: 'refused', id, code, detail });
    const view = this.#o.trust.view();
    const now = this.#o.clock.now();
    // The same checks, in the same order, as decide() for the grant half (hub/access/decide.ts).
    if (grant.hubId !== this.#o.hubId) return refuse(ErrorCode.WRONG_HUB, `grant is for hub ${grant.hubId}`);
    if (now >= grant.notAfter) return refuse(ErrorCode.GRANT_EXPIRED, 'grant window has closed');
    if (view.isGrantRevoked(grant.id)) return refuse(ErrorCode.GRANT_REVOKED, 'grant is revoked');
    if (view.isIssuerRevoked(grant.kid)) return refuse(ErrorCode.ISSUER_REVOKED, `issuer ${grant.kid} is revoked`);
    const issuer = view.issuer(grant.kid);
    if (issuer === undefined) return refuse(ErrorCode.ISSUER_UNKNOWN, `issuer ${grant.kid} is not in the keyring`);
    if (!issuer.certificate.kinds.includes(grant.kind)) return refuse(ErrorCode.KIND_NOT_ALLOWED, `issuer ${grant.kid} may not issue ${grant.kind} grants`);
    if (!verifyEnvelope(Domain.grant, envelope, issuer.key)) return refuse(ErrorCode.GRANT_SIGNATURE_INVALID, 'grant signature does not verify');
    const inserted = this.#o.store.write('full', (db) =>
      db
        .prepare('INSERT OR IGNORE INTO pushed_grants (grant_id, kid, kind, not_after_ms, received_at_ms, signed) VALUES (?, ?, ?, ?, ?, ?)')
        .run(grant.id, grant.kid, grant.kind, grant.notAfter, Math.floor(now), payload).changes,
    );
    return { outcome: inserted === 1 ? 'accepted' : 'duplicate', id };
  }

  #record(kind: DownlinkKind, r: Outcome): void {
    if (r.outcome === 'refused') this.#o.log.warn({ kind, id: r.id, code: r.code, detail: r.detail }, 'downlink payload refused');
    else this.#o.log.info({ kind, id: r.id, outcome: r.outcome }, 'downlink payload');
    // Not caught: a failed audit write surfaces (DESIGN.md, Rules of the house).
    this.#o.audit.append({
      type: 'downlink',
      body: {
        kind,
        outcome: r.outcome,
        ...(r.id === '' ? {} : { id: r.id.slice(0, 128) }),
        ...(r.outcome === 'refused' ? { reason: r.code } : {}),
        ...(r.detail === undefined ? {} : { detail: r.detail.slice(0, 200) }),
      },
    });
    if ((kind === 'keys' || kind === 'revocations') && r.outcome !== 'duplicate') {
      const version = r.outcome === 'accepted' ? Number(/v(\d+)$/.exec(r.id)?.[1] ?? 0) : 0;
      this.#o.audit.append({
        type: 'key.update',
        body: { what: kind === 'keys' ? 'keyring' : 'revocations', version, accepted: r.outcome === 'accepted', ...(r.outcome === 'refused' ? { reason: r.code } : {}) },
      });
    }
  }

  #reply(message: IncomingMessage, r: Outcome): void {
    const correlation = message.correlationData === undefined ? undefined : Buffer.from(message.correlationData.subarray(0, 64)).toString('hex');
    const reply: PayloadOf<'replies'> = {
      id: r.id.slice(0, 128),
      kind: message.name as DownlinkKind,
      outcome: r.outcome,
      ...(r.outcome === 'refused' ? { reason: r.code, reasonName: (ErrorCode[r.code] ?? '').slice(0, 64) } : {}),
      ...(r.detail === undefined ? {} : { detail: r.detail.slice(0, 200) }),
      ...(correlation === undefined ? {} : { correlation }),
    };
    // MQTT 5 §4.10: answer with the request's correlation data. The reply always goes to this
    // hub's own `replies` topic, whatever response topic a payload asks for: a forged request
    // must not make the hub publish elsewhere.
    this.#replies.send(reply, message.correlationData);
  }
}

function isDownlinkKind(name: string): name is DownlinkKind {
  return name === 'grants' || name === 'revocations' || name === 'keys' || name === 'commands' || name === 'time';
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && bytesEqual(a, b);
}
