import { NalType, nalType } from '../../protocols/rtsp/h264.js';
import { packetizeNal, stapA } from '../../protocols/rtsp/h264-packetizer.js';
import { serializeRtp } from '../../protocols/rtsp/rtp.js';
import type { ClipFrame, H264Clip } from './clip.js';

/** One viewer's RTP state: its own SSRC and sequence numbers, as RFC 3550 §8 has for each source. */
export interface RtpSender {
  ssrc: number;
  sequence: number;
}

export const PAYLOAD_TYPE = 96;
export const CLOCK_RATE = 90_000;

/**
 * The RTP packets of one picture (RFC 6184 §5.6–5.8): before each IDR the SPS and PPS go out
 * in-band as one STAP-A, big slices as FU-A; the marker bit closes the picture.
 */
export function framePackets(clip: H264Clip, frame: ClipFrame, rtpTime: number, sender: RtpSender, mtu: number): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  if (frame.key) payloads.push(stapA([clip.sps, clip.pps]));
  for (const nal of frame.nalus) {
    if (nalType(nal) === NalType.AUD) continue;
    payloads.push(...packetizeNal(nal, mtu));
  }
  return payloads.map((payload, i) =>
    serializeRtp({
      marker: i === payloads.length - 1,
      payloadType: PAYLOAD_TYPE,
      sequence: sender.sequence++ & 0xffff,
      timestamp: rtpTime >>> 0,
      ssrc: sender.ssrc,
      payload,
    }),
  );
}
