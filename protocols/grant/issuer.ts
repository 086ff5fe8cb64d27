/**
 * The issuer SDK: what a cloud service (and sim/cloud) imports to mint everything the hub trusts.
 * Pure functions over keys and bytes; the same code paths the hub's decoders check, so whatever
 * this produces, the hub accepts, and a mistake is reported here, at the issuer. That includes
 * public keys: a grant for a subject key, or a keyring for an issuer key, that the hub would refuse
 * (small order, or no point at all: point-check.ts) is refused here with a RangeError.
 */
import { randomBytes } from 'node:crypto';
import { COMMAND_ID_BYTES, encodeCommandPayload, type Command } from './command.js';
import { Domain, seal } from './envelope.js';
import { generateSigningKey, signingKeyFromSeed, type SigningKey } from './ed25519.js';
import { GRANT_ID_BYTES, encodeGrantPayload, type Grant, type GrantKind } from './grant.js';
import { publicKeyProblem } from './point-check.js';
import {
  encodeKeyringPayload,
  encodeRevocationsPayload,
  encodeRootTimePayload,
  encodeSignedTimePayload,
  type IssuerCertificate,
  type Keyring,
  type RevocationList,
  type RootTime,
} from './trust.js';

/** A fresh root key (keep its seed offline); `seed` restores one. */
export function makeRoot(seed?: Uint8Array): SigningKey {
  return seed === undefined ? generateSigningKey() : signingKeyFromSeed(seed);
}

/** An issuer's key and its certificate body; the root certifies it by signing a keyring with it. */
export function makeIssuerCertificate(options: {
  kid: string;
  notBefore: number;
  notAfter: number;
  kinds: readonly GrantKind[];
  key?: SigningKey;
}): { key: SigningKey; certificate: IssuerCertificate } {
  const key = options.key ?? generateSigningKey();
  return {
    key,
    certificate: { kid: options.kid, publicKey: key.publicKey, notBefore: options.notBefore, notAfter: options.notAfter, kinds: [...options.kinds] },
  };
}

/** 16 random bytes (DESIGN.md: grant ids are random and one-time). */
export function newGrantId(): Uint8Array {
  return new Uint8Array(randomBytes(GRANT_ID_BYTES));
}

/** Signs a grant with the issuer key its `kid` names; refuses a subject key the hub would refuse. */
export function signGrant(grant: Grant, issuerKey: SigningKey): Uint8Array {
  const problem = publicKeyProblem(grant.subjectKey);
  if (problem !== undefined) throw new RangeError(`grant for ${grant.subjectId}: subject key refused: ${problem}`);
  return seal(Domain.grant, encodeGrantPayload(grant), issuerKey);
}

/** Signs a keyring with the root; refuses one certifying an issuer key the hub would refuse. */
export function signKeyring(keyring: Keyring, root: SigningKey): Uint8Array {
  for (const c of keyring.issuers) {
    const problem = publicKeyProblem(c.publicKey);
    if (problem !== undefined) throw new RangeError(`keyring: issuer ${c.kid}'s key refused: ${problem}`);
  }
  return seal(Domain.keyring, encodeKeyringPayload(keyring), root);
}

export function signRevocations(list: RevocationList, root: SigningKey): Uint8Array {
  return seal(Domain.revocations, encodeRevocationsPayload(list), root);
}

/**
 * An issuer's word on the time: the hub decides by it while its own clock is behind the floor, and
 * raises the floor toward it no further than its own clock plus the skew. `kid` names `issuerKey`.
 */
export function signTime(time: { kid: string; time: number }, issuerKey: SigningKey): Uint8Array {
  return seal(Domain.time, encodeSignedTimePayload(time), issuerKey);
}

/**
 * The root's word on the time for one hub: sets that hub's clock floor to `time`, even down (the
 * way out of a floor pushed ahead of the truth). `version` must exceed the last one the hub took.
 */
export function signRootTime(time: RootTime, root: SigningKey): Uint8Array {
  return seal(Domain.rootTime, encodeRootTimePayload(time), root);
}

/** 16 random bytes: a command's id, the hub's replay key for it. */
export function newCommandId(): Uint8Array {
  return new Uint8Array(randomBytes(COMMAND_ID_BYTES));
}

/** Signs a command with the issuer key its `kid` names (the certificate must list `owner`). */
export function signCommand(command: Command, issuerKey: SigningKey): Uint8Array {
  return seal(Domain.command, encodeCommandPayload(command), issuerKey);
}
