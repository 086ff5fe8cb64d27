/**
 * What the hub trusts right now: the pinned root, the issuers of the installed keyring (each with
 * its Ed25519 KeyObject made once, so a decision never parses a key) and the installed revocation
 * list. Updates arrive signed (from the cloud or the installer) and are verified against the root,
 * with rollback protection: a version lower than or equal to the one held is refused (TUF-style).
 * Every key the root certifies is point-checked (protocols/grant/point-check.ts) before it is used.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyObject } from '../../protocols/grant/ed25519.js';
import { Domain, openEnvelope, verifyEnvelope } from '../../protocols/grant/envelope.js';
import { publicKeyProblem } from '../../protocols/grant/point-check.js';
import {
  KEYRING_MAX_BYTES,
  REVOCATIONS_MAX_BYTES,
  SIGNED_TIME_MAX_BYTES,
  decodeKeyringPayload,
  decodeRevocationsPayload,
  decodeRootTimePayload,
  decodeSignedTimePayload,
  type IssuerCertificate,
} from '../../protocols/grant/trust.js';
import type { TrustStore } from '../store/trust-store.js';
import { ErrorCode, HubError } from '../system/errors.js';

export interface Issuer {
  readonly certificate: IssuerCertificate;
  readonly key: KeyObject;
}

/** The read side decide() needs. */
export interface TrustView {
  issuer(kid: string): Issuer | undefined;
  isGrantRevoked(grantId: Uint8Array): boolean;
  isIssuerRevoked(kid: string): boolean;
}

export interface TrustStatus {
  rootPinned: boolean;
  keyringVersion: number;
  revocationsVersion: number;
  issuers: string[];
}

type Apply = (() => void) & { version: number };

/** A signed time that verified: an issuer's word, or the root's for this hub (with its version). */
export type VerifiedTime = { by: 'issuer'; kid: string; time: number } | { by: 'root'; version: number; time: number; signed: Uint8Array };

/** Grant ids as map keys: latin1 keeps one character per byte, cheaper than hex. */
function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}

export class TrustState implements TrustView {
  readonly #store: TrustStore;
  #root: KeyObject | undefined;
  #issuers = new Map<string, Issuer>();
  #revokedGrants = new Set<string>();
  #revokedKids = new Set<string>();
  #keyringVersion = 0;
  #revocationsVersion = 0;

  /** Loads and re-verifies what the store holds; a held document that no longer verifies is an error. */
  constructor(store: TrustStore) {
    this.#store = store;
    const root = store.rootPublicKey();
    if (root !== undefined) this.#root = publicKeyObject(root);
    const keyring = store.held('keyring');
    if (keyring !== undefined) this.#verifyKeyring(keyring.signed, 0)();
    const revocations = store.held('revocations');
    if (revocations !== undefined) this.#verifyRevocations(revocations.signed, 0)();
  }

  issuer(kid: string): Issuer | undefined {
    return this.#issuers.get(kid);
  }

  isGrantRevoked(grantId: Uint8Array): boolean {
    return this.#revokedGrants.size > 0 && this.#revokedGrants.has(idKey(grantId));
  }

  isIssuerRevoked(kid: string): boolean {
    return this.#revokedKids.has(kid);
  }

