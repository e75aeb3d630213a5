/**
 * Facial activation: how much the face moves, frame by frame, once the head's own motion is taken
 * out. This is the signal behind pretext task 2 (predict high/low facial activation from speech).
 *
 * Steps (all pure, on the landmarks of one clip):
 * 1. Isotropic coordinates: MediaPipe's x is normalised by the frame width and y by the height;
 *    multiply back (x·W, y·H, z·W) so a circle stays a circle.
 * 2. Rigid motion removed: every frame is aligned to a reference shape by a similarity transform
 *    (scale, rotation, translation — ./procrustes) fitted on RIGID_ANCHORS only: landmarks on the
 *    forehead, nose bridge, eye corners and cheekbones that expressions barely move. Fitting on all
 *    478 points would let a big mouth opening tilt the fit and leak expression into "head motion".
 *    The reference is the clip's own mean aligned shape (generalised Procrustes: align all frames to
 *    a first estimate, average, repeat), so no population face model is needed.
 * 3. Scale removed: distances are divided by the reference inter-ocular distance (outer eye corners
 *    33 and 263, the 300-W convention), so activation is the same for a face 100 px or 500 px wide.
 * 4. Motion: per frame, the mean over a region's landmarks of the speed of the aligned landmark, by
 *    central differences (no half-frame lag against the audio), in inter-ocular distances per
 *    second (so the value does not depend on the frame rate).
 *
 * Regions: UPPER_FACE (eyebrows and the infra-orbital cheeks: AU1/2/4 brows, AU6 cheek raise) and
 * LOWER_FACE (lips, chin, jaw). Eyelids are left out of the upper face on purpose: blinks are large,
 * fast and frequent and carry little emotion, and would otherwise dominate the upper-face signal.
 *
 * Which one the pretext task uses: the UPPER face. The lower face moves with articulation — lips
 * and jaw follow the phonemes — so lower-face motion is largely predictable from the speech content
 * itself (a network would learn "is someone talking, how fast") rather than from affect. Upper-face
 * motion (brow raising and lowering, cheek raising) happens while speaking but is not required by
 * it, and is driven by emotion and emphasis: exactly the paralinguistic information a speech
 * emotion model should learn to predict from the voice. Both regions are returned; `activation`
 * is the upper-face one.
 */
import { fitSimilarity, applySimilarity } from './procrustes';
import { N_LANDMARKS } from './landmarker';

/** Landmarks that expressions barely move: forehead, nose bridge, eye corners, cheekbones. */
export const RIGID_ANCHORS: readonly number[] = [
  10, 151, 9, 8, // forehead midline to glabella
  168, 6, 197, 195, 5, 4, // nose bridge and dorsum to the tip
  33, 133, 362, 263, // eye corners (outer, inner; right and left)
  127, 356, 234, 454, // face outline at cheekbone / temple level
];

/** Eyebrows (10 + 10) and the cheeks just below the eyes. */
export const UPPER_FACE: readonly number[] = [
  70, 63, 105, 66, 107, 55, 65, 52, 53, 46, // right eyebrow
  300, 293, 334, 296, 336, 285, 295, 282, 283, 276, // left eyebrow
  117, 118, 119, 100, 346, 347, 348, 329, // infra-orbital cheeks
];

/** Outer and inner lip contours, chin and lower jaw line. */
export const LOWER_FACE: readonly number[] = [
  61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409, // outer lips
  78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415, // inner lips
  152, 148, 176, 149, 150, 377, 400, 378, 379, 199, 175, // chin and jaw
];

/** Outer eye corners: inter-ocular distance. */
export const OUTER_EYE_CORNERS: readonly [number, number] = [33, 263];

export interface ActivationOptions {
  /** Frame size in pixels (to undo MediaPipe's per-axis normalisation). Default 1 x 1. */
  width?: number;
  height?: number;
  /** Frame times in seconds (default: frame index / fps). */
  times?: ArrayLike<number>;
  /** Frames per second when `times` is not given (default 30). */
  fps?: number;
  /** 1 = usable frame; others get NaN. Default: frames whose landmarks are finite. */
  valid?: ArrayLike<number>;
  /** 3 (default): 3-D alignment using MediaPipe's z; 2: in-plane only. */
  dims?: 2 | 3;
  /** A fixed reference shape [478 * 3] in isotropic coordinates; default: the clip's mean shape. */
  reference?: ArrayLike<number>;
  /** Generalised Procrustes iterations for the clip reference (default 3). */
  iterations?: number;
}

