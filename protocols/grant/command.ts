/**
 * The command: one issuer's signed request that one hub do one thing now (DESIGN.md, "Cloud
 * link": the cloud pushes commands on `commands`). Same envelope as the other
 * signed messages (envelope.ts: canonical CBOR `[payload, signature]`, the signature over
 * `keyhub/command/v1 || 0x00 || payload`), so a grant's or a keyring's signature never verifies as a
 * command. The payload is a canonical CBOR map with integer keys:
 *
 *  key  field      type                                       rule
 *   0   v          uint                                       1
 *   1   kid        text ≤ 64                                  issuer key id (certificate in the keyring)
 *   2   id         bytes 16                                   random; the replay key (idempotency)
 *   3   hubId      text ≤ 64                                  a command is for exactly one hub
 *   4   action     "lock"|"checkpoint"|"publish-state"         the closed set below
 *   5   issuedAt   time (ms since epoch, ≤ MAX_TIME_MS)
 *   6   notAfter   time                                       issuedAt < notAfter ≤ issuedAt + 10 min
 *
 * The actions are what a cloud may ask of a delivery hub that is NOT a remote unlock: opening the
 * door only ever happens through a grant and its holder's presentation (DESIGN.md, "Trust and
 * tokens"). `lock` throws the bolt now; `checkpoint` signs an audit checkpoint at the head now and
 * sends it; `publish-state` publishes the retained state now. Pausing deliveries is left out until
 * the hub holds that state.
 *
 * Validity is short on purpose: a command is "now", not a standing permission, and a short window
 * bounds how long the hub must remember executed ids to refuse a replay.
 *
 * Who may sign one: an issuer of the installed keyring whose certificate lists the `owner` grant
 * kind (see `mayIssueCommands`). IssuerCertificate's only scope field is `kinds` (trust.ts, key 4);
 * an issuer trusted with owner grants may already let the homeowner in and out at any time, so the
 * commands above — none of which opens the door — stay within what it is trusted for, while a
 * carrier's delivery-only issuer cannot command a hub.
 */
import { CborError, decodeCanonical, encodeCanonical, type CborValue } from '../cbor/canonical.js';
import { FieldReader, knownFields } from '../cbor/fields.js';
import type { GrantKind } from './grant.js';
import type { IssuerCertificate } from './trust.js';

/** A signed command is at most this many bytes (envelope and payload; a real one is ~200). */
export const COMMAND_MAX_BYTES = 512;
export const COMMAND_ID_BYTES = 16;
/** The longest window a command may carry: issuedAt < notAfter ≤ issuedAt + this. */
export const COMMAND_MAX_VALIDITY_MS = 10 * 60_000;
export const COMMAND_ACTIONS = ['lock', 'checkpoint', 'publish-state'] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];
/** The grant kind an issuer's certificate must list for its commands to count (see above). */
export const COMMAND_ISSUER_KIND: GrantKind = 'owner';
const ID_MAX = 64;
const KNOWN = knownFields(0, 1, 2, 3, 4, 5, 6);

export interface Command {
  readonly kid: string;
  readonly id: Uint8Array;
  readonly hubId: string;
  readonly action: CommandAction;
  readonly issuedAt: number;
  readonly notAfter: number;
}

export function encodeCommandPayload(c: Command): Uint8Array {
  const bytes = encodeCanonical(
    new Map<number, CborValue>([
      [0, 1],
      [1, c.kid],
      [2, c.id],
      [3, c.hubId],
      [4, c.action],
      [5, c.issuedAt],
      [6, c.notAfter],
    ]),
  );
  // As for grants: the issuer SDK never produces what the hub refuses; a mistake shows here.
  decodeCommandPayload(bytes);
  return bytes;
}

/** Decodes and checks a command payload; throws CborError naming the first problem. */
export function decodeCommandPayload(payload: Uint8Array): Command {
  const r = new FieldReader(decodeCanonical(payload, { maxBytes: COMMAND_MAX_BYTES, maxDepth: 1 }), 'command', KNOWN);
  if (r.uint(0) !== 1) throw new CborError('command: unsupported version');
  const command: Command = {
    kid: r.text(1, ID_MAX),
    id: r.bytes(2, COMMAND_ID_BYTES),
    hubId: r.text(3, ID_MAX),
    action: r.oneOf(4, COMMAND_ACTIONS),
    issuedAt: r.time(5),
    notAfter: r.time(6),
  };
  if (command.notAfter <= command.issuedAt) throw new CborError('command: notAfter must be after issuedAt');
  if (command.notAfter - command.issuedAt > COMMAND_MAX_VALIDITY_MS) {
    throw new CborError(`command: valid for at most ${COMMAND_MAX_VALIDITY_MS / 60_000} minutes`);
  }
  return command;
}

/** Whether this issuer's certificate lets it command hubs (the rule in the header). */
export function mayIssueCommands(certificate: Pick<IssuerCertificate, 'kinds'>): boolean {
  return certificate.kinds.includes(COMMAND_ISSUER_KIND);
}
