/**
 * The issuer SDK: what a cloud service (and sim/cloud) imports to mint everything the hub trusts.
 * Pure functions over keys and bytes; the same code paths the hub's decoders check, so whatever
 * this produces, the hub accepts, and a mistake is reported here, at the issuer.
 */
import { randomBytes } from 'node:crypto';
import { COMMAND_ID_BYTES, encodeCommandPayload, type Command } from './command.js';
import { Domain, seal } from './envelope.js';
import { generateSigningKey, signingKeyFromSeed, type SigningKey } from './ed25519.js';
import { GRANT_ID_BYTES, encodeGrantPayload, type Grant, type GrantKind } from './grant.js';
import {
  encodeKeyringPayload,
  encodeRevocationsPayload,
  encodeSignedTimePayload,
  type IssuerCertificate,
  type Keyring,
  type RevocationList,
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

/** Signs a grant with the issuer key its `kid` names. */
export function signGrant(grant: Grant, issuerKey: SigningKey): Uint8Array {
  return seal(Domain.grant, encodeGrantPayload(grant), issuerKey);
}

export function signKeyring(keyring: Keyring, root: SigningKey): Uint8Array {
  return seal(Domain.keyring, encodeKeyringPayload(keyring), root);
}

export function signRevocations(list: RevocationList, root: SigningKey): Uint8Array {
  return seal(Domain.revocations, encodeRevocationsPayload(list), root);
}

/** A time the hub may raise its clock floor to; `kid` must name `issuerKey`'s certificate. */
export function signTime(time: { kid: string; time: number }, issuerKey: SigningKey): Uint8Array {
  return seal(Domain.time, encodeSignedTimePayload(time), issuerKey);
}

/** 16 random bytes: a command's id, the hub's replay key for it. */
export function newCommandId(): Uint8Array {
  return new Uint8Array(randomBytes(COMMAND_ID_BYTES));
}

/** Signs a command with the issuer key its `kid` names (the certificate must list `owner`). */
export function signCommand(command: Command, issuerKey: SigningKey): Uint8Array {
  return seal(Domain.command, encodeCommandPayload(command), issuerKey);
}
