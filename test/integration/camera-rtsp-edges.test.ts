import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Camera } from '../../hub/camera/camera.js';
import { openRtspSession } from '../../hub/camera/rtsp-session.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { systemClock } from '../../hub/system/clock.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { header, RtspReader, serializeResponse } from '../../protocols/rtsp/message.js';
import { SimCamera } from '../../sim/camera/server.js';
import { silentLog } from '../support/silent-log.js';
import { until } from '../support/wait.js';

/** A hostile or odd camera: answers each request with whatever `answer` writes. */
async function scriptedCamera(answer: (method: string, cseq: string, socket: Socket) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    const reader = new RtspReader();
    socket.on('data', (chunk: Buffer) => {
      for (const item of reader.push(chunk)) if (item.type === 'request') answer(item.method, header(item, 'CSeq') ?? '0', socket);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { url: `rtsp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/cam`, server };
}

const servers: Array<{ stop(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function open(url: string, extra: { responseTimeoutMs?: number } = {}) {
  return openRtspSession({ url, credentials: undefined, transports: ['tcp'], clock: systemClock(), log: silentLog(), responseTimeoutMs: extra.responseTimeoutMs ?? 5_000, onAccessUnit: () => {} });
}

describe('stopping the camera while it connects', () => {
  it('stop() returns while the camera has not answered a request, without waiting for any timeout (a silent camera at shutdown)', async () => {
    let requests = 0;
    const cam = await scriptedCamera(() => requests++); // reads every request, answers none
    servers.push({ stop: () => new Promise<void>((r) => cam.server.close(() => r())) });
    // On a FakeClock no response timeout ever fires: only the abort can end the handshake.
    const camera = new Camera({ url: cam.url, clock: new FakeClock(), log: silentLog(), stallS: 3 });
    camera.start();
    await until(() => requests > 0, 'the OPTIONS request');
    await camera.stop();
    expect(camera.healthy()).toBe(false);
    expect(camera.lastError?.code).toBe(ErrorCode.CAMERA_DISCONNECTED);
  });
});

describe('RTSP client bounds and redirects', () => {
  it('cuts off a camera that sends an endless header with CAMERA_PROTOCOL_ERROR', async () => {
    const cam = await scriptedCamera((_m, cseq, socket) => {
      socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n`);
      const line = `X-Pad: ${'a'.repeat(1000)}\r\n`;
      for (let i = 0; i < 40; i++) socket.write(line);
    });
    servers.push({ stop: () => void cam.server.close() });
    await expect(open(cam.url)).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_PROTOCOL_ERROR) && /header block exceeds/.test((e as Error).message));
  });

  it('refuses a 2 GB Content-Length before reading any of it', async () => {
    const cam = await scriptedCamera((_m, cseq, socket) => socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: 2147483648\r\n\r\n`));
    servers.push({ stop: () => void cam.server.close() });
    await expect(open(cam.url)).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_PROTOCOL_ERROR) && /body of 2147483648 bytes/.test((e as Error).message));
  });

  it('a camera that answers DESCRIBE with a non-2xx is CAMERA_REQUEST_FAILED, one without H.264 CAMERA_UNSUPPORTED', async () => {
    const notFound = await scriptedCamera((m, cseq, socket) => socket.write(serializeResponse(m === 'DESCRIBE' ? 404 : 200, m === 'DESCRIBE' ? 'Not Found' : 'OK', [['CSeq', cseq]])));
    servers.push({ stop: () => void notFound.server.close() });
    await expect(open(notFound.url)).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_REQUEST_FAILED));
    const audioOnly = await scriptedCamera((m, cseq, socket) => {
      const body = Buffer.from('v=0\r\ns=x\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n');
      socket.write(serializeResponse(200, 'OK', [['CSeq', cseq], ['Content-Type', 'application/sdp']], m === 'DESCRIBE' ? body : undefined));
    });
    servers.push({ stop: () => void audioOnly.server.close() });
    await expect(open(audioOnly.url)).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_UNSUPPORTED));
  });

  it('follows a DESCRIBE redirect (RFC 2326 §11.3) to the real camera and plays', async () => {
    const sim = new SimCamera({ clock: systemClock() });
    await sim.start();
    servers.push(sim);
    const front = await scriptedCamera((m, cseq, socket) => {
      socket.write(serializeResponse(m === 'DESCRIBE' ? 302 : 200, m === 'DESCRIBE' ? 'Moved Temporarily' : 'OK', [['CSeq', cseq], ...(m === 'DESCRIBE' ? [['Location', sim.url] as const] : [])]));
    });
    servers.push({ stop: () => void front.server.close() });
    const session = await open(front.url);
    expect(session.track.clockRate).toBe(90_000);
    await session.close();
    expect(sim.stats.requests).toContain('PLAY');
  });

  it('gives up after too many redirects', async () => {
    let self = '';
    const loop = await scriptedCamera((m, cseq, socket) => {
      socket.write(serializeResponse(m === 'DESCRIBE' ? 301 : 200, m === 'DESCRIBE' ? 'Moved Permanently' : 'OK', [['CSeq', cseq], ['Location', self]]));
    });
    self = loop.url;
    servers.push({ stop: () => void loop.server.close() });
    await expect(open(loop.url)).rejects.toSatisfy((e) => isHubError(e, ErrorCode.CAMERA_REQUEST_FAILED) && /redirects/.test((e as Error).message));
  });
});
