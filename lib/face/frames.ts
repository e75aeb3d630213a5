/**
 * Video frames for the face front-end: ffmpeg (through fluent-ffmpeg) decodes any video to raw
 * RGBA frames at a chosen rate, streamed one frame at a time (never the whole clip in memory),
 * each with its timestamp.
 *
 * Timing contract (so frames line up with 10 ms audio frames exactly):
 * - ffmpeg's `fps` filter resamples to a constant rate; output frame `i` is the input frame nearest
 *   to `firstVideoPts + i / fps` (round=near, ffmpeg's default).
 * - `timeS = offsetS + i / fps`, where `offsetS` = video stream start − audio stream start when the
 *   file has audio (so t = 0 is the first audio sample, which is sample 0 of the audio decoder),
 *   else 0. For a 30 fps video, frame i sits exactly on audio frame 10 ms × (i·100/30 + offset).
 */
import { existsSync } from 'node:fs';
import { EmolabError, errorMessage } from '../errors';
import { ffmpegBinaries, ffmpegStdout, ffprobeJsonText, fluent } from '../media/ffmpeg';

export interface VideoInfo {
  file: string;
  width: number;
  height: number;
  /** Display size after applying rotation metadata (what ffmpeg outputs with autorotate). */
  displayWidth: number;
  displayHeight: number;
  /** Native frame rate (r_frame_rate), frames/s. */
  fps: number;
  durationS: number;
  /** Start time of the video stream, seconds. */
  videoStartS: number;
  /** Start time of the first audio stream, seconds; undefined when the file has no audio. */
  audioStartS?: number;
  hasAudio: boolean;
  rotation: number;
}

export interface VideoFrame {
  /** 0-based index at the requested rate. */
  index: number;
  /** Seconds from the first audio sample (see timing contract above). */
  timeS: number;
  width: number;
  height: number;
  /** RGBA, row-major, top row first: width * height * 4 bytes. A fresh buffer per frame. */
  data: Uint8ClampedArray;
}

export interface DecodeOptions {
  /** Output rate in frames/s (default 30). */
  fps?: number;
  /**
   * Longest side of the output in pixels: frames larger than this are scaled down (aspect kept,
   * even sizes). Default 640: the face landmarker's detector works on 128x128 and the mesh on
   * 256x256 crops, so larger inputs only cost decode time.
   */
  maxSide?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Start decoding at this many seconds (input seek). */
  startS?: number;
}

function fail(file: string, message: string, hint?: string, cause?: unknown): never {
  throw new EmolabError('face', message, { file, hint, cause });
}

/** Parse a rational like "30000/1001" or "25". */
export function parseRate(s: string | undefined): number {
  if (!s) return NaN;
  const [a, b] = s.split('/').map(Number);
  return b === undefined ? a : b === 0 ? NaN : a / b;
}

interface ProbeJson {
  streams?: { codec_type?: string; width?: number; height?: number; r_frame_rate?: string; avg_frame_rate?: string; start_time?: string; duration?: string; tags?: Record<string, string>; side_data_list?: { rotation?: number }[] }[];
  format?: { duration?: string; start_time?: string };
}

