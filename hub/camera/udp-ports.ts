import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { ErrorCode, HubError } from '../system/errors.js';

/**
 * Two UDP sockets on adjacent ports, RTP's even (RFC 3550 §11), so the Transport header's
 * client_port=n-(n+1) is true for RTCP too. A port taken meanwhile means another try.
 */
export async function bindUdpPair(localAddress: string): Promise<{ rtp: UdpSocket; rtcp: UdpSocket }> {
  const type = localAddress.includes(':') ? 'udp6' : 'udp4';
  for (let attempt = 0; attempt < 20; attempt++) {
    const rtp = await bind(createSocket(type), localAddress, 0);
    const port = rtp?.address().port;
    if (rtp === undefined || port === undefined) continue;
    if (port % 2 !== 0 || port === 65_535) {
      rtp.close();
      continue;
    }
    const rtcp = await bind(createSocket(type), localAddress, port + 1);
    if (rtcp === undefined) {
      rtp.close();
      continue;
    }
    // Large enough for a burst of a 1080p I-frame between reads.
    rtp.setRecvBufferSize(4 * 1024 * 1024);
    return { rtp, rtcp };
  }
  throw new HubError(ErrorCode.CAMERA_UNREACHABLE, 'no free pair of UDP ports for RTP and RTCP');
}

function bind(socket: UdpSocket, address: string, port: number): Promise<UdpSocket | undefined> {
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, address, () => {
      socket.removeAllListeners('error');
      // A failed send (RTCP is best effort) or a receive error must not take the process down;
      // if no RTP arrives any more, the liveness watch says so.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}
