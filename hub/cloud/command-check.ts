/**
 * checkCommand(): may this hub act on this signed command now? A pure function of its inputs (the
 * time and the clock floor come in the context), in the spirit of decide() (hub/access/decide.ts):
 * checks run cheapest first, so garbage and plainly wrong commands are refused before any signature
 * work, and every refusal carries exactly one 5xx ErrorCode. Nothing is stored and nothing acted on
 * here: the intake (downlink.ts) claims the id durably and executes only after `ok`.
 */
import { COMMAND_MAX_BYTES, decodeCommandPayload, mayIssueCommands, type Command } from '../../protocols/grant/command.js';
import { Domain, openEnvelope, verifyEnvelope, type Envelope } from '../../protocols/grant/envelope.js';
import { publicKeyProblem } from '../../protocols/grant/point-check.js';
import type { TrustView } from '../access/trust.js';
import { ErrorCode } from '../system/errors.js';

export interface CommandContext {
  /** The hub's wall time, ms since the epoch. */
  now: number;
  hubId: string;
  /** The clock floor (hub/store/clock-floor.ts): the latest wall time the hub has reason to trust. */
  floorMs: number;
  /** How far the wall clock may be behind the floor, and a command's issue time ahead of the clock. */
  clockSkewMs: number;
}

export type CommandCheck =
  | { ok: true; command: Command }
  /** `id` is the command id (hex) once it could be read, '' before. */
  | { ok: false; id: string; action?: Command['action']; code: ErrorCode; reason: string };

export function checkCommand(bytes: Uint8Array, ctx: CommandContext, trust: Pick<TrustView, 'issuer' | 'isIssuerRevoked'>): CommandCheck {
  // 1. size and format
  if (bytes.length > COMMAND_MAX_BYTES) return { ok: false, id: '', code: ErrorCode.COMMAND_MALFORMED, reason: `command is over ${COMMAND_MAX_BYTES} bytes` };
  let envelope: Envelope;
  let command: Command;
  try {
    envelope = openEnvelope(bytes, COMMAND_MAX_BYTES);
    command = decodeCommandPayload(envelope.payload);
  } catch (err) {
    // Decoders throw CborError on hostile input; whatever it is, the answer is a refusal.
    return { ok: false, id: '', code: ErrorCode.COMMAND_MALFORMED, reason: String((err as Error).message) };
  }
  const id = Buffer.from(command.id).toString('hex');
  const refuse = (code: ErrorCode, reason: string): CommandCheck => ({ ok: false, id, action: command.action, code, reason });

  // 2. for this hub
  if (command.hubId !== ctx.hubId) return refuse(ErrorCode.COMMAND_WRONG_HUB, `command is for hub ${command.hubId}`);

  // 3. a clock we trust (as decide() step 3): never behind the floor by more than the skew
  if (ctx.now < ctx.floorMs - ctx.clockSkewMs) return refuse(ErrorCode.COMMAND_CLOCK_UNTRUSTED, `wall clock ${iso(ctx.now)} is behind the clock floor ${iso(ctx.floorMs)}`);

  // 4. window: issuedAt is its not-before (the issuer's clock may run ahead of ours by the skew),
  //    notAfter closes it exactly, as a grant's does
  if (ctx.now < command.issuedAt - ctx.clockSkewMs) return refuse(ErrorCode.COMMAND_NOT_YET_VALID, `command was issued at ${iso(command.issuedAt)}, after the hub's clock`);
  if (ctx.now >= command.notAfter) return refuse(ErrorCode.COMMAND_EXPIRED, `command expired at ${iso(command.notAfter)}`);

  // 5. revocations, then 6. the issuer's certificate in the keyring (verified against the root when installed)
  if (trust.isIssuerRevoked(command.kid)) return refuse(ErrorCode.COMMAND_ISSUER_REVOKED, `issuer ${command.kid} is revoked`);
  const issuer = trust.issuer(command.kid);
  if (issuer === undefined) return refuse(ErrorCode.COMMAND_ISSUER_UNKNOWN, `issuer ${command.kid} is not in the keyring`);
  const cert = issuer.certificate;
  if (ctx.now < cert.notBefore || ctx.now >= cert.notAfter) return refuse(ErrorCode.COMMAND_ISSUER_CERT_NOT_VALID, `issuer ${command.kid}'s certificate is not valid now`);
  if (!mayIssueCommands(cert)) return refuse(ErrorCode.COMMAND_NOT_ALLOWED, `issuer ${command.kid} may not command hubs (its certificate lacks the owner kind)`);

  // 7. the signature, last: the one expensive check, and only under a key that can prove anything
  //    (a key of small order verifies signatures nobody made; the keyring install refuses one too)
  const keyProblem = publicKeyProblem(cert.publicKey);
  if (keyProblem !== undefined) return refuse(ErrorCode.COMMAND_SIGNATURE_INVALID, `issuer ${command.kid}'s key is refused: ${keyProblem}`);
  if (!verifyEnvelope(Domain.command, envelope, issuer.key)) return refuse(ErrorCode.COMMAND_SIGNATURE_INVALID, 'command signature does not verify');
  return { ok: true, command };
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
