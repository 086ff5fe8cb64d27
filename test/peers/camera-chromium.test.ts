import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipStore } from '../../hub/camera/clip-store.js';
import { live } from '../../hub/camera/live.js';
import { Recorder } from '../../hub/camera/recorder.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { avcCodecString } from '../../protocols/rtsp/h264-sps.js';
import { startRig, until, type Rig } from '../support/camera-harness.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

/**
 * The clip the hub records, and its live view, in a real browser: Debian's Chromium driven by
 * playwright-core. A page served from 127.0.0.1 plays the file in a <video>, and feeds the live
 * segments to Media Source Extensions; both must report a duration and paint a decoded picture.
 */
const PAGE = `<!doctype html><meta charset="utf-8"><video id="v" muted playsinline></video><canvas id="c" width="64" height="36"></canvas>
<script>
async function picture(video) {
  await video.play();
  await new Promise((resolve) => { const tick = () => (video.currentTime > 0.3 ? resolve() : setTimeout(tick, 20)); tick(); });
  const ctx = document.getElementById('c').getContext('2d');
  ctx.drawImage(video, 0, 0, 64, 36);
  const px = ctx.getImageData(0, 0, 64, 36).data;
  const seen = new Set();
  for (let i = 0; i < px.length; i += 4) seen.add(px[i] + ',' + px[i + 1] + ',' + px[i + 2]);
  return { duration: video.duration, colours: seen.size, width: video.videoWidth };
}
window.playFile = async (src) => {
  const v = document.getElementById('v');
  v.src = src;
  await new Promise((resolve, reject) => { v.onloadedmetadata = resolve; v.onerror = () => reject(new Error('video error ' + (v.error && v.error.code))); });
  return picture(v);
};
window.playLive = async (src, mime) => {
  if (!MediaSource.isTypeSupported(mime)) throw new Error('MSE does not support ' + mime);
  const v = document.getElementById('v');
  const ms = new MediaSource();
  v.src = URL.createObjectURL(ms);
  await new Promise((resolve) => ms.addEventListener('sourceopen', resolve, { once: true }));
  const sb = ms.addSourceBuffer(mime);
  const bytes = await (await fetch(src)).arrayBuffer();
  await new Promise((resolve, reject) => { sb.onupdateend = resolve; sb.onerror = reject; sb.appendBuffer(bytes); });
  ms.endOfStream();
  return picture(v);
};
</script>`;

let rig: Rig;
let store: Store;
let dir: { path: string; cleanup(): void };
let http: Server;
let browser: Browser;
let base = '';
const files = new Map<string, Uint8Array>();

beforeAll(async () => {
  dir = tempDir('keyhub-chromium-');
  rig = await startRig({ stallS: 600, preRollS: 1 });
  store = await openStore({ path: join(dir.path, 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
  http = createServer((req, res) => {
    const body = req.url === '/' ? Buffer.from(PAGE) : files.get(req.url ?? '');
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': req.url === '/' ? 'text/html' : 'video/mp4', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const address = http.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  await rig?.stop();
  store?.close();
  dir?.cleanup();
});

describe('Chromium plays what the hub records', () => {
  it('a recorded visit clip: <video> reports its duration and paints a decoded picture', async () => {
    await until(() => rig.camera.healthy() && rig.camera.preRoll().length >= 30, 'healthy');
    const clips = new ClipStore({ store, dir: join(dir.path, 'clips'), clock: rig.clock, log: silentLog(), quotaBytes: 1e9, visitQuotaBytes: 1e9 });
    const recording = await new Recorder({ camera: rig.camera, clips, clock: rig.clock, log: silentLog() }).start('browser-visit');
    const from = rig.frames.length;
    await until(() => rig.frames.length >= from + 60, 'two seconds of video');
    const {
      clips: [row],
    } = await recording.stop();
    files.set('/clip.mp4', readFileSync(clips.path(row)));
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    const result = await page.evaluate(() => (globalThis as unknown as { playFile(src: string): Promise<{ duration: number; colours: number; width: number }> }).playFile('/clip.mp4'));
    await page.close();
    expect(result.width).toBe(640);
    expect(result.duration).toBeGreaterThan(2);
    expect(result.colours).toBeGreaterThan(8); // testsrc2 is colourful; a black or grey frame is not
  });

  it('the live view segments, appended to a Media Source Extensions SourceBuffer, play', async () => {
    const segments: Uint8Array[] = [];
    for await (const seg of live(rig.camera)) {
      segments.push(seg.data);
      if (segments.length >= 3) break;
    }
    files.set('/live.mp4', Buffer.concat(segments));
    const mime = `video/mp4; codecs="${avcCodecString(rig.camera.latestGop()[0]?.au.sps ?? new Uint8Array())}"`;
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    const result = await page.evaluate(([src, type]) => (globalThis as unknown as { playLive(src: string, mime: string): Promise<{ duration: number; colours: number; width: number }> }).playLive(src, type), ['/live.mp4', mime] as const);
    await page.close();
    expect(result.width).toBe(640);
    expect(result.duration).toBeGreaterThan(1);
    expect(result.colours).toBeGreaterThan(8);
  });
});