/** VideoInfo from ffprobe's JSON (`-show_streams -show_format`). Pure; exported for tests. */
export function videoInfoFromProbe(file: string, probe: ProbeJson): VideoInfo {
  const streams = probe.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  if (!v || !v.width || !v.height) fail(file, 'no video stream found', 'the face front-end needs a video with a face in it');
  const a = streams.find((s) => s.codec_type === 'audio');
  const rotRaw = v.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? Number(v.tags?.rotate ?? 0);
  const rotation = ((Math.round(rotRaw) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  let fps = parseRate(v.r_frame_rate);
  if (!Number.isFinite(fps) || fps <= 0 || fps > 1000) fps = parseRate(v.avg_frame_rate);
  const durationS = Number(v.duration ?? probe.format?.duration ?? NaN);
  const videoStartS = Number(v.start_time ?? 0) || 0;
  const audioStartS = a ? Number(a.start_time ?? 0) || 0 : undefined;
  return {
    file,
    width: v.width,
    height: v.height,
    displayWidth: swap ? v.height : v.width,
    displayHeight: swap ? v.width : v.height,
    fps,
    durationS,
    videoStartS,
    audioStartS,
    hasAudio: Boolean(a),
    rotation,
  };
}

/** Probe a video with ffprobe. */
export async function probeVideo(file: string): Promise<VideoInfo> {
  if (!existsSync(file)) fail(file, 'video file not found');
  const { ffprobe } = ffmpegBinaries();
  if (!ffprobe) fail(file, 'ffprobe not found', 'run npm ci (it installs @ffprobe-installer/ffprobe), install ffmpeg (it ships ffprobe) or set FFPROBE_PATH');
  let json: string;
  try { json = await ffprobeJsonText(ffprobe, file); } catch (e) { throw new EmolabError('face', `ffprobe could not read the file: ${errorMessage(e)}`, { file, cause: e }); }
  let parsed: ProbeJson;
  try { parsed = JSON.parse(json) as ProbeJson; } catch (e) { fail(file, `ffprobe returned unreadable output (${errorMessage(e)})`); }
  return videoInfoFromProbe(file, parsed);
}

/** Output size for a display size and a longest-side limit: aspect kept, both sides even. Pure. */
export function outputSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const s = Math.min(1, maxSide / Math.max(width, height));
  const even = (x: number) => Math.max(2, 2 * Math.round((x * s) / 2));
  return s === 1 && width % 2 === 0 && height % 2 === 0 ? { width, height } : { width: even(width), height: even(height) };
}

/** Seconds between the video stream start and t = 0 (first audio sample). Pure. */
export function timeOffsetS(info: VideoInfo): number {
  return info.audioStartS === undefined ? 0 : info.videoStartS - info.audioStartS;
}

/** Time of frame `index` at rate `fps` (see the timing contract). Pure. */
export function frameTime(index: number, fps: number, offsetS = 0): number {
  return offsetS + index / fps;
}

/**
 * Decode a video to RGBA frames at `fps`, one at a time. Memory: one frame plus ffmpeg's pipe
 * buffer. Breaking out of the loop stops ffmpeg. Errors (unreadable file, ffmpeg failure) are
 * EmolabErrors naming the file; frames already yielded stay valid.
 */
export async function* decodeFrames(file: string, opts: DecodeOptions = {}, info?: VideoInfo): AsyncGenerator<VideoFrame> {
  const fps = opts.fps ?? 30;
  if (!(fps > 0)) fail(file, `frame rate must be positive, got ${fps}`);
  const vi = info ?? (await probeVideo(file));
  const { width, height } = outputSize(vi.displayWidth, vi.displayHeight, opts.maxSide ?? 640);
  const frameBytes = width * height * 4;
  // With an input seek, ffmpeg's output starts at the seek point.
  const offset = timeOffsetS(vi) + (opts.startS ?? 0);

  let stderrTail = '';
  const cmd = fluent(file);
  if (opts.startS) cmd.seekInput(opts.startS);
  cmd
    .noAudio()
    .videoFilters([`fps=${fps}`, `scale=${width}:${height}:flags=bilinear`])
    .outputOptions(['-f', 'rawvideo', '-pix_fmt', 'rgba'])
    .on('stderr', (line: string) => { stderrTail = (stderrTail + '\n' + line).slice(-2000); });
  if (opts.maxFrames !== undefined) cmd.outputOptions(['-frames:v', String(opts.maxFrames)]);
  let exited = false;
  const finished = new Promise<Error | undefined>((resolve) => {
    cmd.on('end', () => { exited = true; resolve(undefined); });
    cmd.on('error', (e: Error) => { exited = true; resolve(e); });
  });
  const stream = ffmpegStdout(cmd);

  let pending = new Uint8Array(frameBytes);
  let filled = 0;
  let index = 0;
  let complete = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - off);
        pending.set(chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === frameBytes) {
          const frame: VideoFrame = { index, timeS: frameTime(index, fps, offset), width, height, data: new Uint8ClampedArray(pending.buffer) };
          pending = new Uint8Array(frameBytes);
          filled = 0;
          index++;
          yield frame;
        }
      }
    }
    complete = true;
  } finally {
    // The consumer left early (break / throw): stop ffmpeg.
    if (!complete && !exited) { try { cmd.kill('SIGKILL'); } catch { /* already gone */ } }
  }
  const err = await finished;
  if (err) {
    const last = stderrTail.trim().split('\n').slice(-3).join(' | ');
    fail(file, `ffmpeg failed while decoding frames after ${index} frame(s): ${err.message.split('\n')[0]}${last ? ` (${last})` : ''}`, undefined, err);
  }
  if (index === 0) fail(file, 'the video decoded to zero frames', 'is the file a complete, readable video?');
}

/** Decode all frames into memory — for tests and tiny clips only (use decodeFrames otherwise). */
export async function readFrames(file: string, opts: DecodeOptions = {}): Promise<VideoFrame[]> {
  const out: VideoFrame[] = [];
  for await (const f of decodeFrames(file, opts)) out.push(f);
  return out;
}

/**
 * One frame as JPEG bytes (ffmpeg's mjpeg encoder), `width` pixels wide — for figures: a plotly
 * `image` trace takes it as a data: URI, far smaller than raw pixels.
 */
export async function frameJpeg(file: string, timeS: number, width = 480, quality = 5): Promise<Uint8Array> {
  if (!existsSync(file)) fail(file, 'video file not found');
  const chunks: Buffer[] = [];
  const cmd = fluent(file)
    .seekInput(Math.max(0, timeS))
    .noAudio()
    .outputOptions(['-frames:v', '1', '-vf', `scale=${width}:-2`, '-q:v', String(quality), '-f', 'image2pipe', '-c:v', 'mjpeg']);
  const done = new Promise<Error | undefined>((resolve) => { cmd.on('end', () => resolve(undefined)); cmd.on('error', (e: Error) => resolve(e)); });
  for await (const c of ffmpegStdout(cmd) as AsyncIterable<Buffer>) chunks.push(c);
  const err = await done;
  if (err || chunks.length === 0) fail(file, `could not grab a frame at ${timeS} s${err ? `: ${err.message}` : ''}`);
  return new Uint8Array(Buffer.concat(chunks));
}
