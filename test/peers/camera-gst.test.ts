import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Camera, type CameraEvent } from '../../hub/camera/camera.js';
import { ClipStore } from '../../hub/camera/clip-store.js';
import type { Frame } from '../../hub/camera/frame.js';
import { Recorder } from '../../hub/camera/recorder.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { RtspProtocolError } from '../../protocols/rtsp/errors.js';
import { H264Depacketizer } from '../../protocols/rtsp/h264-depacketizer.js';
import { RtspReader } from '../../protocols/rtsp/message.js';
import { parseRtcp } from '../../protocols/rtsp/rtcp.js';
import { parseRtp } from '../../protocols/rtsp/rtp.js';
import { ffprobe } from '../support/camera-ffprobe.js';
import { capturedLog, until } from '../support/camera-harness.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';
import { recordingProxy, startGstCamera, type GstCamera } from './camera-gst-launcher.js';

const CREDENTIALS = { username: 'installer', password: 'gst-s3cret' };
let gst: GstCamera;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let dir: { path: string; cleanup(): void };
let store: Store;

beforeAll(async () => {
  // DEBUG from gst's RTP session: it logs every RTCP report block and BYE it receives.
  gst = await startGstCamera(CREDENTIALS, { gstDebug: 'rtpsession:5,rtpsource:5' });
  const port = Number(new URL(gst.url).port);
  proxy = await recordingProxy({ host: '127.0.0.1', port });
  dir = tempDir('keyhub-gst-');
  store = await openStore({ path: join(dir.path, 'keyhub.db'), busyTimeoutMs: 1000, log: silentLog() });
});

afterAll(async () => {
  await proxy?.close();
  await gst?.stop();
  store?.close();
  dir?.cleanup();
});

function camera(url: string, password = CREDENTIALS.password, transport: 'tcp' | 'udp' = 'tcp'): { cam: Camera; frames: Frame[]; events: CameraEvent[] } {
  const cam = new Camera({ url, credentials: { username: CREDENTIALS.username, password }, transport, clock: systemClock(), log: silentLog(), preRollS: 2 });
  const frames: Frame[] = [];
  const events: CameraEvent[] = [];
  cam.onFrame((f) => frames.push(f));
  cam.onEvent((e) => events.push(e));
  return { cam, frames, events };
}

