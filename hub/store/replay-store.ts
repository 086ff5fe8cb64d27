/**
 * The replay set and the challenge table (migrations 0002, 0008). Every write that lets someone in is one
 * IMMEDIATE transaction committed with synchronous=FULL before the caller hears "allow": a crash
 * or power cut after that point never lets the same grant or challenge in twice (DESIGN.md,
 * "Trust and tokens": Replay). SQLite serializes writers across connections and processes, so of
 * many concurrent presentations of a one-time grant exactly one commits the use.
 *
 * Uses are counted per (issuer kid, grant id): grant ids are random per issuer, and one issuer's
 * grant must not be used up by another issuer that picks the same id. A row from before migration
 * 0008 has kid '' and still counts for that id whatever the issuer (see the migration).
 */
import { randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Store } from './store.js';

export const CHALLENGE_LIFETIME_MS = 30_000;

export type ChallengeState = 'fresh' | 'unknown' | 'expired' | 'used';

export interface ConsumeRequest {
  /** The issuer whose grant this is (grant.kid). */
  kid: string;
  grantId: Uint8Array;
  maxUses: number;
  notAfter: number;
  challenge: Uint8Array;
  now: number;
  /** A time to raise the clock floor to in the same transaction (the allowed grant's issue time, capped). */
  raiseFloorTo?: number;
}

export type ConsumeOutcome = { ok: true; uses: number } | { ok: false; why: 'challenge' | 'used-up' };

export interface ReplayStore {
  usesOf(kid: string, grantId: Uint8Array): number;
  challengeState(nonce: Uint8Array, now: number): ChallengeState;
  issueChallenge(now: number): Uint8Array;
  consume(request: ConsumeRequest): ConsumeOutcome;
}

export function replayStore(store: Store): ReplayStore {
  const db = store.db;
  const usesOf = db.prepare("SELECT max(uses) FROM consumed_grants WHERE kid IN (?, '') AND grant_id = ?").pluck();
  const legacyRow = db.prepare("SELECT 1 FROM consumed_grants WHERE kid = '' AND grant_id = ?").pluck();
  const challenge = db.prepare('SELECT issued_at_ms AS issuedAt, expires_at_ms AS expiresAt, used_at_ms AS usedAt FROM challenges WHERE nonce = ?');
  const insertChallenge = db.prepare('INSERT INTO challenges (nonce, issued_at_ms, expires_at_ms) VALUES (?, ?, ?)');
  const pruneChallenges = db.prepare('DELETE FROM challenges WHERE expires_at_ms < ?');
  const useChallenge = db.prepare(
    'UPDATE challenges SET used_at_ms = ? WHERE nonce = ? AND used_at_ms IS NULL AND issued_at_ms <= ? AND expires_at_ms >= ?',
  );
  // One statement counts the use: inserted at 1, or incremented only while uses < max_uses.
  const useGrant = db.prepare(
    `INSERT INTO consumed_grants (kid, grant_id, uses, max_uses, not_after_ms, first_used_ms, last_used_ms)
     VALUES (?, ?, 1, ?, ?, ?, ?)
     ON CONFLICT (kid, grant_id) DO UPDATE SET uses = uses + 1, last_used_ms = excluded.last_used_ms
     WHERE uses < max_uses
     RETURNING uses`,
  ).pluck() as Statement<unknown[], number>;
  const useLegacyGrant = db.prepare(
    "UPDATE consumed_grants SET uses = uses + 1, last_used_ms = ? WHERE kid = '' AND grant_id = ? AND uses < max_uses RETURNING uses",
  ).pluck() as Statement<unknown[], number>;
  const raiseFloor = db.prepare(
    `INSERT INTO access_state (key, int_val, text_val) VALUES ('clock_floor_ms', ?, 'grant')
     ON CONFLICT (key) DO UPDATE SET int_val = excluded.int_val, text_val = excluded.text_val WHERE excluded.int_val > int_val`,
  );

  return {
    usesOf: (kid, grantId) => (usesOf.get(kid, grantId) as number | null) ?? 0,
    challengeState(nonce, now) {
      const row = challenge.get(nonce) as { issuedAt: number; expiresAt: number; usedAt: number | null } | undefined;
      if (row === undefined) return 'unknown';
      if (row.usedAt !== null) return 'used';
      // A wall clock set back below the issue time is as suspect as one past the expiry.
      if (now > row.expiresAt || now < row.issuedAt) return 'expired';
      return 'fresh';
    },
    issueChallenge(now) {
      const nonce = new Uint8Array(randomBytes(32));
      store.write('normal', () => {
        pruneChallenges.run(now - CHALLENGE_LIFETIME_MS);
        insertChallenge.run(nonce, now, now + CHALLENGE_LIFETIME_MS);
      });
      return nonce;
    },
    consume(req) {
      return store.write('full', (): ConsumeOutcome => {
        // The challenge is spent whatever happens next: it was presented once.
        if (useChallenge.run(req.now, req.challenge, req.now, req.now).changes !== 1) return { ok: false, why: 'challenge' };
        const uses =
          legacyRow.get(req.grantId) === undefined
            ? useGrant.get(req.kid, req.grantId, req.maxUses, req.notAfter, req.now, req.now)
            : useLegacyGrant.get(req.now, req.grantId);
        if (uses === undefined) return { ok: false, why: 'used-up' };
        if (req.raiseFloorTo !== undefined) raiseFloor.run(req.raiseFloorTo);
        return { ok: true, uses };
      });
    },
  };
}
