/**
 * Pretext task 1 (Goncalves & Busso, Interspeech 2022): is a segment of speech high or low in
 * energy variation? The target is computed from the audio alone, so any speech can be labelled.
 *
 * For each segment (./segments) a statistic of the per-frame energy in dB (10 ms hop, from
 * lib/audio's frameEnergyDb) is computed — by default its standard deviation within the segment,
 * the "energy variation" — and compared with a reference that removes speaker and recording level:
 * - `reference: 'utterance'` (default): the median of the same statistic over the utterance's own
 *   segments, so every utterance contributes about half high and half low segments;
 * - `reference: 'speaker'`: the median over all segments of all utterances of that speaker (pass it
 *   as `speakerMedian`, computed with `speakerMedians`), so an animated speaker's calm sentence
 *   comes out mostly low.
 * A segment is high (1) when its statistic is above the reference, low (0) when below, and
 * excluded (-1) when equal to it — with the utterance reference that is the middle segment of an
 * utterance with an odd number of segments (and the only segment of a one-segment utterance), so
 * the two classes are exactly balanced within every utterance.
 *
 * Statistics (`statistic`, default 'std'):
 * - 'std'   standard deviation of the frame energies (dB) in the segment — energy variation;
 * - 'range' max - min of the frame energies (dB) — variation, more sensitive to single peaks;
 * - 'mean'  mean frame energy (dB) — energy level rather than variation (offered for comparison).
 * Because energies are in dB, 'std' and 'range' do not change when the recording gain changes,
 * and 'mean' moves with the gain by a constant that the median reference cancels.
 * Frames below `floorDb` (default -80 dB) are raised to it so digital silence (-Infinity) does not
 * dominate a segment. Pure functions.
 */
import { EmolabError } from '../errors';
import type { Segment } from './segments';

export type EnergyStatistic = 'std' | 'range' | 'mean';
export type Reference = 'utterance' | 'speaker';

export interface EnergyTargetOptions {
  /** Segment statistic of the frame energies in dB (default 'std'). */
  statistic?: EnergyStatistic;
  /** Median of which set of segments is the threshold (default 'utterance'). */
  reference?: Reference;
  /** Required when reference = 'speaker': the speaker's median of the same statistic. */
  speakerMedian?: number;
  /** Lowest energy used, dB (default -80). */
  floorDb?: number;
}

export const ENERGY_DEFAULTS = { statistic: 'std', reference: 'utterance', floorDb: -80 } as const;

/** Labels for the segments of one utterance, with what they were computed from. */
export interface BinaryTargets {
  /** 1 = high, 0 = low, -1 = excluded (task 2 only). */
  labels: Int8Array;
  /** The statistic per segment (NaN where excluded). */
  values: Float64Array;
  /** The reference the values were compared with. */
  threshold: number;
  /** Name of the statistic and reference, for the record. */
  statistic: string;
  reference: Reference;
}

/** Median of the finite values (NaN if none). Pure. */
export function median(values: ArrayLike<number>): number {
  const xs: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) xs.push(values[i]);
  if (xs.length === 0) return NaN;
  xs.sort((a, b) => a - b);
  const m = xs.length >> 1;
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

function checkSegments(segments: Segment[], n: number, what: string): void {
  for (const s of segments) {
    if (!(Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end > s.start && s.end <= n)) {
      throw new EmolabError('pseudo', `${what}: segment [${s.start}, ${s.end}) is outside the ${n} frames of the curve`);
    }
  }
}

/** The statistic of each segment of an energy curve (dB per frame). */
export function energySegmentValues(energyDb: ArrayLike<number>, segments: Segment[], statistic: EnergyStatistic = 'std', floorDb = -80): Float64Array {
  checkSegments(segments, energyDb.length, 'energy targets');
  const out = new Float64Array(segments.length);
  segments.forEach((seg, k) => {
    let sum = 0, sum2 = 0, lo = Infinity, hi = -Infinity;
    const n = seg.end - seg.start;
    for (let i = seg.start; i < seg.end; i++) {
      let e = energyDb[i];
      if (Number.isNaN(e)) throw new EmolabError('pseudo', `energy targets: energy is NaN at frame ${i}`);
      if (e < floorDb) e = floorDb;
      sum += e; sum2 += e * e;
      if (e < lo) lo = e;
      if (e > hi) hi = e;
    }
    const mean = sum / n;
    if (statistic === 'mean') out[k] = mean;
    else if (statistic === 'range') out[k] = hi - lo;
    else if (statistic === 'std') out[k] = Math.sqrt(Math.max(0, sum2 / n - mean * mean));
    else throw new EmolabError('pseudo', `energy targets: unknown statistic "${statistic as string}" (use std, range or mean)`);
  });
  return out;
}

/**
 * High (1) where value > threshold, low (0) where value < threshold; excluded (-1) where the value
 * is NaN or equals the threshold (the middle segment of an utterance with an odd number of
 * segments is its own median: it is neither above nor below, and a one-segment utterance has no
 * contrast at all under the utterance reference).
 */
export function binarize(values: ArrayLike<number>, threshold: number): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = Number.isNaN(v) || v === threshold ? -1 : v > threshold ? 1 : 0;
  }
  return out;
}

/** Task 1 targets for one utterance. */
export function energyTargets(energyDb: ArrayLike<number>, segments: Segment[], opts: EnergyTargetOptions = {}): BinaryTargets {
  const statistic = opts.statistic ?? ENERGY_DEFAULTS.statistic;
  const reference = opts.reference ?? ENERGY_DEFAULTS.reference;
  const values = energySegmentValues(energyDb, segments, statistic, opts.floorDb ?? ENERGY_DEFAULTS.floorDb);
  let threshold: number;
  if (reference === 'utterance') threshold = median(values);
  else if (reference === 'speaker') {
    if (opts.speakerMedian === undefined || !Number.isFinite(opts.speakerMedian)) {
      throw new EmolabError('pseudo', 'energy targets: reference "speaker" needs a finite speakerMedian', { hint: 'compute it with speakerMedians() over the speaker\'s segment values' });
    }
    threshold = opts.speakerMedian;
  } else throw new EmolabError('pseudo', `energy targets: unknown reference "${reference as string}" (use utterance or speaker)`);
  return { labels: binarize(values, threshold), values, threshold, statistic, reference };
}

/** Per-speaker median of segment values pooled over that speaker's utterances (NaN ignored). */
export function speakerMedians(items: { speaker: string; values: ArrayLike<number> }[]): Map<string, number> {
  const pooled = new Map<string, number[]>();
  for (const it of items) {
    const list = pooled.get(it.speaker) ?? [];
    for (let i = 0; i < it.values.length; i++) list.push(it.values[i]);
    pooled.set(it.speaker, list);
  }
  return new Map([...pooled].map(([s, v]) => [s, median(v)]));
}

/** Counts of high, low and excluded labels. */
export function binaryBalance(labels: ArrayLike<number>): { high: number; low: number; excluded: number } {
  let high = 0, low = 0, excluded = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) high++;
    else if (labels[i] === 0) low++;
    else excluded++;
  }
  return { high, low, excluded };
}