export interface FacialActivation {
  /** [frames] upper-face speed (IOD/s) — the pretext-task signal. NaN where not computable. */
  activation: Float32Array;
  upper: Float32Array;
  lower: Float32Array;
  /** [frames * 478 * 3] aligned landmarks in inter-ocular units (reference frame); NaN where invalid. */
  aligned: Float32Array;
  /** [478 * 3] the reference shape, in inter-ocular units. */
  reference: Float32Array;
  /** Reference inter-ocular distance in isotropic input units (pixels when width/height given). */
  interOcular: number;
  /** [frames] rigid-fit residual on the anchors, inter-ocular units (a tracking-quality flag). */
  rigidResidual: Float32Array;
  /** [frames] head scale relative to the reference (>1: closer to the camera). */
  headScale: Float32Array;
}

const W = N_LANDMARKS * 3;

function isotropic(landmarks: ArrayLike<number>, t: number, sx: number, sy: number): Float64Array {
  const out = new Float64Array(W);
  const o = t * W;
  for (let k = 0; k < W; k += 3) {
    out[k] = landmarks[o + k] * sx;
    out[k + 1] = landmarks[o + k + 1] * sy;
    out[k + 2] = landmarks[o + k + 2] * sx;
  }
  return out;
}

function dist(p: ArrayLike<number>, a: number, b: number): number {
  return Math.hypot(p[3 * a] - p[3 * b], p[3 * a + 1] - p[3 * b + 1], p[3 * a + 2] - p[3 * b + 2]);
}

/** Mean speed over `region` between aligned shapes, by central (or one-sided) differences. */
function regionSpeed(aligned: (Float64Array | undefined)[], times: ArrayLike<number>, region: readonly number[]): Float32Array {
  const n = aligned.length;
  const out = new Float32Array(n).fill(NaN);
  for (let t = 0; t < n; t++) {
    if (!aligned[t]) continue;
    const prev = t > 0 && aligned[t - 1] ? t - 1 : t;
    const next = t + 1 < n && aligned[t + 1] ? t + 1 : t;
    if (prev === next) continue;
    const dt = times[next] - times[prev];
    if (!(dt > 0)) continue;
    const a = aligned[prev]!, b = aligned[next]!;
    let s = 0;
    for (const k of region) s += Math.hypot(b[3 * k] - a[3 * k], b[3 * k + 1] - a[3 * k + 1], b[3 * k + 2] - a[3 * k + 2]);
    out[t] = s / region.length / dt;
  }
  return out;
}

/**
 * Facial activation of one clip from its landmarks [frames * 478 * 3] (MediaPipe coordinates).
 * Pure. See the module comment for the method.
 */