describe('gst-rtsp-server (a real RTSP camera stack)', () => {
  it('records a clip with Digest auth that ffprobe reads: h264, every picture, duration within one GOP of arrival time', async () => {
    let ours = '';
    const { cam, frames } = camera(gst.url.replace(/:\d+\//, `:${proxy.port}/`));
    cam.start();
    try {
      await until(() => cam.healthy() && cam.preRoll().length >= 45, 'healthy with pre-roll', 20_000);
      const clips = new ClipStore({ store, dir: join(dir.path, 'clips'), clock: systemClock(), log: silentLog(), quotaBytes: 1e9, visitQuotaBytes: 1e9 });
      const recorder = new Recorder({ camera: cam, clips, clock: systemClock(), log: silentLog() });
      const preRoll = cam.preRoll();
      const recording = await recorder.start('gst-visit');
      const from = frames.length;
      await until(() => frames.length >= from + 60, 'two seconds of live video', 20_000);
      const {
        clips: [row],
      } = await recording.stop();
      const probe = await ffprobe(clips.path(row));
      expect(probe).toMatchObject({ codec: 'h264', width: 640, height: 360, errors: '' });
      expect(probe.frames).toBeGreaterThanOrEqual(preRoll.length + 60);
      const recorded = [...preRoll, ...frames.slice(from)].slice(0, probe.frames);
      const arrivalS = ((recorded.at(-1)?.receivedAt ?? 0) - (recorded[0]?.receivedAt ?? 0)) / 1000;
      expect(Math.abs(probe.durationS - arrivalS)).toBeLessThan(1); // gst's GOP is 30 frames at 30 fps

      // RTCP both ways (RFC 3550 §6.4): gst reads the hub's receiver reports about its stream,
      // and the hub reads gst's sender reports (and echoes them as LSR).
      ours = (cam.rtcp?.ssrc ?? 0).toString(16).padStart(8, '0');
      const blocks = (): RegExpMatchArray[] => [...gst.stderr().matchAll(new RegExp(`got RB packet: SSRC ${ours}, FL\\s+(\\d+), PL (-?\\d+), HS (\\d+), jitter (\\d+), LSR (\\w+):(\\w+)`, 'g'))];
      await until(() => blocks().length > 0 && cam.rtcp?.lastSenderReport !== undefined, 'an RR at gst and an SR at the hub', 20_000);
      const [, , lost, highest] = blocks()[0] ?? [];
      expect(Number(lost)).toBe(0);
      expect(Number(highest)).toBeGreaterThan(0);
      expect(cam.rtcp?.malformed).toBe(0);
    } finally {
      await cam.stop();
    }
    // RFC 3550 §6.6: the hub leaves with an RTCP BYE for its SSRC, on the interleaved channel, before
    // its TEARDOWN (RFC 2326 §10.7), as the bytes that reached gst show. Whether gst's RTP session
    // logs it depends on gst: its client thread may tear the media down before its RTCP thread has
    // read the BYE queued ahead of the TEARDOWN (seen on a loaded machine), so that log is not the check.
    const wire = Buffer.from(proxy.sent());
    const teardown = wire.lastIndexOf('TEARDOWN ');
    const bye = Buffer.from([0x81, 0xcb, 0x00, 0x01, ...Buffer.from(ours, 'hex')]);
    const at = wire.lastIndexOf(bye);
    expect(at, 'an RTCP BYE (V=2, SC=1, PT=203) naming our SSRC').toBeGreaterThan(-1);
    expect(teardown, 'a TEARDOWN after it').toBeGreaterThan(at);
  }, 90_000);

  it('plays over RTP/UDP too', async () => {
    const { cam, frames } = camera(gst.url, CREDENTIALS.password, 'udp');
    cam.start();
    try {
      await until(() => cam.healthy() && frames.length > 30, 'healthy over UDP', 20_000);
    } finally {
      await cam.stop();
    }
  });

  it('with the default transport (auto), streams from a gst-rtsp-server that takes only UDP: TCP refused with 461, then UDP on the same connection', async () => {
    const udpOnly = await startGstCamera(CREDENTIALS, { udpOnly: true });
    const { log, lines } = capturedLog();
    const cam = new Camera({ url: udpOnly.url, credentials: CREDENTIALS, clock: systemClock(), log, preRollS: 2 });
    const frames: Frame[] = [];
    cam.onFrame((f) => frames.push(f));
    cam.start();
    try {
      await until(() => cam.healthy() && frames.length > 30, 'healthy over UDP', 20_000);
      expect(cam.status()).toMatchObject({ configuredTransport: 'auto', transport: 'udp', state: 'streaming' });
      expect(lines.join('')).toContain('camera session playing over RTP/UDP (the camera refused tcp 461');
    } finally {
      await cam.stop();
      await udpOnly.stop();
    }
  });

  it('a wrong password is CAMERA_AUTH_REFUSED and the camera stays unhealthy', async () => {
    const { cam, events } = camera(gst.url, 'not-the-password');
    cam.start();
    try {
      await until(() => events.some((e) => e.type === 'session-ended'), 'the session attempt to end', 20_000);
      const first = events.find((e) => e.type === 'session-ended');
      expect(first?.type === 'session-ended' && first.error.code).toBe(ErrorCode.CAMERA_AUTH_REFUSED);
      expect(cam.healthy()).toBe(false);
    } finally {
      await cam.stop();
    }
  });

  it("fuzz: mutated captures of gst's byte stream never crash the reader, RTP and RTCP parsers or depacketizer", () => {
    const capture = proxy.captured();
    expect(capture.length).toBeGreaterThan(50_000);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(capture.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }), fc.integer({ min: 200, max: 9000 }), (mutations, chunk) => {
        const bytes = Uint8Array.from(capture);
        for (const [at, v] of mutations) bytes[at] = v;
        const reader = new RtspReader();
        const depacketizer = new H264Depacketizer({ payloadType: 96 });
        try {
          for (let o = 0; o < bytes.length; o += chunk) {
            for (const item of reader.push(bytes.subarray(o, o + chunk))) {
              if (item.type !== 'interleaved') continue;
              if (item.channel === 1) {
                // gst's RTCP (SR + SDES): parsed, or refused with RtspProtocolError.
                try {
                  parseRtcp(item.payload);
                } catch (err) {
                  expect(err).toBeInstanceOf(RtspProtocolError);
                }
                continue;
              }
              if (item.channel !== 0) continue;
              try {
                depacketizer.push(parseRtp(item.payload));
              } catch (err) {
                expect(err).toBeInstanceOf(RtspProtocolError);
              }
            }
          }
        } catch (err) {
          expect(err).toBeInstanceOf(RtspProtocolError);
        }
        expect(reader.buffered).toBeLessThan(16_384 + 65_536 + 9000);
      }),
      { numRuns: 60 },
    );
  });
});
