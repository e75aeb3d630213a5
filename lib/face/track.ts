/**
 * `trackFaces(video)`: decode a video at a fixed rate, run the Face Landmarker on every frame and
 * keep one face per frame — the largest, when several are in view (the speaker is nearly always
 * the face closest to the camera in talking-face corpora). Frames without a face are marked;
 * short gaps (a blink of the detector, a hand passing) are filled by linear interpolation between
 * the detected frames on either side; longer gaps, and gaps at the start or end, stay missing
 * (NaN values, face_found = 0) so nothing downstream mistakes a guess for a measurement.
 */
import { EmolabError } from '../errors';
import { progress } from '../show/progress';
import { decodeFrames, probeVideo, type DecodeOptions, type VideoInfo } from './frames';
import { createFaceLandmarker, N_BLENDSHAPES, N_LANDMARKS, type FaceLandmarkerSession, type LandmarkerOptions } from './landmarker';

/** Per-frame face measurements of one clip. Arrays are row-major, one row per frame. */
export interface FaceTrack {
  file: string;
  /** Rate the video was resampled to. */
  fps: number;
  /** Size of the decoded frames (landmark x is relative to width, y to height). */
  width: number;
  height: number;
  nFrames: number;
  /** [frames] seconds from the first audio sample (see ./frames timing contract). */
  times: Float64Array;
  /** [frames * 478 * 3] MediaPipe normalised x, y, z; NaN where no face. */
  landmarks: Float32Array;
  /** [frames * 52] blendshape scores; NaN where no face. */
  blendshapes: Float32Array;
  /** [frames] 1 where the landmarker found a face in that frame. */
  faceFound: Uint8Array;
  /** [frames] 1 where the values were interpolated across a short gap. */
  interpolated: Uint8Array;
  /** [frames] number of faces the landmarker reported (the largest was kept). */
  faceCount: Uint8Array;
  stats: TrackStats;
}

export interface TrackStats {
  frames: number;
  detected: number;
  interpolated: number;
  missing: number;
  /** Frames where more than one face was seen. */
  multiFace: number;
  /** Seconds spent decoding (ffmpeg + pipe) and in the landmarker. */
  decodeS: number;
  detectS: number;
}

export interface TrackOptions extends DecodeOptions, LandmarkerOptions {
  /** Longest run of missing frames that is interpolated (default 5 frames ≈ 0.17 s at 30 fps). */
  maxGapFrames?: number;
  /** Reuse a landmarker session (it is reset before the clip); default: create and close one. */
  session?: FaceLandmarkerSession;
  /** Print progress (default false). */
  progress?: boolean;
}

/**
 * Fill runs of missing frames of length <= maxGap that have a detected frame on both sides, by
 * linear interpolation of every column of every array in `series` (each [frames * width]).
 * Returns the `interpolated` mask. Mutates `series`. Pure otherwise; exported for tests.
 */
export function fillShortGaps(found: Uint8Array, series: { data: Float32Array; width: number }[], maxGap: number): Uint8Array {
  const n = found.length;
  const filled = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    if (found[i]) { i++; continue; }
    let j = i;
    while (j < n && !found[j]) j++;
    // Missing run [i, j): bounded by i-1 and j when both exist.
    const len = j - i;
    if (i > 0 && j < n && len <= maxGap) {
      for (const { data, width } of series) {
        const a = (i - 1) * width, b = j * width;
        for (let k = i; k < j; k++) {
          const w = (k - (i - 1)) / (len + 1);
          const o = k * width;
          for (let c = 0; c < width; c++) data[o + c] = (1 - w) * data[a + c] + w * data[b + c];
        }
      }
      for (let k = i; k < j; k++) filled[k] = 1;
    }
    i = j;
  }
  return filled;
}

/** Concatenate equal-width rows into one array. */
function stack(rows: Float32Array[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r, i * width));
  return out;
}

/** Track the (largest) face through a video. See the module comment. */
export async function trackFaces(videoPath: string, opts: TrackOptions = {}): Promise<FaceTrack> {
  const info: VideoInfo = await probeVideo(videoPath);
  const fps = opts.fps ?? 30;
  const own = !opts.session;
  const session = opts.session ?? (await createFaceLandmarker(opts));
  const lmRows: Float32Array[] = [];
  const bsRows: Float32Array[] = [];
  const times: number[] = [];
  const found: number[] = [];
  const counts: number[] = [];
  const missingLm = new Float32Array(N_LANDMARKS * 3).fill(NaN);
  const missingBs = new Float32Array(N_BLENDSHAPES).fill(NaN);
  let width = 0, height = 0, decodeS = 0, detectS = 0, multiFace = 0;
  const expected = Math.max(1, Math.min(opts.maxFrames ?? Infinity, Math.round((info.durationS || 0) * fps)));
  const bar = opts.progress ? progress(`faces ${videoPath.split('/').pop()}`, expected, { unit: 'frames' }) : undefined;
  try {
    session.reset();
    let t = performance.now();
    for await (const frame of decodeFrames(videoPath, opts, info)) {
      const t1 = performance.now();
      decodeS += (t1 - t) / 1000;
      width = frame.width; height = frame.height;
      const faces = session.detect(frame, frame.index * (1000 / fps));
      const t2 = performance.now();
      detectS += (t2 - t1) / 1000;
      t = t2;
      times.push(frame.timeS);
      counts.push(Math.min(255, faces.length));
      if (faces.length > 1) multiFace++;
      if (faces.length > 0) {
        lmRows.push(faces[0].landmarks);
        bsRows.push(faces[0].blendshapes);
        found.push(1);
      } else {
        lmRows.push(missingLm);
        bsRows.push(missingBs);
        found.push(0);
      }
      bar?.tick();
    }
  } finally {
    if (own) session.close();
  }
  bar?.done();
  const n = times.length;
  if (n === 0) throw new EmolabError('face', 'no frames decoded', { file: videoPath });
  const landmarks = stack(lmRows, N_LANDMARKS * 3);
  const blendshapes = stack(bsRows, N_BLENDSHAPES);
  const faceFound = Uint8Array.from(found);
  const interpolated = fillShortGaps(faceFound, [{ data: landmarks, width: N_LANDMARKS * 3 }, { data: blendshapes, width: N_BLENDSHAPES }], opts.maxGapFrames ?? 5);
  const detected = found.reduce((a, b) => a + b, 0);
  const nInterp = interpolated.reduce((a, b) => a + b, 0);
  return {
    file: videoPath,
    fps,
    width,
    height,
    nFrames: n,
    times: Float64Array.from(times),
    landmarks,
    blendshapes,
    faceFound,
    interpolated,
    faceCount: Uint8Array.from(counts),
    stats: { frames: n, detected, interpolated: nInterp, missing: n - detected - nInterp, multiFace, decodeS, detectS },
  };
}

/** Frames usable downstream: detected or interpolated. Pure. */
export function usableMask(track: Pick<FaceTrack, 'faceFound' | 'interpolated'>): Uint8Array {
  return track.faceFound.map((f, i) => (f || track.interpolated[i] ? 1 : 0));
}
