/**
 * Training examples and length-bucketed batches.
 *
 * An `Example` is one clip's feature matrix (frames x dim, row-major, 10 ms frames) with the targets
 * it has for each head: labelled segments for `segment` heads, a class index (and optionally a
 * soft distribution) for `utterance` heads, per-frame class ids for `frame` heads. A multi-task
 * corpus can give each clip the targets it has; heads without targets in a batch add no loss.
 *
 * Batches: clips are sorted by length (with a seeded jitter so equal lengths mix differently each
 * epoch), cut into batches of `batchSize` clips (or fewer, so no batch exceeds `maxFrames` padded
 * frames), and the batch order is shuffled with a seed derived from (seed, epoch). The plan of an
 * epoch depends only on (examples, seed, epoch), which is what makes resuming exact.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, deriveSeed } from '../random';
import type { SegmentRef } from '../models/heads';
import { EmolabError } from '../errors';

export interface LabelledSegment { start: number; end: number; label: number }

export interface Example {
  id: string;
  speaker: string;
  /** Row-major [frames, dim]. */
  features: Float32Array;
  frames: number;
  dim: number;
  /** segment heads: segments on the input frame grid, label 0/1 (-1 = excluded, skipped). */
  segments?: Record<string, LabelledSegment[]>;
  /** utterance heads: class index (-1 = no label). */
  labels?: Record<string, number>;
  /** frame heads: class id per input frame (-1 = ignore). */
  frameLabels?: Record<string, Int32Array>;
  /** Anything useful for plots (emotion, corpus). */
  meta?: Record<string, string>;
}

export interface Batch {
  examples: Example[];
  /** [B, T, dim], zero beyond each clip's length. */
  x: tf.Tensor3D;
  lengths: number[];
  segments: Record<string, SegmentRef[]>;
  segmentLabels: Record<string, number[]>;
  /** Per utterance head: label per row (-1 = none). */
  labels: Record<string, number[]>;
  /** Per frame head: label per row and input frame, [B][T] (-1 = ignore / padding). */
  frameLabels: Record<string, Int32Array[]>;
}

/** Check an example's shapes; a bad one is an error naming the clip. */
export function validateExample(e: Example): void {
  if (!(Number.isInteger(e.frames) && e.frames > 0 && e.dim > 0 && e.features.length === e.frames * e.dim)) {
    throw new EmolabError('train', `example "${e.id}": features have ${e.features.length} values, expected frames ${e.frames} x dim ${e.dim}`);
  }
  for (const [head, segs] of Object.entries(e.segments ?? {})) {
    for (const s of segs) {
      if (!(s.start >= 0 && s.end > s.start && s.end <= e.frames)) {
        throw new EmolabError('train', `example "${e.id}": ${head} segment [${s.start}, ${s.end}) is outside its ${e.frames} frames`);
      }
    }
  }
}

/** Build the tensors of one batch. The caller disposes `batch.x`. */
export function makeBatch(examples: Example[]): Batch {
  if (examples.length === 0) throw new EmolabError('train', 'cannot make an empty batch');
  const dim = examples[0].dim;
  const maxT = Math.max(...examples.map((e) => e.frames));
  const buf = new Float32Array(examples.length * maxT * dim);
  const segments: Record<string, SegmentRef[]> = {};
  const segmentLabels: Record<string, number[]> = {};
  const labels: Record<string, number[]> = {};
  const frameLabels: Record<string, Int32Array[]> = {};
  const labelHeads = new Set(examples.flatMap((e) => Object.keys(e.labels ?? {})));
  const frameHeads = new Set(examples.flatMap((e) => Object.keys(e.frameLabels ?? {})));
  for (const h of labelHeads) labels[h] = [];
  for (const h of frameHeads) frameLabels[h] = [];
  examples.forEach((e, row) => {
    if (e.dim !== dim) throw new EmolabError('train', `example "${e.id}" has ${e.dim} features per frame, the batch has ${dim}`);
    buf.set(e.features, row * maxT * dim);
    for (const [head, segs] of Object.entries(e.segments ?? {})) {
      for (const s of segs) {
        if (s.label < 0) continue;
        (segments[head] ??= []).push({ row, start: s.start, end: s.end });
        (segmentLabels[head] ??= []).push(s.label);
      }
    }
    for (const h of labelHeads) labels[h].push(e.labels?.[h] ?? -1);
    for (const h of frameHeads) {
      const fl = new Int32Array(maxT).fill(-1);
      const src = e.frameLabels?.[h];
      if (src) fl.set(src.subarray(0, Math.min(src.length, e.frames)));
      frameLabels[h].push(fl);
    }
  });
  return {
    examples, x: tf.tensor3d(buf, [examples.length, maxT, dim]), lengths: examples.map((e) => e.frames),
    segments, segmentLabels, labels, frameLabels,
  };
}

