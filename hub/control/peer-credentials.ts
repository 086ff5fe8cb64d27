/**
 * Who is on the other end of a unix socket, as the kernel tells it: SO_PEERCRED (unix(7)) gives
 * the pid, uid and gid of the connecting process as they were at connect(), which no client can
 * forge (unlike anything it sends). Node has no API for it; koffi (already the daemon's FFI for
 * sd_notify) calls libc's getsockopt on the connection's descriptor. Linux only: struct ucred is
 * three 32-bit ints there.
 */
import type { Socket } from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Reads a connection's peer credentials; undefined when the kernel does not say (fail closed). */
export type PeerReader = (socket: Socket) => PeerCredentials | undefined;

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const UCRED_BYTES = 12;

export async function soPeerCred(): Promise<PeerReader> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load(null);
  const getsockopt = libc.func('int getsockopt(int fd, int level, int optname, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)');
  return (socket) => {
    // The descriptor of a connection on a unix-socket server (a libuv Pipe handle).
    const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    const ucred = Buffer.alloc(UCRED_BYTES);
    const length = [UCRED_BYTES];
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, length) !== 0 || length[0] !== UCRED_BYTES) return undefined;
    return { pid: ucred.readInt32LE(0), uid: ucred.readUInt32LE(4), gid: ucred.readUInt32LE(8) };
  };
}
