/**
 * The `access` config section reaches decide(): through loadConfig and main.ts's composeHub,
 * the real composition root, with a real store on disk.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config/index.js';
import { composeHub } from '../../hub/main.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, makeRoot, signGrant, signKeyring } from '../../protocols/grant/issuer.js';
import type { Presentation } from '../../protocols/grant/presentation.js';
import { HOME, HOUR, HUB_ID, LOCK_ID, NOW, deliveryGrant, seededKey } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

const root = makeRoot(new Uint8Array(32).fill(1));
const issuer = seededKey(2);
const courier = seededKey(3);

let dir: ReturnType<typeof tempDir>;
let stops: Array<() => unknown> = [];
beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
  dir.cleanup();
});

/** The daemon's store and access modules, composed from a config file with this `access` section. */
async function hubWith(access: Record<string, unknown>) {
  mkdirSync(join(dir.path, '.keyhub'));
  writeFileSync(join(dir.path, '.keyhub', 'config.json'), JSON.stringify({ version: 1, access }));
  const loaded = loadConfig({ mode: 'dev', env: {}, cwd: dir.path });
  const composed = await composeHub(loaded, {
    clock: new FakeClock({ wallMs: NOW }),
    log: silentLog(),
    version: 'test',
    onAuditFailure: (err: unknown) => {
      throw err;
    },
  });
  const signal = new AbortController().signal;
  await composed.store.module.start(signal);
  stops.push(() => composed.store.module.stop());
  await composed.access.module.start(signal);
  stops.push(() => composed.access.module.stop());
  const service = composed.access.service;
  service.trust().pinRoot(root.publicKey);
  const { certificate } = makeIssuerCertificate({ kid: 'cloud-1', key: issuer, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery'] });
  service.trust().installKeyring(signKeyring({ version: 1, issuedAt: NOW - HOUR, issuers: [certificate] }, root));

  /** A fresh one-time delivery grant presented once, over BLE at `rssiDbm` or through the cloud from `position`. */
  return (how: { rssiDbm: number } | { position: NonNullable<Presentation['position']> }) => {
    const grant = deliveryGrant({ courier });
    const transport = 'rssiDbm' in how ? 'ble' : 'cloud';
    const presentation = signPresentation(
      { grantId: grant.id, challenge: service.issueChallenge(), transport, time: NOW, packages: ['pkg-1'], ...('position' in how ? { position: how.position } : {}) },
      courier,
    );
    const decision = service.authorize(signGrant(grant, issuer), presentation, {
      hubId: HUB_ID,
      lockId: LOCK_ID,
      transport,
      ...('rssiDbm' in how ? { rssiDbm: how.rssiDbm } : {}),
      deliveriesPaused: false,
      cameraHealthy: true,
    });
    return decision.allow ? 'allow' : decision.code;
  };
}

describe('the access config reaches decide()', () => {
  it('refuses a BLE signal under the configured floor that the default floor (-70 dBm) would allow', async () => {
    const present = await hubWith({ rssiFloorDbm: -50 });
    expect(present({ rssiDbm: -60 })).toBe(ErrorCode.SIGNAL_TOO_WEAK);
    expect(present({ rssiDbm: -50 })).toBe('allow');
  });

  it('refuses the cloud path without a configured home, and allows it within the configured radius of one', async () => {
    const at = { latE7: HOME.latE7, lonE7: HOME.lonE7, accuracyM: 5 };
    expect((await hubWith({}))({ position: at })).toBe(ErrorCode.TOO_FAR_FROM_HOME);
    for (const stop of stops.splice(0).reverse()) await stop();
    dir.cleanup();
    dir = tempDir();
    const present = await hubWith({ home: { latE7: HOME.latE7, lonE7: HOME.lonE7 }, cloudRadiusM: 20 });
    expect(present({ position: at })).toBe('allow');
    // ~30 m north with 5 m accuracy: outside a 20 m radius.
    expect(present({ position: { ...at, latE7: HOME.latE7 + 2_700 } })).toBe(ErrorCode.TOO_FAR_FROM_HOME);
  });
});
