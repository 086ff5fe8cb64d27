/**
 * The doorkeeper of one lock: takes the courier's requests (VisitRequests, from any transport),
 * admits at most one visit at a time, and runs it (visit-flow.ts, securing.ts).
 *
 * Admission is one synchronous=FULL transaction: the visit opened in the journal (it now holds the
 * lock), its steps requested and verifying, authorize() — which consumes the grant use and the
 * challenge — the decision on record, and the next step (camera-arming, or the refusal that ends
 * it). Nothing else runs in between, so a crash leaves either no trace of the request or all of it.
 *
 * Requests the lock cannot take at all (a visit already holds it, the hub is starting or stopping,
 * no lock is paired, the lock is unreachable) are refused before any grant is looked at or used:
 * they are `decision` entries, not visits, and the courier may try again with the same grant.
 */
import { randomBytes } from 'node:crypto';
import type { ChainedRecord } from '../../protocols/audit/chain.js';
import type { Transport } from '../../protocols/grant/presentation.js';
import type { AccessService } from '../access/module.js';
import type { HomePolicyStore } from '../store/home-policy.js';
import { ErrorCode } from '../system/errors.js';
import { type DoorContext } from './context.js';
import { refusal, type ChallengeAnswer, type PresentAnswer, type Presented, type Refusal, type RelockAnswer, type VisitRequests } from './requests.js';
import { openVisit, writeStep } from './steps.js';
import { Visit } from './visit.js';
import { runVisit, type VisitEnd } from './visit-flow.js';

const VISIT_ID = /^[0-9a-f]{32}$/;

export interface DoorkeeperDeps {
  ctx: DoorContext;
  access: Pick<AccessService, 'authorize' | 'issueChallenge'>;
  policy: HomePolicyStore;
  /** The lock's id became known or changed (remembered in the store, a `pairing` entry). */
  onLockId(id: string): void;
  /** A write of the journal or the audit log failed inside a visit: the daemon must stop. */
  onAuditFailure(err: unknown): void;
}

export class Doorkeeper implements VisitRequests {
  readonly #d: DoorkeeperDeps;
  #current: Visit | undefined;
  #flow: Promise<VisitEnd> | undefined;
  /** Off until boot-time recovery has claimed what a crash left open, and again from stop(). */
  #taking = false;

  constructor(deps: DoorkeeperDeps) {
    this.#d = deps;
  }

  /** The visit holding the lock now, if any (door and jam entries name it). */
  get current(): Visit | undefined {
    return this.#current;
  }

  /** Requests are answered from now on. */
  open(): void {
    this.#taking = true;
  }

  /**
   * Runs each visit in turn as the one holding the lock (boot-time recovery); requests are refused
   * until the last is done. The first holds the lock before this returns.
   */
  hold(visits: readonly Visit[], run: (v: Visit) => Promise<VisitEnd>): Promise<VisitEnd> | undefined {
    const [first] = visits;
    if (first === undefined) return undefined;
    this.#current = first;
    const all = (async (): Promise<VisitEnd> => {
      let end: VisitEnd = 'secured';
      for (const v of visits) {
        this.#current = v;
        end = await run(v);
        if (end === 'stopped') break;
      }
      return end;
    })();
    return this.#track(first, all, visits);
  }

