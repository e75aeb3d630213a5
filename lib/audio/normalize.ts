/**
 * Deltas and mean/variance normalisation of frame-level features.
 * - `deltas`: regression deltas over ±N frames, edges replicated (Kaldi add-deltas / torchaudio compute_deltas).
 * - per-utterance MVN (CMVN over one clip) and per-speaker MVN (statistics pooled over all clips of a speaker,
 *   the usual choice for emotion recognition, which removes speaker level and timbre but keeps emotion contrasts).
 */
import { type FeatureMatrix, featureMatrix } from './matrix';

/** d_t = sum_{n=1..N} n (c_{t+n} - c_{t-n}) / (2 sum n^2), frames beyond the edges replicated. */
export function deltas(m: FeatureMatrix, window = 2): FeatureMatrix {
  const { frames: T, dims: D, data } = m;
  const out = featureMatrix(T, D);
  let denom = 0;
  for (let n = 1; n <= window; n++) denom += n * n;
  denom *= 2;
  for (let t = 0; t < T; t++) {
    for (let n = 1; n <= window; n++) {
      const ahead = Math.min(T - 1, t + n) * D, behind = Math.max(0, t - n) * D;
      for (let d = 0; d < D; d++) out.data[t * D + d] += (n * (data[ahead + d] - data[behind + d])) / denom;
    }
  }
  return out;
}

/** [c, Δc] (order 1) or [c, Δc, ΔΔc] (order 2), concatenated per frame. */
export function withDeltas(m: FeatureMatrix, order: 1 | 2 = 2, window = 2): FeatureMatrix {
  const parts = [m];
  for (let o = 0; o < order; o++) parts.push(deltas(parts[parts.length - 1], window));
  const D = m.dims * parts.length;
  const out = featureMatrix(m.frames, D);
  for (let t = 0; t < m.frames; t++) {
    parts.forEach((p, i) => out.data.set(p.data.subarray(t * m.dims, (t + 1) * m.dims), t * D + i * m.dims));
  }
  return out;
}

export interface MeanVarStats {
  mean: Float64Array;
  std: Float64Array;
  frames: number;
}

/** Mean and standard deviation per dimension, pooled over all frames of all matrices (same dims). */
export function meanVarStats(mats: FeatureMatrix[]): MeanVarStats {
  if (mats.length === 0) throw new RangeError('meanVarStats needs at least one matrix');
  const D = mats[0].dims;
  const sum = new Float64Array(D), sumSq = new Float64Array(D);
  let frames = 0;
  for (const m of mats) {
    if (m.dims !== D) throw new RangeError(`dims differ: ${m.dims} vs ${D}`);
    for (let t = 0; t < m.frames; t++) {
      for (let d = 0; d < D; d++) { const v = m.data[t * D + d]; sum[d] += v; sumSq[d] += v * v; }
    }
    frames += m.frames;
  }
  const mean = new Float64Array(D), std = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    mean[d] = frames ? sum[d] / frames : 0;
    std[d] = frames ? Math.sqrt(Math.max(0, sumSq[d] / frames - mean[d] * mean[d])) : 1;
  }
  return { mean, std, frames };
}

/** (x - mean) / max(std, eps); `variance: false` only subtracts the mean (CMN). */
export function applyMeanVar(m: FeatureMatrix, s: MeanVarStats, opts: { variance?: boolean; eps?: number } = {}): FeatureMatrix {
  const D = m.dims;
  if (s.mean.length !== D) throw new RangeError(`stats have ${s.mean.length} dims, matrix ${D}`);
  const variance = opts.variance ?? true;
  const eps = opts.eps ?? 1e-8;
  const out = featureMatrix(m.frames, D);
  for (let t = 0; t < m.frames; t++) {
    for (let d = 0; d < D; d++) {
      const v = m.data[t * D + d] - s.mean[d];
      out.data[t * D + d] = variance ? v / Math.max(s.std[d], eps) : v;
    }
  }
  return out;
}

/** Per-utterance mean/variance normalisation. */
export function utteranceMvn(m: FeatureMatrix, opts: { variance?: boolean; eps?: number } = {}): FeatureMatrix {
  return applyMeanVar(m, meanVarStats([m]), opts);
}

/** Statistics per speaker, pooled over that speaker's clips. */
export function speakerStats(items: { speaker: string; features: FeatureMatrix }[]): Map<string, MeanVarStats> {
  const bySpeaker = new Map<string, FeatureMatrix[]>();
  for (const it of items) {
    const list = bySpeaker.get(it.speaker) ?? [];
    list.push(it.features);
    bySpeaker.set(it.speaker, list);
  }
  return new Map([...bySpeaker].map(([spk, mats]) => [spk, meanVarStats(mats)]));
}

/** Per-speaker mean/variance normalisation; returns the normalised matrices in input order. */
export function speakerMvn(items: { speaker: string; features: FeatureMatrix }[], opts: { variance?: boolean; eps?: number } = {}): FeatureMatrix[] {
  const stats = speakerStats(items);
  return items.map((it) => applyMeanVar(it.features, stats.get(it.speaker)!, opts));
}
