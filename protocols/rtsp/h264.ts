/**
 * H.264 NAL units (ITU-T H.264 §7.3.1, §7.4.1): their types, the Annex B byte stream and the
 * ISO/IEC 14496-15 length-prefixed sample form. What the hub's depacketizer
 * (h264-depacketizer.ts) and the simulated camera's packetizer (h264-packetizer.ts) share.
 */
export const NalType = { NON_IDR: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9, STAP_A: 24, STAP_B: 25, MTAP16: 26, MTAP24: 27, FU_A: 28, FU_B: 29 } as const;

export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

export function isVcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

/** NAL units of an Annex B byte stream (H.264 §B.1), start codes removed. */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const starts: Array<{ at: number; len: number }> = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      const four = i > 0 && stream[i - 1] === 0;
      starts.push({ at: four ? i - 1 : i, len: four ? 4 : 3 });
      i += 2;
    }
  }
  const out: Uint8Array[] = [];
  starts.forEach((s, k) => {
    const end = starts[k + 1]?.at ?? stream.length;
    const nal = stream.subarray(s.at + s.len, end);
    if (nal.length > 0) out.push(nal);
  });
  return out;
}

/**
 * Groups a decode-order NAL sequence into access units (H.264 §7.4.1.2.3): an AUD, SPS, PPS or SEI
 * after a picture's slices, or a slice with first_mb_in_slice = 0, begins the next unit.
 */
export function groupAccessUnits(nalus: readonly Uint8Array[]): Uint8Array[][] {
  const units: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let seenVcl = false;
  for (const nal of nalus) {
    const type = nalType(nal);
    const firstSlice = isVcl(type) && ((nal[1] ?? 0) & 0x80) !== 0; // ue(v) == 0 starts with bit 1
    const startsUnit = seenVcl && (firstSlice || type === NalType.AUD || type === NalType.SPS || type === NalType.PPS || type === NalType.SEI || (type >= 14 && type <= 18));
    if (startsUnit) {
      units.push(current);
      current = [];
      seenVcl = false;
    }
    current.push(nal);
    if (isVcl(type)) seenVcl = true;
  }
  if (current.length > 0) units.push(current);
  return units;
}

/** ISO/IEC 14496-15 sample format: each NAL unit prefixed with its 4-byte length. */
export function toLengthPrefixed(nalus: readonly Uint8Array[]): Uint8Array {
  const total = nalus.reduce((s, n) => s + 4 + n.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const n of nalus) {
    view.setUint32(o, n.length);
    out.set(n, o + 4);
    o += 4 + n.length;
  }
  return out;
}
