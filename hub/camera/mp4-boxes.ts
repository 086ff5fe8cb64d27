/**
 * Top-level ISO BMFF boxes (ISO/IEC 14496-12 §4.2): size, type. Enough to split a fragmented MP4
 * into its init segment and fragments, and to find where a file cut short stops being whole.
 */
export interface Box {
  readonly type: string;
  readonly start: number;
  readonly size: number;
}

/** Whole top-level boxes in `bytes`, in order; stops at the first box that is cut off. */
export function topLevelBoxes(bytes: Uint8Array): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Box[] = [];
  let o = 0;
  while (o + 8 <= bytes.length) {
    let size = view.getUint32(o);
    if (size === 1) {
      if (o + 16 > bytes.length) break;
      size = Number(view.getBigUint64(o + 8)); // §4.2 largesize
    } else if (size === 0) {
      size = bytes.length - o; // runs to end of file
    }
    if (size < 8 || o + size > bytes.length) break;
    const type = String.fromCharCode(bytes[o + 4] ?? 0, bytes[o + 5] ?? 0, bytes[o + 6] ?? 0, bytes[o + 7] ?? 0);
    boxes.push({ type, start: o, size });
    o += size;
  }
  return boxes;
}

/**
 * Length of the playable prefix of a fragmented MP4: init segment plus every complete
 * `moof`+`mdat` pair. 0 if not even the init segment is whole.
 */
export function playablePrefix(bytes: Uint8Array): number {
  const boxes = topLevelBoxes(bytes);
  if (!boxes.some((b) => b.type === 'moov')) return 0;
  let end = 0;
  for (let i = 0; i < boxes.length; i++) {
    const box = boxes[i] as Box;
    if (box.type === 'moof') {
      const next = boxes[i + 1];
      if (next?.type !== 'mdat') break;
      end = next.start + next.size;
      i++;
    } else if (box.type === 'ftyp' || box.type === 'moov' || box.type === 'mfra' || box.type === 'free') {
      end = box.start + box.size;
    } else if (box.type !== 'mdat') {
      end = box.start + box.size;
    }
  }
  return end;
}
