/**
 * decide(): may this presentation of this grant open this door now? A pure function of its inputs
 * and the stores it is handed (no hidden time: `now` comes in the context). Checks run cheapest
 * first, so garbage and plainly wrong requests are refused before any signature work (DESIGN.md,
 * "The product in one delivery", step 3). Every refusal carries one 2xx ErrorCode; the
 * courier, the homeowner and the audit log see the same code.
 *
 * decide() only reads. Allowing is authorize() (authorize.ts): decide, then consume the grant use
 * and the challenge durably, then answer. A refusal changes nothing: not the replay set, not the
 * clock floor (README, "Security model: the clock floor").
 */
import { Domain, openEnvelope, verifyEnvelope, type Envelope } from '../../protocols/grant/envelope.js';
import { GRANT_MAX_BYTES, decodeGrantPayload, type Grant } from '../../protocols/grant/grant.js';
import { PRESENTATION_MAX_BYTES, decodePresentationPayload, type DecodedPresentation, type Transport } from '../../protocols/grant/presentation.js';
import type { ChallengeState } from '../store/replay-store.js';
import { ErrorCode } from '../system/errors.js';
import { contextProblem, isRssi } from './context-check.js';
import type { PublicKeyCache } from './key-cache.js';
import { withinWeekly, type LocalTimes } from './local-time.js';
import { withinRadius } from './proximity.js';
import type { TrustView } from './trust.js';

export interface AccessPolicy {
  /** How far the wall clock may be behind the clock floor and still be trusted. */
  clockSkewMs: number;
  /** BLE: weakest signal that still counts as "at the door". */
  rssiFloorDbm: number;
  /**
   * Cloud path: the home and the radius a handheld must be within (accuracy counted against it).
   * Absent until the installer sets where the home is: every cloud-path presentation is then refused.
   */
  home?: { latE7: number; lonE7: number; radiusM: number };
}

export interface DecideContext {
  /** Wall time of the decision, ms since the epoch. */
  now: number;
  hubId: string;
  lockId: string;
  /** How the presentation reached the hub. */
  transport: Transport;
  /** BLE only: the measured signal strength of the handheld's connection (−127..+20 dBm). */
  rssiDbm?: number;
  deliveriesPaused: boolean;
  cameraHealthy: boolean;
  policy: AccessPolicy;
}

/** The stores decide() reads: held trust, replay set, challenges, clock floor, zone rules, key cache. */
export interface DecideStores {
  trust: TrustView;
  replay: { usesOf(kid: string, grantId: Uint8Array): number; challengeState(nonce: Uint8Array, now: number): ChallengeState };
  floor: { floorMs(): number };
  localTimes: LocalTimes;
  subjectKeys: PublicKeyCache;
}

export interface Allow {
  allow: true;
  grant: Grant;
  presentation: DecodedPresentation;
}

export interface Refuse {
  allow: false;
  code: ErrorCode;
  reason: string;
}

export type Decision = Allow | Refuse;

const refuse = (code: ErrorCode, reason: string): Refuse => ({ allow: false, code, reason });

/** Kinds that bring a stranger into the home: the camera must be recording (DESIGN.md, step 4). */
const NEEDS_CAMERA: ReadonlySet<string> = new Set(['delivery', 'service']);

