import { createSocket, type Socket as UdpSocket } from 'node:dgram';

/** An RTP socket on an even port and its RTCP socket on the next one (RFC 3550 §11). */
export async function bindUdpPair(host: string): Promise<{ rtp: UdpSocket; rtcp: UdpSocket }> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const bind = (port: number): Promise<UdpSocket | undefined> =>
    new Promise((resolve) => {
      const socket = createSocket(type);
      socket.once('error', () => {
        socket.close();
        resolve(undefined);
      });
      socket.bind(port, host, () => {
        socket.removeAllListeners('error');
        // A send to a client that went away fails asynchronously; the sim goes on.
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const rtp = await bind(0);
    const port = rtp?.address().port ?? 1;
    if (rtp === undefined || port % 2 !== 0) {
      rtp?.close();
      continue;
    }
    const rtcp = await bind(port + 1);
    if (rtcp !== undefined) return { rtp, rtcp };
    rtp.close();
  }
  throw new Error('sim camera: no free UDP port pair');
}
