/**
 * The face features of a clip, end to end: track the face (./track), map blendshapes to action
 * units (./aus), compute facial activation (./activation). Written either as one safetensors file
 * per video (`writeFaceFeatures`, the `emolab features face` command) or into the shared feature
 * store for a whole corpus (`faceFeatureSet`, lib/store).
 *
 * Tensors (T = frames at the chosen rate, default 30 fps):
 *   landmarks [T, 478, 3] float32  MediaPipe normalised x, y, z (NaN where no face)
 *   blendshapes [T, 52] float32    scores in BLENDSHAPE_NAMES order
 *   aus [T, nAUs] float32          AU intensities 0..1 in AU_NAMES order
 *   au_present [T, nAUs] uint8     intensity >= the AU's threshold
 *   activation [T] float32         upper-face activation, inter-ocular distances per second (pretext task 2)
 *   activation_lower [T] float32   lower-face activation, same units
 *   face_found [T] uint8           1 where the landmarker found a face
 *   interpolated [T] uint8         1 where values were interpolated across a short gap
 *   times [T] float64              seconds from the first audio sample
 * In the feature store every tensor is float32 [T, dims] (landmarks [T, 1434]) as lib/store requires.
 */
import { join } from 'node:path';
import type { Clip } from '../data/types';
import { EmolabError } from '../errors';
import { repoRoot } from '../paths';
import type { TensorInput } from '../store/safetensors';
import { writeSafetensors } from '../store/safetensors';
import type { FeatureSet, FrameMatrix } from '../store/featureStore';
import { facialActivation, type FacialActivation } from './activation';
import { AU_NAMES, auPresence, auThresholds, blendshapesToAus } from './aus';
import { BLENDSHAPE_NAMES, createFaceLandmarker, N_BLENDSHAPES, N_LANDMARKS, tasksVisionVersion, type FaceLandmarkerSession } from './landmarker';
import { MODEL_SPECS } from '../fetch/models';
import { trackFaces, usableMask, type FaceTrack, type TrackOptions } from './track';

export interface FaceFeatureOptions extends TrackOptions {
  /** Per-AU presence threshold overrides, e.g. { AU12: 0.3 }. */
  auThresholds?: Partial<Record<string, number>>;
}

export interface FaceFeatures {
  track: FaceTrack;
  /** [T * nAUs] intensities and presence, AU_NAMES order. */
  aus: Float32Array;
  auPresent: Uint8Array;
  activation: FacialActivation;
  thresholds: number[];
}

/** AUs and activation of an existing track. Pure. */
export function faceFeaturesFromTrack(track: FaceTrack, opts: Pick<FaceFeatureOptions, 'auThresholds'> = {}): FaceFeatures {
  const aus = blendshapesToAus(track.blendshapes);
  const thresholds = auThresholds(opts.auThresholds ?? {});
  const activation = facialActivation(track.landmarks, {
    width: track.width, height: track.height, times: track.times, valid: usableMask(track),
  });
  return { track, aus, auPresent: auPresence(aus, thresholds), activation, thresholds };
}

/** Track one video and compute all face features. */
export async function extractFaceFeatures(videoPath: string, opts: FaceFeatureOptions = {}): Promise<FaceFeatures> {
  return faceFeaturesFromTrack(await trackFaces(videoPath, opts), opts);
}

/** The tensors of the per-video file (see the module comment). Pure. */
export function faceFeatureTensors(f: FaceFeatures): Record<string, TensorInput> {
  const T = f.track.nFrames;
  const nAu = AU_NAMES.length;
  return {
    landmarks: { data: f.track.landmarks, shape: [T, N_LANDMARKS, 3] },
    blendshapes: { data: f.track.blendshapes, shape: [T, N_BLENDSHAPES] },
    aus: { data: f.aus, shape: [T, nAu] },
    au_present: { data: f.auPresent, shape: [T, nAu] },
    activation: { data: f.activation.activation, shape: [T] },
    activation_lower: { data: f.activation.lower, shape: [T] },
    face_found: { data: f.track.faceFound, shape: [T] },
    interpolated: { data: f.track.interpolated, shape: [T] },
    times: { data: f.track.times, shape: [T] },
  };
}