  status(): TrustStatus {
    return {
      rootPinned: this.#root !== undefined,
      keyringVersion: this.#keyringVersion,
      revocationsVersion: this.#revocationsVersion,
      issuers: [...this.#issuers.keys()],
    };
  }

  /**
   * Pins the root (installer: `keyhub trust-root`). Replacing a pinned root drops what it signed.
   * A key that is no point, or a point of small order (under which anyone can forge), is refused.
   */
  pinRoot(publicKey: Uint8Array): void {
    const problem = publicKeyProblem(publicKey);
    if (problem !== undefined) throw new HubError(ErrorCode.TRUST_ROOT_REFUSED, `root key refused: ${problem}`);
    const key = publicKeyObject(publicKey);
    this.#store.pinRoot(publicKey);
    this.#root = key;
    const keyring = this.#store.held('keyring');
    if (keyring === undefined) {
      this.#issuers = new Map();
      this.#keyringVersion = 0;
    }
    if (this.#store.held('revocations') === undefined) {
      this.#revokedGrants = new Set();
      this.#revokedKids = new Set();
      this.#revocationsVersion = 0;
    }
  }

  /** Verifies and installs a root-signed keyring; returns its version. */
  installKeyring(signed: Uint8Array): number {
    const apply = this.#verifyKeyring(signed, this.#keyringVersion);
    // Another process may have installed a newer one meanwhile: the store decides, then memory follows.
    if (!this.#store.replace('keyring', { version: apply.version, signed })) {
      throw new HubError(ErrorCode.KEYRING_ROLLBACK, `keyring version ${apply.version} is not newer than the one held`);
    }
    apply();
    return apply.version;
  }

  /** Verifies and installs a root-signed revocation list; returns its version. */
  installRevocations(signed: Uint8Array): number {
    const apply = this.#verifyRevocations(signed, this.#revocationsVersion);
    if (!this.#store.replace('revocations', { version: apply.version, signed })) {
      throw new HubError(ErrorCode.REVOCATIONS_ROLLBACK, `revocation list version ${apply.version} is not newer than the one held`);
    }
    apply();
    return apply.version;
  }

  /**
   * Verifies a signed time: a RootTime (told apart by its signature, under the root and the
   * root-time domain) for `hubId` whose version is newer than the last one taken, or a SignedTime
   * from a trusted, unrevoked issuer whose certificate covers that time. Throws TRUST_UPDATE_INVALID
   * otherwise. What the time may move is the caller's (hub/access/signed-time.ts).
   */
  verifySignedTime(signed: Uint8Array, hubId: string): VerifiedTime {
    const envelope = this.#open(signed, SIGNED_TIME_MAX_BYTES, 'signed time');
    if (this.#root !== undefined && verifyEnvelope(Domain.rootTime, envelope, this.#root)) {
      const t = this.#decode(() => decodeRootTimePayload(envelope.payload), 'root time');
      if (t.hubId !== hubId) throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `root time is for hub ${t.hubId}`);
      const held = this.#store.held('root-time')?.version ?? 0;
      if (t.version <= held) throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `root time version ${t.version} is not newer than the held version ${held}`);
      return { by: 'root', version: t.version, time: t.time, signed };
    }
    const time = this.#decode(() => decodeSignedTimePayload(envelope.payload), 'signed time');
    const issuer = this.#issuers.get(time.kid);
    if (issuer === undefined || this.#revokedKids.has(time.kid)) {
      throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `signed time from unknown or revoked issuer ${time.kid}`);
    }
    if (time.time < issuer.certificate.notBefore || time.time >= issuer.certificate.notAfter) {
      throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `signed time is outside issuer ${time.kid}'s certificate`);
    }
    if (!verifyEnvelope(Domain.time, envelope, issuer.key)) throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, 'signed time: signature does not verify');
    return { by: 'issuer', kid: time.kid, time: time.time };
  }

  /**
   * Records a root time as taken (durably; inside the caller's transaction it commits with it).
   * Another process may have taken a newer one meanwhile: then this one is refused.
   */
  recordRootTime(t: Extract<VerifiedTime, { by: 'root' }>): void {
    if (!this.#store.replace('root-time', { version: t.version, signed: t.signed })) {
      throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `root time version ${t.version} is not newer than the one held`);
    }
  }

  /** Verifies a keyring; returns a function that installs it in memory, carrying its version. */
  #verifyKeyring(signed: Uint8Array, mustExceed: number): Apply {
    const root = this.#requireRoot();
    const envelope = this.#open(signed, KEYRING_MAX_BYTES, 'keyring');
    if (!verifyEnvelope(Domain.keyring, envelope, root)) throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, 'keyring: root signature does not verify');
    const keyring = this.#decode(() => decodeKeyringPayload(envelope.payload), 'keyring');
    if (keyring.version <= mustExceed) {
      throw new HubError(ErrorCode.KEYRING_ROLLBACK, `keyring version ${keyring.version} is not newer than the held version ${mustExceed}`);
    }
    for (const c of keyring.issuers) {
      const problem = publicKeyProblem(c.publicKey);
      if (problem !== undefined) throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `keyring: issuer ${c.kid}'s key is refused: ${problem}`);
    }
    const issuers = new Map(keyring.issuers.map((c) => [c.kid, { certificate: c, key: publicKeyObject(c.publicKey) }]));
    return Object.assign(
      () => {
        this.#issuers = issuers;
        this.#keyringVersion = keyring.version;
      },
      { version: keyring.version },
    );
  }

  #verifyRevocations(signed: Uint8Array, mustExceed: number): Apply {
    const root = this.#requireRoot();
    const envelope = this.#open(signed, REVOCATIONS_MAX_BYTES, 'revocations');
    if (!verifyEnvelope(Domain.revocations, envelope, root)) throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, 'revocations: root signature does not verify');
    const list = this.#decode(() => decodeRevocationsPayload(envelope.payload), 'revocations');
    if (list.version <= mustExceed) {
      throw new HubError(ErrorCode.REVOCATIONS_ROLLBACK, `revocation list version ${list.version} is not newer than the held version ${mustExceed}`);
    }
    return Object.assign(
      () => {
        this.#revokedGrants = new Set(list.grantIds.map(idKey));
        this.#revokedKids = new Set(list.kids);
        this.#revocationsVersion = list.version;
      },
      { version: list.version },
    );
  }

  #requireRoot(): KeyObject {
    if (this.#root === undefined) throw new HubError(ErrorCode.TRUST_ROOT_MISSING, 'no root key is pinned: run `keyhub trust-root` first');
    return this.#root;
  }

  #open(signed: Uint8Array, maxBytes: number, what: string): ReturnType<typeof openEnvelope> {
    return this.#decode(() => openEnvelope(signed, maxBytes), what);
  }

  #decode<T>(fn: () => T, what: string): T {
    try {
      return fn();
    } catch (err) {
      throw new HubError(ErrorCode.TRUST_UPDATE_INVALID, `${what}: ${(err as Error).message}`, { cause: err });
    }
  }
}