export interface BatchPlanOptions {
  batchSize: number;
  /** Upper bound on padded frames per batch (batch rows x longest clip); default unlimited. */
  maxFrames?: number;
  /** Shuffle (training) or keep the sorted order (evaluation). */
  shuffle: boolean;
  seed: number;
  epoch: number;
}

/**
 * Indices of `examples` grouped into length-bucketed batches. Deterministic in (lengths, options).
 */
export function planBatches(lengths: number[], o: BatchPlanOptions): number[][] {
  const rng = new Rng(deriveSeed(o.seed, o.epoch, 0xba7c));
  const order = lengths.map((len, i) => ({ i, key: len + (o.shuffle ? rng.next() * 0.5 * Math.max(1, len) * 0.1 : 0) }));
  order.sort((a, b) => a.key - b.key || a.i - b.i);
  const batches: number[][] = [];
  let cur: number[] = [];
  let curMax = 0;
  for (const { i } of order) {
    const nextMax = Math.max(curMax, lengths[i]);
    const tooBig = o.maxFrames !== undefined && cur.length > 0 && nextMax * (cur.length + 1) > o.maxFrames;
    if (cur.length >= o.batchSize || tooBig) {
      batches.push(cur);
      cur = [];
      curMax = 0;
    }
    cur.push(i);
    curMax = Math.max(curMax, lengths[i]);
  }
  if (cur.length) batches.push(cur);
  return o.shuffle ? rng.shuffle(batches) : batches;
}

/** Per-utterance mean/variance normalisation of a [frames, dim] matrix (returns a new array). */
export function normalizeUtterance(features: Float32Array, frames: number, dim: number): Float32Array {
  const out = new Float32Array(features.length);
  for (let d = 0; d < dim; d++) {
    let sum = 0, sq = 0;
    for (let t = 0; t < frames; t++) sum += features[t * dim + d];
    const mean = sum / frames;
    for (let t = 0; t < frames; t++) sq += (features[t * dim + d] - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / frames + 1e-5);
    for (let t = 0; t < frames; t++) out[t * dim + d] = (features[t * dim + d] - mean) * inv;
  }
  return out;
}

/**
 * How log-mel features are normalised before the encoder:
 * - `utterance`: each clip by its own mean and std per bin (CMVN over the clip). Removes the clip's
 *   level and spectral tilt — and with them much of the arousal information SER needs.
 * - `training-set`: every clip by the mean and std per bin over all frames of the TRAINING clips
 *   (dev and test clips are normalised with the training statistics, never their own).
 */
export type FeatureNormalization = 'utterance' | 'training-set';

/** Per-bin mean and std over all frames of the given clips (the training set's, for `training-set`). */
export interface FeatureStats { mean: number[]; std: number[]; frames: number }

export function featureStats(items: { features: Float32Array; frames: number }[], dim: number): FeatureStats {
  const sum = new Float64Array(dim), sq = new Float64Array(dim);
  let frames = 0;
  for (const it of items) {
    for (let t = 0; t < it.frames; t++) {
      for (let d = 0; d < dim; d++) { const v = it.features[t * dim + d]; sum[d] += v; sq[d] += v * v; }
    }
    frames += it.frames;
  }
  if (frames === 0) throw new EmolabError('train', 'feature statistics need at least one frame');
  const mean = Array.from(sum, (s) => s / frames);
  const std = Array.from(sq, (q, d) => Math.sqrt(Math.max(0, q / frames - mean[d] * mean[d]) + 1e-5));
  return { mean, std, frames };
}

/** (x - mean) / std per bin with fixed statistics (returns a new array). */
export function normalizeWithStats(features: Float32Array, frames: number, dim: number, stats: FeatureStats): Float32Array {
  if (stats.mean.length !== dim) throw new EmolabError('train', `feature statistics have ${stats.mean.length} bins, features ${dim}`);
  const out = new Float32Array(frames * dim);
  for (let t = 0; t < frames; t++) for (let d = 0; d < dim; d++) out[t * dim + d] = (features[t * dim + d] - stats.mean[d]) / stats.std[d];
  return out;
}

/**
 * A normaliser for `mode`: per clip for `utterance`; for `training-set` the statistics of `train`
 * (returned, to be recorded in run manifests) applied to every clip.
 */
export function featureNormalizer(mode: FeatureNormalization, train: { features: Float32Array; frames: number }[], dim: number): { normalize: (features: Float32Array, frames: number) => Float32Array; stats: FeatureStats | null } {
  if (mode === 'utterance') return { normalize: (f, frames) => normalizeUtterance(f, frames, dim), stats: null };
  if (mode !== 'training-set') throw new EmolabError('train', `unknown feature normalisation "${String(mode)}" (use utterance or training-set)`);
  const stats = featureStats(train, dim);
  return { normalize: (f, frames) => normalizeWithStats(f, frames, dim, stats), stats };
}