/** Provenance stored in the file's metadata (all strings, as safetensors requires). */
export function faceFeatureMetadata(f: FaceFeatures): Record<string, string> {
  return {
    format: 'emolab-face-features/1',
    source: f.track.file,
    fps: String(f.track.fps),
    frame_width: String(f.track.width),
    frame_height: String(f.track.height),
    blendshape_names: JSON.stringify(BLENDSHAPE_NAMES),
    au_names: JSON.stringify(AU_NAMES),
    au_thresholds: JSON.stringify(f.thresholds),
    activation: 'upper-face landmark speed after similarity alignment, inter-ocular distances per second (lib/face/activation.ts)',
    inter_ocular_px: String(f.activation.interOcular),
    stats: JSON.stringify(f.track.stats),
    model: `${MODEL_SPECS['face-landmarker'].file} sha256 ${MODEL_SPECS['face-landmarker'].sha256}`,
    tasks_vision: tasksVisionVersion(),
  };
}

/** Write the per-video file atomically. */
export function writeFaceFeatures(file: string, f: FaceFeatures): void {
  writeSafetensors(file, faceFeatureTensors(f), faceFeatureMetadata(f));
}

const col = (data: ArrayLike<number>, frames: number, dims = 1): FrameMatrix => ({ data: Float32Array.from(data), frames, dims });

/** The store's float32 [T, dims] matrices of one clip's face features. Pure. */
export function faceFeatureMatrices(f: FaceFeatures): Record<string, FrameMatrix> {
  const T = f.track.nFrames;
  return {
    landmarks: { data: f.track.landmarks, frames: T, dims: N_LANDMARKS * 3 },
    blendshapes: { data: f.track.blendshapes, frames: T, dims: N_BLENDSHAPES },
    aus: { data: f.aus, frames: T, dims: AU_NAMES.length },
    activation: col(f.activation.activation, T),
    activation_lower: col(f.activation.lower, T),
    face_found: col(f.track.faceFound, T),
    interpolated: col(f.track.interpolated, T),
    times: col(f.track.times, T),
  };
}

let threadSession: Promise<FaceLandmarkerSession> | undefined;

/**
 * Feature-set factory for lib/store (also called by worker threads through `ref`). One landmarker
 * session per thread, reset between clips. A clip without a video, or where no face is found in
 * any frame, is refused (quarantined by the store with the reason).
 */
export function faceFeatureSet(opts: Omit<FaceFeatureOptions, 'session' | 'progress'> = {}): FeatureSet {
  const params = { fps: opts.fps ?? 30, maxSide: opts.maxSide ?? 640, maxGapFrames: opts.maxGapFrames ?? 5, numFaces: opts.numFaces ?? 2, auThresholds: auThresholds(opts.auThresholds ?? {}), model: MODEL_SPECS['face-landmarker'].sha256 };
  return {
    name: 'face',
    version: '1',
    params,
    features: {
      landmarks: { dims: N_LANDMARKS * 3, description: 'MediaPipe Face Landmarker 478 x (x, y, z), normalised image coordinates, NaN where no face' },
      blendshapes: { dims: N_BLENDSHAPES, description: `52 blendshape scores: ${BLENDSHAPE_NAMES.join(',')}` },
      aus: { dims: AU_NAMES.length, description: `FACS AU intensities 0..1 from blendshapes: ${AU_NAMES.join(',')}` },
      activation: { dims: 1, description: 'upper-face activation (pretext task 2): landmark speed after similarity alignment, inter-ocular distances / s' },
      activation_lower: { dims: 1, description: 'lower-face activation (lips, chin, jaw), same units' },
      face_found: { dims: 1, description: '1 where the landmarker found a face' },
      interpolated: { dims: 1, description: '1 where values were interpolated across a short gap' },
      times: { dims: 1, description: 'frame time in seconds from the first audio sample' },
    },
    async extract(clip: Clip) {
      if (!clip.videoPath) throw new EmolabError('face', `clip ${clip.id} has no video file`, { file: clip.audioPath });
      threadSession ??= createFaceLandmarker(opts);
      const f = await extractFaceFeatures(clip.videoPath, { ...opts, session: await threadSession });
      if (f.track.stats.detected === 0) throw new EmolabError('face', `no face found in any of the ${f.track.nFrames} frames`, { file: clip.videoPath });
      return faceFeatureMatrices(f);
    },
    ref: { module: join(repoRoot, 'lib', 'face', 'features.ts'), exportName: 'faceFeatureSet', options: opts },
  };
}
