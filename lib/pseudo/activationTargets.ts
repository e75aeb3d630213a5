/**
 * Pretext task 2 (Goncalves & Busso): is the face high or low in activation during a segment of
 * speech? The model hears the speech only; the target comes from the video.
 *
 * Input: the per-frame facial activation of lib/face (landmark motion after removing rigid head
 * motion, normalised by inter-ocular distance) and its face-found flags, both resampled to the
 * audio frame grid (10 ms; `resampleToFrames` in ./segments) so the segments of task 1 apply
 * unchanged. Per segment the statistic is the mean activation over the frames where a face was
 * found (`statistic: 'mean'`, default; 'median' is less sensitive to a tracking glitch). The
 * segment is high (1) when that value is above the speaker's median of the same statistic
 * (`speakerMedian`, from `speakerMedians` in ./energy over the speaker's included segments), else
 * low (0). Faces differ in how much they move, so a per-speaker reference is the default here.
 *
 * Segments where fewer than `minFaceFraction` (default 0.5) of the frames have a face are excluded
 * (label -1) and counted; they carry no target. Pure functions.
 */
import { EmolabError } from '../errors';
import { binarize, median, type BinaryTargets } from './energyTargets';
import type { Segment } from './segments';

export type ActivationStatistic = 'mean' | 'median';

export interface ActivationTargetOptions {
  /** The speaker's median of the segment statistic: the high/low threshold. */
  speakerMedian: number;
  /** Minimum fraction of frames with a face for a segment to count (default 0.5). */
  minFaceFraction?: number;
  /** Segment statistic of the activation over face frames (default 'mean'). */
  statistic?: ActivationStatistic;
}

export const ACTIVATION_DEFAULTS = { minFaceFraction: 0.5, statistic: 'mean' } as const;

export interface ActivationTargets extends BinaryTargets {
  /** Fraction of frames with a face, per segment. */
  faceFraction: Float64Array;
  /** Number of segments excluded for too few face frames. */
  excluded: number;
}

/** Per segment: the activation statistic over face frames (NaN when excluded) and the face fraction. */
export function activationSegmentValues(
  activation: ArrayLike<number>,
  faceFound: ArrayLike<number | boolean>,
  segments: Segment[],
  opts: { minFaceFraction?: number; statistic?: ActivationStatistic } = {},
): { values: Float64Array; faceFraction: Float64Array } {
  if (activation.length !== faceFound.length) {
    throw new EmolabError('pseudo', `activation targets: activation has ${activation.length} frames but faceFound has ${faceFound.length}`);
  }
  const minFrac = opts.minFaceFraction ?? ACTIVATION_DEFAULTS.minFaceFraction;
  if (!(minFrac >= 0 && minFrac <= 1)) throw new EmolabError('pseudo', `activation targets: minFaceFraction must be in [0, 1], got ${minFrac}`);
  const statistic = opts.statistic ?? ACTIVATION_DEFAULTS.statistic;
  const values = new Float64Array(segments.length);
  const faceFraction = new Float64Array(segments.length);
  segments.forEach((seg, k) => {
    if (!(Number.isInteger(seg.start) && Number.isInteger(seg.end) && seg.start >= 0 && seg.end > seg.start && seg.end <= activation.length)) {
      throw new EmolabError('pseudo', `activation targets: segment [${seg.start}, ${seg.end}) is outside the ${activation.length} frames`);
    }
    const xs: number[] = [];
    for (let i = seg.start; i < seg.end; i++) {
      // A frame counts as a face frame only when flagged and its activation is a number.
      if (faceFound[i] && Number.isFinite(activation[i])) xs.push(activation[i]);
    }
    faceFraction[k] = xs.length / (seg.end - seg.start);
    if (xs.length === 0 || faceFraction[k] < minFrac) { values[k] = NaN; return; }
    values[k] = statistic === 'median' ? median(xs) : xs.reduce((a, b) => a + b, 0) / xs.length;
  });
  return { values, faceFraction };
}

/** Task 2 targets for one utterance: 1 high, 0 low, -1 excluded (too few face frames). */
export function activationTargets(
  activation: ArrayLike<number>,
  faceFound: ArrayLike<number | boolean>,
  segments: Segment[],
  opts: ActivationTargetOptions,
): ActivationTargets {
  if (!Number.isFinite(opts.speakerMedian)) {
    throw new EmolabError('pseudo', `activation targets: speakerMedian must be a finite number, got ${opts.speakerMedian}`, {
      hint: 'compute it with speakerMedians() over activationSegmentValues() of the speaker\'s clips',
    });
  }
  const { values, faceFraction } = activationSegmentValues(activation, faceFound, segments, opts);
  const labels = binarize(values, opts.speakerMedian);
  let excluded = 0;
  for (const l of labels) if (l === -1) excluded++;
  return { labels, values, threshold: opts.speakerMedian, statistic: opts.statistic ?? ACTIVATION_DEFAULTS.statistic, reference: 'speaker', faceFraction, excluded };
}
