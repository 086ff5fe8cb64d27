import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../protocols/grant/ed25519.js';
import { makeIssuerCertificate, signGrant, signKeyring, signRevocations, signTime } from '../../protocols/grant/issuer.js';
import type { DownlinkKind } from '../../protocols/mqtt/contract.js';
import { DownlinkIntake } from '../../hub/cloud/downlink.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { auditLogOn } from '../support/audit-store.js';
import { deliveryGrant, HOUR, HUB_ID, makeWorld, NOW, type World } from '../support/grant-fixture.js';
import { RecordingLink } from '../support/recording-link.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

describe('downlink intake: signed grants, keyrings, revocations and time from the cloud', () => {
  let dir: ReturnType<typeof tempDir>;
  let world: World;
  let audit: AuditLog;
  let link: RecordingLink;
  let intake: DownlinkIntake;

  beforeEach(async () => {
    dir = tempDir('keyhub-downlink-');
    world = await makeWorld(`${dir.path}/keyhub.db`);
    const clock = new FakeClock({ wallMs: NOW });
    audit = auditLogOn(world.store, clock);
    link = new RecordingLink();
    const held = trustStore(world.store);
    intake = new DownlinkIntake({
      hubId: HUB_ID,
      link,
      audit,
      store: world.store,
      clock,
      log: silentLog(),
      trust: {
        view: () => world.trust,
        installKeyring: (b) => world.trust.installKeyring(b),
        installRevocations: (b) => world.trust.installRevocations(b),
        held: (w) => held.held(w)?.signed,
        acceptSignedTime: (b) => world.acceptSignedTime(b),
      },
    });
    intake.start();
  });
  afterEach(async () => {
    await intake.stop();
    world.close();
    dir.cleanup();
  });

  /** Replies go out once handle() settles (a command may wait for the lock). */
  const settled = () => new Promise((r) => setImmediate(r));
  const lastAudit = () => audit.read(audit.head().seq, 1)[0]?.event;
  const pushedGrants = () => (world.store.db.prepare('SELECT count(*) AS n FROM pushed_grants').get() as { n: number }).n;

  it('stores a grant signed by a trusted issuer, answers accepted, and audits it', async () => {
    const grant = deliveryGrant(world);
    const signed = signGrant(grant, world.issuer);
    const correlationData = Uint8Array.from([1, 2, 3]);
    link.deliver({ name: 'grants', payload: signed, correlationData });
    await settled();
    expect(pushedGrants()).toBe(1);
    expect(link.replies[0]?.value).toMatchObject({ kind: 'grants', outcome: 'accepted', id: Buffer.from(grant.id).toString('hex'), correlation: '010203' });
    expect(link.replies[0]?.correlationData).toEqual(correlationData);
    expect(lastAudit()).toEqual({ type: 'downlink', body: { kind: 'grants', outcome: 'accepted', id: Buffer.from(grant.id).toString('hex') } });
  });

  it('is idempotent by grant id: a redelivered grant is a duplicate, stored once', async () => {
    const signed = signGrant(deliveryGrant(world), world.issuer);
    expect((await intake.handle('grants', signed)).outcome).toBe('accepted');
    expect((await intake.handle('grants', signed)).outcome).toBe('duplicate');
    expect(pushedGrants()).toBe(1);
  });

  it('refuses a forged grant (signed by a key outside the keyring) and audits the refusal', async () => {
    const forged = signGrant(deliveryGrant(world), generateSigningKey());
    link.deliver({ name: 'grants', payload: forged });
    await settled();
    expect(pushedGrants()).toBe(0);
    expect(link.replies[0]?.value).toMatchObject({ outcome: 'refused', reason: ErrorCode.GRANT_SIGNATURE_INVALID, reasonName: 'GRANT_SIGNATURE_INVALID' });
    expect(lastAudit()).toMatchObject({ type: 'downlink', body: { kind: 'grants', outcome: 'refused', reason: ErrorCode.GRANT_SIGNATURE_INVALID } });
  });

  it.each([
    ['for another hub', { hubId: 'kh-ffffffffffffffff' }, ErrorCode.WRONG_HUB],
    ['whose window has closed', { notBefore: NOW - 3 * HOUR, notAfter: NOW - HOUR }, ErrorCode.GRANT_EXPIRED],
    ['from an unknown issuer', { kid: 'nobody' }, ErrorCode.ISSUER_UNKNOWN],
  ] as const)('refuses a grant %s', async (_what, over, code) => {
    const r = await intake.handle('grants', signGrant(deliveryGrant(world, over), world.issuer));
    expect(r).toMatchObject({ outcome: 'refused', code });
    expect(pushedGrants()).toBe(0);
  });

  it('refuses unsigned, malformed and oversized payloads without crashing', async () => {
    expect(await intake.handle('grants', Uint8Array.from([0xa0]))).toMatchObject({ outcome: 'refused', code: ErrorCode.CLOUD_PAYLOAD_INVALID });
    expect(await intake.handle('grants', new Uint8Array(0))).toMatchObject({ outcome: 'refused', code: ErrorCode.CLOUD_PAYLOAD_INVALID });
    expect(await intake.handle('time', new Uint8Array(10_000))).toMatchObject({ outcome: 'refused', code: ErrorCode.CLOUD_PAYLOAD_INVALID });
    expect(audit.head().seq).toBe(3);
  });

  it('installs a newer root-signed keyring, treats the same bytes as a duplicate, and refuses a rollback', async () => {
    const { certificate } = makeIssuerCertificate({ kid: 'cloud-2', notBefore: NOW - HOUR, notAfter: NOW + 100 * HOUR, kinds: ['delivery'] });
    const v2 = signKeyring({ version: 2, issuedAt: NOW, issuers: [certificate] }, world.root);
    expect(await intake.handle('keys', v2)).toMatchObject({ outcome: 'accepted', id: 'keyring-v2' });
    expect(lastAudit()).toEqual({ type: 'key.update', body: { what: 'keyring', version: 2, accepted: true } });
    expect(await intake.handle('keys', v2)).toMatchObject({ outcome: 'duplicate' });
    const v1 = signKeyring({ version: 1, issuedAt: NOW, issuers: [certificate] }, world.root);
    expect(await intake.handle('keys', v1)).toMatchObject({ outcome: 'refused', code: ErrorCode.KEYRING_ROLLBACK });
    const forged = signKeyring({ version: 3, issuedAt: NOW, issuers: [certificate] }, generateSigningKey());
    expect(await intake.handle('keys', forged)).toMatchObject({ outcome: 'refused', code: ErrorCode.TRUST_UPDATE_INVALID });
    expect(world.trust.status().keyringVersion).toBe(2);
  });

  it('installs a root-signed revocation list and refuses one the root did not sign', async () => {
    const list = { version: 1, issuedAt: NOW, grantIds: [new Uint8Array(16).fill(9)], kids: [] };
    expect(await intake.handle('revocations', signRevocations({ ...list, version: 2 }, generateSigningKey()))).toMatchObject({ outcome: 'refused', code: ErrorCode.TRUST_UPDATE_INVALID });
    expect(await intake.handle('revocations', signRevocations(list, world.root))).toMatchObject({ outcome: 'accepted', id: 'revocations-v1' });
    expect(world.trust.isGrantRevoked(new Uint8Array(16).fill(9))).toBe(true);
  });

  it('accepts a signed time from a trusted issuer and refuses a forged one', async () => {
    expect(await intake.handle('time', signTime({ kid: 'cloud-1', time: NOW }, world.issuer))).toMatchObject({ outcome: 'accepted', id: `time-${NOW}` });
    expect(await intake.handle('time', signTime({ kid: 'cloud-1', time: NOW + HOUR }, generateSigningKey()))).toMatchObject({ outcome: 'refused', code: ErrorCode.TRUST_UPDATE_INVALID });
    expect(world.floor.floorMs()).toBe(NOW);
  });

  it('refuses every command when built without command actions (this hub takes none)', async () => {
    link.deliver({ name: 'commands', payload: Uint8Array.from([1, 2, 3]) });
    await settled();
    expect(link.replies[0]?.value).toMatchObject({ kind: 'commands', outcome: 'refused', reason: ErrorCode.CLOUD_DOWNLINK_REFUSED });
  });

  it('lets a failed audit write surface instead of answering', async () => {
    world.store.db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expect(intake.handle('grants', signGrant(deliveryGrant(world), world.issuer))).rejects.toThrow(expect.objectContaining({ code: ErrorCode.AUDIT_WRITE_FAILED }));
  });

  it('fuzz: arbitrary bytes on any downlink topic are refused and audited, never thrown', async () => {
    const kinds: DownlinkKind[] = ['grants', 'revocations', 'keys', 'commands', 'time'];
    const valid = signGrant(deliveryGrant(world), world.issuer);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...kinds),
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([pos, xor]) => {
            const b = Uint8Array.from(valid);
            b[pos] = (b[pos] as number) ^ xor;
            return b;
          }),
        ),
        async (kind, bytes) => {
          const before = audit.head().seq;
          const r = await intake.handle(kind, bytes);
          expect(r.outcome).toBe('refused');
          expect(audit.head().seq).toBeGreaterThan(before);
        },
      ),
      { numRuns: 300 },
    );
    expect(pushedGrants()).toBe(0);
  });
});
