import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorization, parseChallenge, pickChallenge, verifyDigest } from '../../protocols/rtsp/auth.js';
import { RtspProtocolError } from '../../protocols/rtsp/errors.js';
import { buildH264Sdp, h264Track, parseSdp, resolveControl } from '../../protocols/rtsp/sdp.js';
import { loadH264Clip } from '../../sim/camera/clip.js';

/** `npm run fuzz:camera` scales every fuzz run up; `npm test` runs the short version. */
const runs = (n: number): number => n * Number(process.env.CAMERA_FUZZ_SCALE ?? '1');

// What gst-rtsp-server answers to DESCRIBE for an x264enc ! rtph264pay pipeline (shape kept, values ours).
const GST_SDP = [
  'v=0',
  'o=- 1188340656180883 1 IN IP4 127.0.0.1',
  's=Session streamed with GStreamer',
  'i=rtsp-server',
  't=0 0',
  'a=tool:GStreamer',
  'a=type:broadcast',
  'a=range:npt=now-',
  'a=control:rtsp://127.0.0.1:8554/cam',
  'm=video 0 RTP/AVP 96',
  'c=IN IP4 0.0.0.0',
  'b=AS:2000',
  'a=rtpmap:96 H264/90000',
  'a=framerate:30',
  'a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkAoC/5YQAAAwABAAADADwPFi5I,aMuMsg==;profile-level-id=42c01e;level-asymmetry-allowed=1',
  'a=control:rtsp://127.0.0.1:8554/cam/stream=0',
  'a=ts-refclk:local',
  'a=mediaclk:sender',
  '',
].join('\r\n');

describe('SDP (RFC 4566) and the H.264 media type (RFC 6184 §8)', () => {
  it('finds the H.264 track, its clock rate, packetization mode and parameter sets', () => {
    const track = h264Track(parseSdp(GST_SDP));
    expect(track).toMatchObject({ payloadType: 96, clockRate: 90_000, packetizationMode: 1, profileLevelId: '42c01e', control: 'rtsp://127.0.0.1:8554/cam/stream=0' });
    expect(track.sps?.[0]).toBe(0x67);
    expect(track.pps?.[0]).toBe(0x68);
  });

  it('round-trips what the simulated camera offers', () => {
    const clip = loadH264Clip();
    const track = h264Track(parseSdp(buildH264Sdp({ sessionName: 's', origin: '127.0.0.1', payloadType: 97, sps: clip.sps, pps: clip.pps, control: 'trackID=0' })));
    expect(track.payloadType).toBe(97);
    expect(Buffer.from(track.sps ?? []).equals(Buffer.from(clip.sps))).toBe(true);
  });

  it('refuses a session without H.264 video and interleaved packetization', () => {
    expect(() => h264Track(parseSdp('v=0\r\ns=a\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'))).toThrow(/no H.264/);
    expect(() => h264Track(parseSdp('v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=2\r\n'))).toThrow(/packetization-mode/);
  });

  it('resolves relative, absolute and aggregate control URLs (RFC 2326 §C.1.1)', () => {
    expect(resolveControl('rtsp://h:554/s/', 'trackID=1')).toBe('rtsp://h:554/s/trackID=1');
    expect(resolveControl('rtsp://h:554/s', 'trackID=1')).toBe('rtsp://h:554/s/trackID=1');
    expect(resolveControl('rtsp://h/s/', 'rtsp://other/x')).toBe('rtsp://other/x');
    expect(resolveControl('rtsp://h/s/', '*')).toBe('rtsp://h/s/');
  });

  it('fuzz: mutated SDPs parse or fail with RtspProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(GST_SDP.length - 1), fc.string({ maxLength: 3 })), { maxLength: 10 }), (edits) => {
        let text = GST_SDP;
        for (const [at, s] of edits) text = text.slice(0, at) + s + text.slice(at + 1);
        try {
          h264Track(parseSdp(text));
        } catch (err) {
          expect(err).toBeInstanceOf(RtspProtocolError);
        }
      }),
      { numRuns: runs(3000) },
    );
  });
});

