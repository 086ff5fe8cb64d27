import type { RtcpPacket } from '../../protocols/rtsp/rtcp.js';

/** An RTCP compound packet the camera received from a client, parsed. */
export interface ReceivedRtcp {
  /** The session it came in on (TCP), or undefined for the UDP RTCP port. */
  readonly session: string | undefined;
  readonly packets: readonly RtcpPacket[];
}

/** What the simulated camera saw and did, for tests to read; bounded, as `npm start` runs it for days. */
export function newStats() {
  return {
    connections: 0,
    requests: [] as string[],
    rtpPackets: 0,
    droppedPackets: 0,
    /** RTCP the clients sent (receiver reports, SDES, BYE), in arrival order. */
    rtcp: [] as ReceivedRtcp[],
    /** RTCP that did not parse. */
    badRtcp: 0,
    /** Sender reports sent: the session, the SSRC and the LSR value a client should echo. */
    senderReports: [] as Array<{ session: string; ssrc: number; lsr: number }>,
    /** Per session: sequence numbers dropped by the drop switch. */
    dropped: new Map<string, number[]>(),
    /** Clip switches done (switchClip). */
    clipSwitches: 0,
    /** Sessions the camera ended for want of a refresh (faults.expireAfterS). */
    expiredSessions: 0,
  };
}

export type SimCameraStats = ReturnType<typeof newStats>;

/** How many records each stats list keeps (the newest), and how many sessions' drop lists. */
const STATS_KEPT_RECORDS = 10_000;
export const STATS_KEPT_SESSIONS = 64;

export function keepLast<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > STATS_KEPT_RECORDS) list.splice(0, list.length - STATS_KEPT_RECORDS);
}
