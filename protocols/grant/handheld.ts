/**
 * The handheld's side of a visit: sign a presentation over the hub's challenge, and check the
 * hub's relock receipt before moving on to the next stop. The hub signs receipts with `signReceipt`.
 */
import { Domain, openEnvelope, seal, verifyEnvelope } from './envelope.js';
import { publicKeyObject, type Signer, type SigningKey } from './ed25519.js';
import { publicKeyProblem } from './point-check.js';
import { encodePresentationPayload, type Presentation } from './presentation.js';
import { RECEIPT_MAX_BYTES, decodeReceiptPayload, encodeReceiptPayload, type Receipt } from './receipt.js';

export function signPresentation(presentation: Presentation, subjectKey: SigningKey): Uint8Array {
  return seal(Domain.presentation, encodePresentationPayload(presentation), subjectKey);
}

/** The hub signs with its own identity key (hub/store/hub-key.ts), a KeyObject that never leaves the store. */
export function signReceipt(receipt: Receipt, hubKey: Signer): Uint8Array {
  return seal(Domain.receipt, encodeReceiptPayload(receipt), hubKey);
}

export type ReceiptCheck = { ok: true; receipt: Receipt } | { ok: false; reason: string };

/**
 * Checks a receipt against the hub's public key and the grant (and, when the handheld knows it,
 * the visit) it should be for. Never throws: the handheld shows the reason and keeps asking for a
 * valid receipt. A valid receipt may still say the relock failed or the door was left open: the
 * handheld shows the outcome; the homeowner has been alerted by the hub. A hub key of small order is
 * refused first: under it a "receipt" nobody signed would verify.
 */
export function verifyReceipt(bytes: Uint8Array, hubPublicKey: Uint8Array, expected: { hubId: string; grantId: Uint8Array; visitId?: Uint8Array }): ReceiptCheck {
  const problem = publicKeyProblem(hubPublicKey);
  if (problem !== undefined) return { ok: false, reason: `hub key refused: ${problem}` };
  try {
    const envelope = openEnvelope(bytes, RECEIPT_MAX_BYTES);
    if (!verifyEnvelope(Domain.receipt, envelope, publicKeyObject(hubPublicKey))) return { ok: false, reason: 'signature does not verify' };
    const receipt = decodeReceiptPayload(envelope.payload);
    if (receipt.hubId !== expected.hubId) return { ok: false, reason: `receipt is from hub ${receipt.hubId}` };
    if (Buffer.compare(receipt.grantId, expected.grantId) !== 0) return { ok: false, reason: 'receipt is for another grant' };
    if (expected.visitId !== undefined && Buffer.compare(receipt.visitId, expected.visitId) !== 0) return { ok: false, reason: 'receipt is for another visit' };
    return { ok: true, receipt };
  } catch (err) {
    // CborError: a malformed receipt is not a valid receipt.
    return { ok: false, reason: (err as Error).message };
  }
}