  challenge(transport: Transport): ChallengeAnswer {
    const cannot = this.#cannotTake();
    if (cannot !== undefined) return cannot;
    this.#d.ctx.log.info({ transport }, 'challenge issued');
    return { ok: true, challenge: this.#d.access.issueChallenge() };
  }

  async present(request: Presented): Promise<PresentAnswer> {
    const { ctx } = this.#d;
    const cannot = this.#cannotTake();
    if (cannot !== undefined) {
      this.#write(() => ctx.audit.append({ type: 'decision', body: { outcome: 'refuse', reason: cannot.code, reasonName: cannot.codeName, transport: request.transport } }));
      return cannot;
    }
    const lockId = ctx.lock.id() as string;
    const v = new Visit({ id: randomBytes(16).toString('hex'), lockId, transport: request.transport }, ctx.clock);
    this.#current = v;
    let refused: Refusal | undefined;
    try {
      refused = openVisit(ctx, v, ctx.clock.now(), () => this.#admit(v, request));
    } catch (err) {
      this.#current = undefined;
      this.#d.onAuditFailure(err);
      throw err;
    }
    if (refused !== undefined) {
      this.#current = undefined;
      ctx.notify({ kind: refused.leaveOutside ? 'left-outside' : 'refused', visitId: v.id, code: refused.code, codeName: refused.codeName });
      return refused;
    }
    return new Promise<PresentAnswer>((resolve) => {
      let answered = false;
      const answer = (a: PresentAnswer): void => {
        if (!answered) resolve(a);
        answered = true;
      };
      void this.#track(v, runVisit(ctx, v, answer)).finally(() => answer(refusal(ErrorCode.VISITS_NOT_TAKEN, 'the visit ended before the door opened', v.id)));
    });
  }

  async relock(visitId: string): Promise<RelockAnswer> {
    if (!VISIT_ID.test(visitId)) return refusal(ErrorCode.VISIT_UNKNOWN, 'not a visit id');
    const v = this.#current;
    if (v !== undefined && v.id === visitId) {
      v.relockAsked = true;
      v.poke();
      return v.whenDecided();
    }
    const past = this.#d.ctx.journal.get(visitId);
    if (past === undefined) return refusal(ErrorCode.VISIT_UNKNOWN, 'this hub knows no such visit');
    if (past.outcome !== undefined && past.receipt !== undefined) return { ok: true, visitId, outcome: past.outcome, receipt: past.receipt };
    const reason = this.#d.ctx.journal.steps(visitId).findLast((s) => s.reason !== undefined)?.reason ?? ErrorCode.VISIT_UNKNOWN;
    return refusal(reason, `the visit ended ${past.state} without an entry`, visitId);
  }

  /** A door or bolt report, a camera stall: the visit re-reads the world. */
  lockReported(locked: boolean): void {
    const v = this.#current;
    if (v === undefined) return;
    if (locked) v.sawLocked = true;
    v.poke();
  }

  cameraStalled(): void {
    const v = this.#current;
    if (v === undefined || !['camera-arming', 'unlocking', 'open'].includes(v.state)) return;
    v.stalled = true;
    v.poke();
  }

  /** No new visit; the one in progress stops waiting. Resolves with it and how it ended. */
  async stop(): Promise<{ visit: Visit; end: VisitEnd } | undefined> {
    this.#taking = false;
    const v = this.#current;
    if (v === undefined || this.#flow === undefined) return undefined;
    v.stopping = true;
    v.poke();
    return { visit: v, end: await this.#flow };
  }

  #track(v: Visit, flow: Promise<VisitEnd>, all: readonly Visit[] = [v]): Promise<VisitEnd> {
    const tracked = flow
      .catch((err: unknown): VisitEnd => {
        // A journal or audit write failed (or something unforeseen): never swallowed. The visit
        // stays open in the journal; the restarted daemon relocks it first.
        this.#d.onAuditFailure(err);
        return 'stopped';
      })
      .finally(() => {
        if (this.#current !== undefined && all.includes(this.#current)) this.#current = undefined;
      });
    this.#flow = tracked;
    return tracked;
  }

  /** Inside the admission transaction: decide, consume, record. Returns the refusal, if it is one. */
  #admit(v: Visit, request: Presented): Refusal | undefined {
    const { ctx, access, policy } = this.#d;
    writeStep(ctx, v, { state: 'verifying' });
    const home = policy.get();
    const decision = access.authorize(request.grant, request.presentation, {
      hubId: ctx.hubId,
      lockId: v.lockId,
      transport: request.transport,
      ...(request.rssiDbm === undefined ? {} : { rssiDbm: request.rssiDbm }),
      // Pets inside is a pause of deliveries with its own reason (DESIGN.md, step 3).
      deliveriesPaused: home.deliveriesPaused || home.petsInside,
      cameraHealthy: ctx.cameraHealthy(),
    });
    if (!decision.allow) {
      const code = decision.code === ErrorCode.DELIVERIES_PAUSED && !home.deliveriesPaused ? ErrorCode.PETS_INSIDE : decision.code;
      const why = code === ErrorCode.PETS_INSIDE ? 'pets are inside: leave the parcel outside' : decision.reason;
      const answer = refusal(code, why, v.id);
      writeStep(ctx, v, {
        state: answer.leaveOutside ? 'left-outside' : 'refused',
        reason: code,
        with: [{ type: 'decision', body: { outcome: 'refuse', reason: code, reasonName: answer.codeName.slice(0, 64), transport: request.transport, visitId: v.id } }],
        close: true,
      });
      return answer;
    }
    const { grant } = decision;
    v.grant = { id: grant.id, kind: grant.kind, subject: grant.subjectId, maxEntryMs: grant.maxEntryMs };
    v.grantIdHex = Buffer.from(grant.id).toString('hex');
    writeStep(ctx, v, {
      state: 'camera-arming',
      with: [{ type: 'decision', body: { outcome: 'allow', reason: 0, transport: request.transport, grantId: v.grantIdHex, subject: grant.subjectId.slice(0, 128), visitId: v.id } }],
      patch: { grantId: grant.id, grantKind: grant.kind, subject: grant.subjectId, maxEntryMs: grant.maxEntryMs },
    });
    v.state = 'camera-arming';
    return undefined;
  }

  /** Why no visit can begin now, if so: checked before any grant is read or used. */
  #cannotTake(): Refusal | undefined {
    const { lock } = this.#d.ctx;
    if (!this.#taking) return refusal(ErrorCode.VISITS_NOT_TAKEN, 'the hub is starting or stopping');
    if (this.#current !== undefined) return refusal(ErrorCode.VISIT_IN_PROGRESS, 'another visit is in progress at this door');
    const id = lock.id();
    if (id === undefined) return refusal(ErrorCode.LOCK_NOT_PAIRED, 'no lock is paired with this hub');
    this.#d.onLockId(id);
    if (!lock.state().connected) return refusal(ErrorCode.LOCK_UNREACHABLE, 'the lock does not answer');
    return undefined;
  }

  #write(fn: () => ChainedRecord): void {
    try {
      fn();
    } catch (err) {
      this.#d.onAuditFailure(err);
      throw err;
    }
  }
}
