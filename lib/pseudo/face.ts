/**
 * From lib/face's per-frame face track (MediaPipe blendshapes) to the inputs of tasks 2 and 3.
 *
 * AU evidence for the EMFACS rule (./emfacs): AU intensities from lib/face's blendshape -> AU
 * table (`blendshapesToAus`), as presence flags at lib/face's per-AU thresholds
 * (`evidence: 'presence'`, default; the analogue of OpenFace's AUxx_c) or as intensities on the
 * blendshapes' 0..1 scale (`evidence: 'intensity'`). Frames without a usable face (neither
 * detected nor interpolated across a short gap) are marked so the rule skips them.
 *
 * Contempt needs one-sided AU12/AU14. MediaPipe scores the left and right lip corner separately:
 * - `unilateral` AU12 / AU14 = the stronger side (max of mouthSmileLeft/Right, of
 *   mouthDimpleLeft/Right), thresholded like the bilateral AU;
 * - `asymmetry` = |L - R| / max(L, R) with L = (mouthSmileLeft + mouthDimpleLeft) / 2 and R the
 *   same on the right, 0 when both sides are below `asymmetryFloor` (default 0.1) so that noise
 *   on a still mouth is not called asymmetric.
 */
import { AU_DEFINITIONS, AU_NAMES, auPresence, auThresholds, blendshapesToAus } from '../face/aus';
import { BLENDSHAPE_NAMES, N_BLENDSHAPES } from '../face/landmarker';
import { usableMask, type FaceTrack } from '../face/track';
import { EmolabError } from '../errors';
import type { AuEvidence } from './emfacs';

export interface FaceEvidenceOptions {
  /** 'presence' (default): 0/1 at lib/face's thresholds; 'intensity': blendshape-scale 0..1. */
  evidence?: 'presence' | 'intensity';
  /** Per-AU presence threshold overrides, e.g. { AU12: 0.3 }. */
  thresholds?: Partial<Record<string, number>>;
  /** Lip-corner level below which no asymmetry is measured (default 0.1). */
  asymmetryFloor?: number;
}

const bs = (name: string): number => {
  const i = BLENDSHAPE_NAMES.indexOf(name);
  if (i < 0) throw new EmolabError('pseudo', `blendshape "${name}" not in the model's output list`);
  return i;
};

/** AU number of an AU name ("AU12" -> 12). */
export const auNumber = (name: string): number => Number(name.replace(/^AU/, ''));

/** AU evidence of one face track for the EMFACS rule. */
export function auEvidenceFromTrack(track: Pick<FaceTrack, 'nFrames' | 'blendshapes' | 'faceFound' | 'interpolated'>, opts: FaceEvidenceOptions = {}): AuEvidence {
  const n = track.nFrames;
  if (track.blendshapes.length !== n * N_BLENDSHAPES) throw new EmolabError('pseudo', `face track: ${track.blendshapes.length} blendshape values for ${n} frames`);
  const nAu = AU_NAMES.length;
  const intens = blendshapesToAus(track.blendshapes);
  const thresholds = auThresholds(opts.thresholds ?? {});
  const pres = auPresence(intens, thresholds);
  const mode = opts.evidence ?? 'presence';
  const au = new Map<number, Float32Array>();
  AU_NAMES.forEach((name, a) => {
    const col = new Float32Array(n);
    for (let t = 0; t < n; t++) {
      const x = intens[t * nAu + a];
      col[t] = Number.isFinite(x) ? (mode === 'presence' ? pres[t * nAu + a] : x) : NaN;
    }
    au.set(auNumber(name), col);
  });
  const floor = opts.asymmetryFloor ?? 0.1;
  const [sl, sr, dl, dr] = ['mouthSmileLeft', 'mouthSmileRight', 'mouthDimpleLeft', 'mouthDimpleRight'].map(bs);
  const thr = (name: string): number => thresholds[AU_DEFINITIONS.findIndex((d) => d.au === name)];
  const asymmetry = new Float32Array(n);
  const u12 = new Float32Array(n), u14 = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    const b = t * N_BLENDSHAPES;
    const L = (track.blendshapes[b + sl] + track.blendshapes[b + dl]) / 2;
    const R = (track.blendshapes[b + sr] + track.blendshapes[b + dr]) / 2;
    const m = Math.max(L, R);
    asymmetry[t] = Number.isFinite(m) && m >= floor ? Math.abs(L - R) / m : 0;
    const s12 = Math.max(track.blendshapes[b + sl], track.blendshapes[b + sr]);
    const s14 = Math.max(track.blendshapes[b + dl], track.blendshapes[b + dr]);
    u12[t] = !Number.isFinite(s12) ? NaN : mode === 'presence' ? (s12 >= thr('AU12') ? 1 : 0) : s12;
    u14[t] = !Number.isFinite(s14) ? NaN : mode === 'presence' ? (s14 >= thr('AU14') ? 1 : 0) : s14;
  }
  return { frames: n, au, asymmetry, unilateral: new Map([[12, u12], [14, u14]]), faceFound: usableMask(track) };
}
