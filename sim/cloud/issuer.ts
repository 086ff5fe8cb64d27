/**
 * The simulated cloud's issuer: a root (offline in real life, in memory here) and one online
 * issuer key, minting exactly what a real cloud would with the issuer SDK of protocols/grant —
 * the keyring the installer pins, delivery and guest grants, revocation lists, signed time and
 * commands.
 */
import type { Command, CommandAction } from '../../protocols/grant/command.js';
import type { SigningKey } from '../../protocols/grant/ed25519.js';
import type { Grant, GrantKind, WeeklyWindow } from '../../protocols/grant/grant.js';
import { makeIssuerCertificate, makeRoot, newCommandId, newGrantId, signCommand, signGrant, signKeyring, signRevocations, signTime } from '../../protocols/grant/issuer.js';

export interface SimIssuerOptions {
  /** Wall time of the simulation (ms): certificates are valid a year either side of it. */
  now: number;
  kid?: string;
  /** Fixed seeds make a reproducible world (tests); omitted, keys are random. */
  rootSeed?: Uint8Array;
  issuerKey?: SigningKey;
  kinds?: readonly GrantKind[];
}

const YEAR_MS = 365 * 24 * 3_600_000;

export class SimIssuer {
  readonly root: SigningKey;
  readonly issuer: SigningKey;
  readonly kid: string;
  #keyringVersion = 0;
  #revocationsVersion = 0;
  readonly #revokedGrants: Uint8Array[] = [];
  readonly #revokedKids: string[] = [];
  readonly #now: number;
  readonly #kinds: readonly GrantKind[];

  constructor(options: SimIssuerOptions) {
    this.root = makeRoot(options.rootSeed);
    this.kid = options.kid ?? 'sim-cloud-1';
    this.#now = options.now;
    this.#kinds = options.kinds ?? ['delivery', 'guest', 'service', 'owner'];
    this.issuer = makeIssuerCertificate({ kid: this.kid, notBefore: 0, notAfter: 1, kinds: this.#kinds, ...(options.issuerKey ? { key: options.issuerKey } : {}) }).key;
  }

  /** The root public key an installer pins (`keyhub trust-root`). */
  get rootPublicKey(): Uint8Array {
    return this.root.publicKey;
  }

  /** A root-signed keyring certifying the issuer, each call one version newer. */
  keyring(issuedAt = this.#now): Uint8Array {
    const { certificate } = makeIssuerCertificate({ kid: this.kid, key: this.issuer, notBefore: this.#now - YEAR_MS, notAfter: this.#now + YEAR_MS, kinds: this.#kinds });
    return signKeyring({ version: ++this.#keyringVersion, issuedAt, issuers: [certificate] }, this.root);
  }

  /** A one-time delivery grant for a courier's handheld key. */
  deliveryGrant(d: {
    hubId: string;
    lockId: string;
    courierId: string;
    courierKey: Uint8Array;
    orderId: string;
    packageIds: readonly string[];
    addressDigest: Uint8Array;
    notBefore: number;
    notAfter: number;
    maxEntryMs?: number;
    issuedAt?: number;
  }): { grant: Grant; signed: Uint8Array } {
    const grant: Grant = {
      kid: this.kid,
      id: newGrantId(),
      hubId: d.hubId,
      lockId: d.lockId,
      kind: 'delivery',
      subjectId: d.courierId,
      subjectKey: d.courierKey,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      maxEntryMs: d.maxEntryMs ?? 120_000,
      uses: 1,
      issuedAt: d.issuedAt ?? this.#now,
      delivery: { orderId: d.orderId, packageIds: [...d.packageIds], addressDigest: d.addressDigest },
    };
    return { grant, signed: signGrant(grant, this.issuer) };
  }

  /** A recurring guest grant: weekly windows in the home's time zone. */
  guestGrant(g: { hubId: string; lockId: string; guestId: string; guestKey: Uint8Array; notBefore: number; notAfter: number; uses: number; weekly: readonly WeeklyWindow[]; tz: string }): { grant: Grant; signed: Uint8Array } {
    const grant: Grant = {
      kid: this.kid,
      id: newGrantId(),
      hubId: g.hubId,
      lockId: g.lockId,
      kind: 'guest',
      subjectId: g.guestId,
      subjectKey: g.guestKey,
      notBefore: g.notBefore,
      notAfter: g.notAfter,
      maxEntryMs: 600_000,
      uses: g.uses,
      issuedAt: this.#now,
      recurring: { weekly: [...g.weekly], tz: g.tz },
    };
    return { grant, signed: signGrant(grant, this.issuer) };
  }

  /** Revokes a grant (or an issuer kid) and returns the next root-signed revocation list. */
  revoke(what: { grantId?: Uint8Array; kid?: string }, issuedAt = this.#now): Uint8Array {
    if (what.grantId !== undefined) this.#revokedGrants.push(what.grantId);
    if (what.kid !== undefined) this.#revokedKids.push(what.kid);
    return signRevocations({ version: ++this.#revocationsVersion, issuedAt, grantIds: [...this.#revokedGrants], kids: [...this.#revokedKids] }, this.root);
  }

  /** The cloud's clock, signed: raises a hub's clock floor. */
  time(at: number): Uint8Array {
    return signTime({ kid: this.kid, time: at }, this.issuer);
  }

  /**
   * A command for one hub, valid from `at` for `validForMs` (default 2 minutes; at most 10). Only an
   * issuer certified for the `owner` kind may command (protocols/grant/command.ts).
   */
  command(hubId: string, action: CommandAction, options: { at?: number; validForMs?: number } = {}): { command: Command; signed: Uint8Array } {
    const at = options.at ?? this.#now;
    const command: Command = { kid: this.kid, id: newCommandId(), hubId, action, issuedAt: at, notAfter: at + (options.validForMs ?? 120_000) };
    return { command, signed: signCommand(command, this.issuer) };
  }
}
