import { bytesEqual, CborError } from '../../protocols/cbor/canonical.js';
import { Domain, openEnvelope, verifyEnvelope } from '../../protocols/grant/envelope.js';
import { decodeGrantPayload, GRANT_MAX_BYTES, type Grant } from '../../protocols/grant/grant.js';
import { checkBytesPayload, type DownlinkKind, type PayloadOf } from '../../protocols/mqtt/contract.js';
import type { AccessService } from '../access/module.js';
import type { TrustView } from '../access/trust.js';
import { trustStore } from '../store/trust-store.js';
import type { AuditSink } from '../store/audit-log.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import type { CloudLink, IncomingMessage } from './link.js';

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

export interface DownlinkOptions {
  hubId: string;
  link: Pick<CloudLink, 'on' | 'publish'>;
  audit: AuditSink;
  trust: DownlinkTrust;
  store: Store;
  clock: Clock;
  log: Logger;
}

type Outcome = { outcome: 'accepted' | 'duplicate'; id: string } | { outcome: 'refused'; id: string; code: ErrorCode; detail: string };

/**
 * Downlink intake (issue 8, Cloud link 4): `grants`, `revocations`, `keys` and `time` payloads are
 * the grants room's signed envelopes, verified with its functions BEFORE anything is stored:
 * grants against an issuer of the installed keyring (and the hub id, kind, revocations, expiry),
 * keyrings and revocation lists against the pinned root with rollback protection, signed time
 * against an issuer. Every payload is idempotent by its id (grant id, list/keyring version, time),
 * answered on `replies` (accepted / duplicate / refused + reason code) and audited, so a forged
 * payload on the hub's own topic — the transport is never the only check — is on record.
 * `commands` are refused until a signed command format exists in protocols/grant.
 *
 * An audit write that fails is not caught: the error surfaces to the daemon.
 */
export class DownlinkIntake implements Module {
  readonly name = 'cloud-downlink';
  readonly #o: DownlinkOptions;
  #unsubscribe: (() => void) | undefined;
  #handled = 0;

  constructor(options: DownlinkOptions) {
    this.#o = options;
  }

  get handled(): number {
    return this.#handled;
  }

  start(): void {
    this.#unsubscribe = this.#o.link.on({ onMessage: (m) => this.#onMessage(m) });
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  /** Verifies, stores, audits and answers one payload; returns what it decided. */
  handle(kind: DownlinkKind, payload: Uint8Array): Outcome {
    const checked = checkBytesPayload(kind, payload);
    let result: Outcome;
    if (!checked.ok) result = { outcome: 'refused', id: '', code: ErrorCode.CLOUD_PAYLOAD_INVALID, detail: checked.problem };
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
    this.#record(kind, result);
    return result;
  }

  #onMessage(message: IncomingMessage): void {
    if (message.name === 'acks' || !isDownlinkKind(message.name)) return;
    const result = this.handle(message.name, message.payload);
    this.#reply(message, result);
  }

  #verifyAndApply(kind: DownlinkKind, payload: Uint8Array): Outcome {
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
      case 'commands':
        return { outcome: 'refused', id: '', code: ErrorCode.CLOUD_DOWNLINK_REFUSED, detail: 'no signed command format is defined yet: commands are refused' };
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
        ...(r.outcome === 'refused' ? { reason: r.code, detail: r.detail.slice(0, 200) } : {}),
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
      ...(r.outcome === 'refused' ? { reason: r.code, reasonName: (ErrorCode[r.code] ?? '').slice(0, 64), detail: r.detail.slice(0, 200) } : {}),
      ...(correlation === undefined ? {} : { correlation }),
    };
    // MQTT 5 §4.10: answer with the request's correlation data. The reply always goes to this
    // hub's own `replies` topic, whatever response topic a payload asks for: a forged request
    // must not make the hub publish elsewhere.
    void this.#o.link
      .publish('replies', reply, message.correlationData === undefined ? {} : { correlationData: message.correlationData })
      .catch((err: unknown) => this.#o.log.warn({ err: (err as Error).message }, 'reply not sent (the cloud sees the outcome in the audit log)'));
  }
}

function isDownlinkKind(name: string): name is DownlinkKind {
  return name === 'grants' || name === 'revocations' || name === 'keys' || name === 'commands' || name === 'time';
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && bytesEqual(a, b);
}