export function facialActivation(landmarks: ArrayLike<number>, opts: ActivationOptions = {}): FacialActivation {
  if (landmarks.length % W !== 0) throw new Error(`landmarks length ${landmarks.length} is not a multiple of ${W} (478 x 3)`);
  const n = landmarks.length / W;
  const sx = opts.width ?? 1, sy = opts.height ?? 1;
  const dims = opts.dims ?? 3;
  const fps = opts.fps ?? 30;
  const times = opts.times ?? Float64Array.from({ length: n }, (_, i) => i / fps);
  const shapes: (Float64Array | undefined)[] = [];
  for (let t = 0; t < n; t++) {
    const ok = opts.valid ? Boolean(opts.valid[t]) : true;
    const p = ok ? isotropic(landmarks, t, sx, sy) : undefined;
    shapes.push(p && RIGID_ANCHORS.every((k) => Number.isFinite(p[3 * k]) && Number.isFinite(p[3 * k + 1]) && Number.isFinite(p[3 * k + 2])) && p.every(Number.isFinite) ? p : undefined);
  }
  const validIdx = shapes.flatMap((s, t) => (s ? [t] : []));
  const empty = (): Float32Array => new Float32Array(n).fill(NaN);
  if (validIdx.length === 0) {
    return { activation: empty(), upper: empty(), lower: empty(), aligned: new Float32Array(n * W).fill(NaN), reference: new Float32Array(W).fill(NaN), interOcular: NaN, rigidResidual: empty(), headScale: empty() };
  }
  // Reference shape: given, or the clip's generalised-Procrustes mean.
  let ref: Float64Array;
  if (opts.reference) {
    ref = Float64Array.from(opts.reference);
  } else {
    ref = Float64Array.from(shapes[validIdx[0]]!);
    const tmp = new Float64Array(W);
    for (let it = 0; it < (opts.iterations ?? 3); it++) {
      const mean = new Float64Array(W);
      for (const t of validIdx) {
        applySimilarity(fitSimilarity(shapes[t]!, ref, RIGID_ANCHORS, dims), shapes[t]!, tmp);
        for (let k = 0; k < W; k++) mean[k] += tmp[k];
      }
      for (let k = 0; k < W; k++) mean[k] /= validIdx.length;
      // Keep the first estimate's scale and place (the mean of aligned shapes can shrink slightly).
      applySimilarity(fitSimilarity(mean, ref, RIGID_ANCHORS, dims), mean, mean);
      ref = mean;
    }
  }
  const iod = dist(ref, OUTER_EYE_CORNERS[0], OUTER_EYE_CORNERS[1]);
  const aligned: (Float64Array | undefined)[] = new Array(n).fill(undefined);
  const alignedOut = new Float32Array(n * W).fill(NaN);
  const residual = empty();
  const headScale = empty();
  for (const t of validIdx) {
    const sim = fitSimilarity(shapes[t]!, ref, RIGID_ANCHORS, dims);
    const a = applySimilarity(sim, shapes[t]!);
    for (let k = 0; k < W; k++) a[k] /= iod;
    aligned[t] = a;
    alignedOut.set(a, t * W);
    residual[t] = sim.rmsd / iod;
    headScale[t] = 1 / sim.scale;
  }
  const reference = Float32Array.from(ref, (v) => v / iod);
  const upper = regionSpeed(aligned, times, UPPER_FACE);
  const lower = regionSpeed(aligned, times, LOWER_FACE);
  return { activation: upper, upper, lower, aligned: alignedOut, reference, interOcular: iod, rigidResidual: residual, headScale };
}

/**
 * A per-video-frame series on the audio's frame grid: audio frame t (25 ms window, 10 ms hop, as
 * lib/audio) is centred at t·hop + win/2; the value there is interpolated linearly between the two
 * nearest video frames (NaN when either is NaN or outside the video). Pure.
 */
export function toAudioFrames(times: ArrayLike<number>, values: ArrayLike<number>, nAudioFrames: number, hopS = 0.01, winS = 0.025): Float32Array {
  const out = new Float32Array(nAudioFrames).fill(NaN);
  const n = times.length;
  let j = 0;
  for (let t = 0; t < nAudioFrames; t++) {
    const c = t * hopS + winS / 2;
    while (j + 1 < n && times[j + 1] <= c) j++;
    if (n === 0 || c < times[0] || c > times[n - 1]) continue;
    if (times[j] === c || j + 1 >= n) { out[t] = values[j]; continue; }
    const w = (c - times[j]) / (times[j + 1] - times[j]);
    out[t] = (1 - w) * values[j] + w * values[j + 1];
  }
  return out;
}

/** Pearson correlation over the positions where both are finite (NaN when fewer than 3). Pure. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0, sa = 0, sb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Number.isFinite(a[i]) && Number.isFinite(b[i])) { n++; sa += a[i]; sb += b[i]; }
  if (n < 3) return NaN;
  const ma = sa / n, mb = sb / n;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (!(Number.isFinite(a[i]) && Number.isFinite(b[i]))) continue;
    cov += (a[i] - ma) * (b[i] - mb); va += (a[i] - ma) ** 2; vb += (b[i] - mb) ** 2;
  }
  return cov / Math.sqrt(va * vb);
}