describe('Basic and Digest authentication (RFC 7617, RFC 2617, RFC 7616)', () => {
  const mufasa = { username: 'Mufasa', password: 'Circle Of Life' };

  it('computes the RFC 2617 §3.5 example response', () => {
    const challenge = parseChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    const value = authorization(challenge, mufasa, 'GET', '/dir/index.html', '0a4f113b', 1);
    expect(value).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(value).toContain('nc=00000001');
    expect(value).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  it('computes the RFC 7616 §3.9.1 SHA-256 example response', () => {
    const challenge = parseChallenge('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    // RFC 7616's example spells the password with a lower-case "of" (RFC 2617's does not).
    const value = authorization(challenge, { username: 'Mufasa', password: 'Circle of Life' }, 'GET', '/dir/index.html', 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', 1);
    expect(value).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
  });

  it('answers Basic when that is all the camera offers, and prefers Digest when both are', () => {
    expect(authorization(pickChallenge(['Basic realm="cam"']), { username: 'admin', password: 'pw' }, 'DESCRIBE', 'rtsp://h/', 'x', 1)).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
    expect(pickChallenge(['Basic realm="cam"', 'Digest realm="cam", nonce="n"']).scheme).toBe('digest');
    expect(pickChallenge(['Digest realm="c", nonce="n"', 'Digest realm="c", nonce="n", algorithm=SHA-256']).params.get('algorithm')).toBe('SHA-256');
  });

  it('refuses schemes, algorithms and qop values it cannot answer', () => {
    expect(() => pickChallenge(['Negotiate abc'])).toThrow(RtspProtocolError);
    expect(() => pickChallenge(['Digest realm="r", nonce="n", algorithm=SHA-512-256'])).toThrow(/no supported/);
    expect(() => authorization(parseChallenge('Digest realm="r", nonce="n", qop="auth-int"'), mufasa, 'GET', '/', 'c', 1)).toThrow(/qop/);
    expect(() => authorization(parseChallenge('Digest realm="r"'), mufasa, 'GET', '/', 'c', 1)).toThrow(/nonce/);
  });

  it('a server verifies a right password and rejects a wrong one, a wrong nonce and another method', () => {
    const challenge = parseChallenge('Digest realm="cam", nonce="abc", qop="auth"');
    const good = authorization(challenge, mufasa, 'DESCRIBE', 'rtsp://h/s', 'c1', 1);
    const expected = { credentials: mufasa, realm: 'cam', nonce: 'abc', method: 'DESCRIBE' };
    expect(verifyDigest(good, expected)).toBe(true);
    expect(verifyDigest(authorization(challenge, { ...mufasa, password: 'x' }, 'DESCRIBE', 'rtsp://h/s', 'c1', 1), expected)).toBe(false);
    expect(verifyDigest(good, { ...expected, nonce: 'other' })).toBe(false);
    expect(verifyDigest(good, { ...expected, method: 'PLAY' })).toBe(false);
    expect(verifyDigest('Basic abc', expected)).toBe(false);
  });

  it('property: quoted user names with quotes and backslashes survive the round trip', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (username, password) => {
        const challenge = parseChallenge('Digest realm="cam", nonce="n1", qop="auth"');
        const value = authorization(challenge, { username, password }, 'PLAY', 'rtsp://h/', 'cn', 2);
        expect(verifyDigest(value, { credentials: { username, password }, realm: 'cam', nonce: 'n1', method: 'PLAY' })).toBe(true);
      }),
    );
  });

  it('fuzz: arbitrary header text parses or fails with RtspProtocolError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseChallenge(text);
        } catch (err) {
          expect(err).toBeInstanceOf(RtspProtocolError);
        }
      }),
      { numRuns: runs(3000) },
    );
  });
});
