import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Probe {
  codec: string;
  width: number;
  height: number;
  /** Pictures ffprobe decoded (`-count_frames`). */
  frames: number;
  durationS: number;
  /** Whatever ffprobe complained about at log level error. */
  errors: string;
}

/** ffprobe, a peer no one here wrote, reads a clip the hub recorded. */
export async function ffprobe(path: string): Promise<Probe> {
  const { stdout, stderr } = await run('/usr/bin/ffprobe', [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', path,
  ]);
  const json = JSON.parse(stdout) as { streams?: Array<Record<string, string | number>>; format?: { duration?: string } };
  const s = json.streams?.[0] ?? {};
  return {
    codec: String(s.codec_name ?? ''),
    width: Number(s.width ?? 0),
    height: Number(s.height ?? 0),
    frames: Number(s.nb_read_frames ?? 0),
    durationS: Number(json.format?.duration ?? 0),
    errors: stderr.trim(),
  };
}

/** The presentation times (s) ffprobe reads for each video packet of a clip, in file order. */
export async function ffprobePacketTimes(path: string): Promise<number[]> {
  const { stdout } = await run('/usr/bin/ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path]);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'N/A')
    .map(Number);
}