export function decide(grantBytes: Uint8Array, presentationBytes: Uint8Array, ctx: DecideContext, stores: DecideStores): Decision {
  // 0. the hub's own numbers: a NaN or an out-of-range value would pass a "refuse when below" check
  const bad = contextProblem(ctx);
  if (bad !== undefined) return refuse(ErrorCode.CONTEXT_INVALID, bad);

  // 1. size and format
  if (grantBytes.length > GRANT_MAX_BYTES) return refuse(ErrorCode.GRANT_MALFORMED, `grant is over ${GRANT_MAX_BYTES} bytes`);
  if (presentationBytes.length > PRESENTATION_MAX_BYTES) return refuse(ErrorCode.PRESENTATION_MALFORMED, `presentation is over ${PRESENTATION_MAX_BYTES} bytes`);
  let grantEnvelope: Envelope;
  let grant: Grant;
  try {
    grantEnvelope = openEnvelope(grantBytes, GRANT_MAX_BYTES);
    grant = decodeGrantPayload(grantEnvelope.payload);
  } catch (err) {
    return refuse(ErrorCode.GRANT_MALFORMED, `grant: ${formatError(err)}`);
  }
  let presentationEnvelope: Envelope;
  let presentation: DecodedPresentation;
  try {
    presentationEnvelope = openEnvelope(presentationBytes, PRESENTATION_MAX_BYTES);
    presentation = decodePresentationPayload(presentationEnvelope.payload);
  } catch (err) {
    return refuse(ErrorCode.PRESENTATION_MALFORMED, `presentation: ${formatError(err)}`);
  }
  if (!sameBytes(presentation.grantId, grant.id)) return refuse(ErrorCode.GRANT_MISMATCH, 'the presentation is for another grant');
  if (presentation.transport !== ctx.transport) {
    return refuse(ErrorCode.TRANSPORT_MISMATCH, `presentation says ${presentation.transport} but arrived over ${ctx.transport}`);
  }

  // 2. hub id and lock id
  if (grant.hubId !== ctx.hubId) return refuse(ErrorCode.WRONG_HUB, `grant is for hub ${grant.hubId}`);
  if (grant.lockId !== ctx.lockId) return refuse(ErrorCode.WRONG_LOCK, `grant is for lock ${grant.lockId}`);

  // 3. a clock we trust: never behind the floor by more than the allowed skew
  const floor = stores.floor.floorMs();
  if (ctx.now < floor - ctx.policy.clockSkewMs) {
    return refuse(ErrorCode.CLOCK_UNTRUSTED, `wall clock ${iso(ctx.now)} is behind the clock floor ${iso(floor)}`);
  }

  // 4. window, and for recurring grants the weekly windows in the grant's zone. A grant issued
  //    after our clock (plus skew) does not exist yet by that clock: either clock may be wrong, and
  //    the refusal moves nothing (the floor only follows allowed grants, up to the hub's own clock).
  if (grant.issuedAt > ctx.now + ctx.policy.clockSkewMs) {
    return refuse(ErrorCode.CLOCK_UNTRUSTED, `grant was issued at ${iso(grant.issuedAt)}, after the hub's clock ${iso(ctx.now)}`);
  }
  if (ctx.now < grant.notBefore) return refuse(ErrorCode.GRANT_NOT_YET_VALID, `grant is valid from ${iso(grant.notBefore)}`);
  if (ctx.now >= grant.notAfter) return refuse(ErrorCode.GRANT_EXPIRED, `grant expired at ${iso(grant.notAfter)}`);
  if (grant.recurring !== undefined) {
    const inside = withinWeekly(stores.localTimes, ctx.now, grant.recurring);
    if (inside === undefined) return refuse(ErrorCode.GRANT_MALFORMED, `grant: unknown time zone ${grant.recurring.tz}`);
    if (!inside) return refuse(ErrorCode.OUTSIDE_WEEKLY_WINDOW, `not inside the grant's weekly windows (${grant.recurring.tz})`);
  }

  // 5. revocations
  if (stores.trust.isGrantRevoked(grant.id)) return refuse(ErrorCode.GRANT_REVOKED, 'grant is revoked');
  if (stores.trust.isIssuerRevoked(grant.kid)) return refuse(ErrorCode.ISSUER_REVOKED, `issuer ${grant.kid} is revoked`);

  // 6. replay: uses left (the durable check-and-count is authorize()'s transaction). Uses count
  //    per issuer: another issuer's grant with the same id is another grant.
  const used = stores.replay.usesOf(grant.kid, grant.id);
  if (used >= grant.uses) return refuse(ErrorCode.GRANT_USED_UP, `grant has been used ${used} of ${grant.uses} times`);

  // 7. policy of the home right now
  if (grant.kind === 'delivery' && ctx.deliveriesPaused) return refuse(ErrorCode.DELIVERIES_PAUSED, 'deliveries are paused');
  if (NEEDS_CAMERA.has(grant.kind) && !ctx.cameraHealthy) return refuse(ErrorCode.CAMERA_UNHEALTHY, 'the door camera is not recording: no camera, no entry');

  // 8. proximity: at the door, not in the truck
  // (presentation.transport is ctx.transport: step 1)
  if (presentation.transport === 'ble') {
    // Not a measurement (none, NaN, 127 "not available") is no proof of being at the door.
    if (!isRssi(ctx.rssiDbm)) return refuse(ErrorCode.SIGNAL_TOO_WEAK, `BLE signal ${String(ctx.rssiDbm ?? 'unknown')} is not a measurement in dBm`);
    if (ctx.rssiDbm < ctx.policy.rssiFloorDbm) return refuse(ErrorCode.SIGNAL_TOO_WEAK, `BLE signal ${ctx.rssiDbm} dBm is below ${ctx.policy.rssiFloorDbm} dBm`);
  } else if (ctx.policy.home === undefined) {
    // Fail secure: with no home position there is nothing to be near, so "near" is never true.
    return refuse(ErrorCode.TOO_FAR_FROM_HOME, 'no home position is configured (config access.home): the cloud path is refused');
  } else if (!withinRadius(ctx.policy.home, presentation.position)) {
    return refuse(ErrorCode.TOO_FAR_FROM_HOME, `handheld is not within ${ctx.policy.home.radiusM} m of the home`);
  }

  // 9. scanned packages must belong to this delivery
  if (grant.delivery !== undefined) {
    const ordered = grant.delivery.packageIds;
    if (presentation.packages.length === 0) return refuse(ErrorCode.PACKAGE_NOT_IN_GRANT, 'no package was scanned');
    const stray = presentation.packages.find((p) => !ordered.includes(p));
    if (stray !== undefined) return refuse(ErrorCode.PACKAGE_NOT_IN_GRANT, `package ${stray} is not part of order ${grant.delivery.orderId}`);
  }

  // 10. the hub's challenge: issued by us, fresh, not used
  const challenge = stores.replay.challengeState(presentation.challenge, ctx.now);
  if (challenge === 'unknown') return refuse(ErrorCode.CHALLENGE_UNKNOWN, 'challenge was not issued by this hub');
  if (challenge === 'expired') return refuse(ErrorCode.CHALLENGE_EXPIRED, 'challenge has expired');
  if (challenge === 'used') return refuse(ErrorCode.CHALLENGE_USED, 'challenge was already used');

  // 11. issuer certificate chain (the keyring was verified against the root when installed)
  const issuer = stores.trust.issuer(grant.kid);
  if (issuer === undefined) return refuse(ErrorCode.ISSUER_UNKNOWN, `issuer ${grant.kid} is not in the keyring`);
  const cert = issuer.certificate;
  if (ctx.now < cert.notBefore || ctx.now >= cert.notAfter) return refuse(ErrorCode.ISSUER_CERT_NOT_VALID, `issuer ${grant.kid}'s certificate is not valid now`);
  if (!cert.kinds.includes(grant.kind)) return refuse(ErrorCode.KIND_NOT_ALLOWED, `issuer ${grant.kid} may not issue ${grant.kind} grants`);

  // 12. the subject key: under a key of small order a presentation nobody signed verifies
  //     (R = identity, S = 0), so such a key is refused before any signature work
  const subjectKey = stores.subjectKeys.get(grant.subjectKey);
  if (!subjectKey.ok) return refuse(ErrorCode.SUBJECT_KEY_REFUSED, `the grant's subject key is refused: ${subjectKey.problem}`);

  // 13. the grant's signature, then 14. the subject's signature over the challenge
  if (!verifyEnvelope(Domain.grant, grantEnvelope, issuer.key)) return refuse(ErrorCode.GRANT_SIGNATURE_INVALID, 'grant signature does not verify');
  if (!verifyEnvelope(Domain.presentation, presentationEnvelope, subjectKey.key)) return refuse(ErrorCode.PRESENTATION_SIGNATURE_INVALID, 'presentation signature does not verify');
  return { allow: true, grant, presentation };
}

/** Decoders throw CborError; whatever a hostile input provokes, the answer is a refusal (fail secure). */
function formatError(err: unknown): string {
  return String((err as Error).message);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
