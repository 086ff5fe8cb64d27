/**
 * Child process for delivery-crash.test.ts: the hub's side of a delivery (test/support/delivery-hub.ts)
 * on the parent's simulated stick and camera, and the courier's handheld, driven line by line on
 * stdin (`present`, `relock`) and answering on stdout (one JSON object a line), until the parent
 * kills it with SIGKILL: a hub losing power mid-visit.
 *
 * argv: <stateDir> <stickPath> <cameraUrl> <settings JSON> <grant hex> <courier seed hex>
 */
import { createInterface } from 'node:readline';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { signingKeyFromSeed } from '../../protocols/grant/ed25519.js';
import { decodeGrantPayload } from '../../protocols/grant/grant.js';
import { openEnvelope } from '../../protocols/grant/envelope.js';
import { startDeliveryHub } from '../support/delivery-hub.js';

const [stateDir, stickPath, cameraUrl, settingsJson, grantHex, seedHex] = process.argv.slice(2);
if (stateDir === undefined || stickPath === undefined || cameraUrl === undefined || settingsJson === undefined || grantHex === undefined || seedHex === undefined) {
  throw new Error('usage: delivery-crash-child.ts <stateDir> <stickPath> <cameraUrl> <settings> <grant hex> <courier seed hex>');
}
const say = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
const signedGrant = Uint8Array.from(Buffer.from(grantHex, 'hex'));
const grant = decodeGrantPayload(openEnvelope(signedGrant, 1024).payload);
const courier = signingKeyFromSeed(Uint8Array.from(Buffer.from(seedHex, 'hex')));
const hub = await startDeliveryHub({ stateDir, stickPath, cameraUrl, settings: JSON.parse(settingsJson) as object });
while (!(hub.camera.healthy() && hub.camera.preRoll().filter((f) => f.au.key).length >= 2)) await new Promise((r) => setTimeout(r, 20));
say({ ready: true });

let visitId: string | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'present') {
    const challenge = hub.service.challenge('ble');
    if (!challenge.ok) throw new Error(`no challenge: ${challenge.codeName}`);
    const presentation = signPresentation({ grantId: grant.id, challenge: challenge.challenge, transport: 'ble', time: Date.now(), packages: [...(grant.delivery?.packageIds ?? [])] }, courier);
    void hub.service.present({ transport: 'ble', grant: signedGrant, presentation, rssiDbm: -50 }).then((answer) => {
      if (answer.ok) visitId = answer.visitId;
      say({ present: answer.ok ? 'open' : answer.codeName, visitId: answer.ok ? answer.visitId : answer.visitId });
    });
  } else if (line === 'relock' && visitId !== undefined) {
    void hub.service.relock(visitId).then((answer) => say({ relock: answer.ok ? answer.outcome : answer.codeName }));
  }
}
