/**
 * Losses and metrics per head kind.
 *
 * - segment heads: binary cross-entropy with logits, softplus(z) - y*z (numerically stable), mean
 *   over the batch's labelled segments.
 * - utterance heads: softmax cross-entropy, mean over rows with a label (-1 rows add nothing; done
 *   with a one-hot product rather than a gather, whose gradient needs UnsortedSegmentSum, which
 *   wasm lacks).
 * - frame heads: softmax cross-entropy over valid encoder frames with a label; the label of encoder
 *   frame j is the input label at frame j*S (S = subsampling; the conv window is centred there).
 *
 * Metrics are counted in JavaScript from the logits (accuracy, class counts for the majority rate),
 * so they can be summed over batches exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { HeadOutput, SpeechModel } from '../models/heads';
import { subsampling } from '../models/encoder';
import type { Batch } from './batches';

/** Frame labels [B][T_in] -> flat encoder-grid labels [B*T'] (padding and ignored frames = -1). */
export function frameTargets(rows: Int32Array[], lengths: number[], encLengths: number[], factor: number, tOut: number): Int32Array {
  const out = new Int32Array(rows.length * tOut).fill(-1);
  rows.forEach((row, b) => {
    for (let j = 0; j < encLengths[b]; j++) out[b * tOut + j] = row[Math.min(j * factor, lengths[b] - 1)];
  });
  return out;
}

/** Targets of one head in a batch, flattened like its logits' leading axes ([] when none). */
export function headTargets(model: SpeechModel, head: string, batch: Batch, encLengths: number[], tOut: number): number[] | Int32Array {
  const spec = model.heads[head].spec;
  if (spec.kind === 'segment') return batch.segmentLabels[head] ?? [];
  if (spec.kind === 'utterance') return batch.labels[head] ?? [];
  const rows = batch.frameLabels[head];
  return rows ? frameTargets(rows, batch.lengths, encLengths, subsampling(model.config.encoder), tOut) : [];
}

/** Mean loss of one head over its labelled targets; undefined when the batch has none. */
export function headLoss(kind: 'segment' | 'utterance' | 'frame', logits: tf.Tensor, targets: ArrayLike<number>): tf.Scalar | undefined {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) n++;
  if (n === 0) return undefined;
  return tf.tidy(() => {
    if (kind === 'segment') {
      const z = logits.reshape([-1]);
      const y = tf.tensor1d(Array.from(targets), 'float32');
      return tf.mean(tf.sub(tf.softplus(z), tf.mul(y, z))) as tf.Scalar;
    }
    const classes = logits.shape[logits.rank - 1];
    const flat = logits.reshape([-1, classes]);
    const onehot = tf.oneHot(tf.tensor1d(Array.from(targets), 'int32'), classes); // -1 -> all zeros
    const nll = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(flat)))) as tf.Scalar;
    return tf.div(nll, n) as tf.Scalar;
  });
}

/** Running counts of one head's predictions. */
export interface HeadCounts { correct: number; n: number; lossSum: number; lossN: number; classCounts: number[]; predCounts: number[]; correctByClass: number[] }

export function emptyCounts(): HeadCounts {
  return { correct: 0, n: 0, lossSum: 0, lossN: 0, classCounts: [], predCounts: [], correctByClass: [] };
}

/** Add one batch's predictions to the counts (logits read back to JS). */
export function countPredictions(c: HeadCounts, kind: 'segment' | 'utterance' | 'frame', logits: tf.Tensor, targets: ArrayLike<number>): void {
  const vals = logits.dataSync();
  const classes = kind === 'segment' ? 1 : logits.shape[logits.rank - 1];
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i];
    if (y < 0) continue;
    let pred: number;
    if (kind === 'segment') pred = vals[i] > 0 ? 1 : 0;
    else {
      pred = 0;
      for (let k = 1; k < classes; k++) if (vals[i * classes + k] > vals[i * classes + pred]) pred = k;
    }
    c.n++;
    if (pred === y) {
      c.correct++;
      c.correctByClass[y] = (c.correctByClass[y] ?? 0) + 1;
    }
    c.classCounts[y] = (c.classCounts[y] ?? 0) + 1;
    c.predCounts[pred] = (c.predCounts[pred] ?? 0) + 1;
  }
}

export interface HeadMetrics {
  accuracy: number;
  /** Unweighted accuracy: mean over the classes present among the targets of their recall. */
  ua: number;
  /** Macro F1 over the classes present among the targets or the predictions. */
  f1: number;
  /** Share of the most frequent class among the targets: the accuracy of always guessing it. */
  majorityRate: number;
  loss: number;
  n: number;
  classCounts: number[];
  predCounts: number[];
}

export function finishCounts(c: HeadCounts): HeadMetrics {
  const counts = Array.from(c.classCounts, (v) => v ?? 0);
  const preds = Array.from(c.predCounts, (v) => v ?? 0);
  const k = Math.max(counts.length, preds.length);
  let recallSum = 0, present = 0, f1Sum = 0, active = 0;
  for (let y = 0; y < k; y++) {
    const tp = c.correctByClass[y] ?? 0, nTrue = counts[y] ?? 0, nPred = preds[y] ?? 0;
    if (nTrue > 0) { recallSum += tp / nTrue; present++; }
    if (nTrue > 0 || nPred > 0) { f1Sum += (2 * tp) / (nTrue + nPred); active++; }
  }
  return {
    accuracy: c.n ? c.correct / c.n : NaN,
    ua: present ? recallSum / present : NaN,
    f1: active ? f1Sum / active : NaN,
    majorityRate: c.n ? Math.max(0, ...counts) / c.n : NaN,
    loss: c.lossN ? c.lossSum / c.lossN : NaN,
    n: c.n,
    classCounts: counts,
    predCounts: Array.from(c.predCounts, (v) => v ?? 0),
  };
}

/** Weighted sum of the heads' losses for a batch (heads without targets skipped). */
export function batchLoss(
  model: SpeechModel, batch: Batch, outputs: Record<string, HeadOutput>, encLengths: number[], tOut: number, weights: Record<string, number> = {},
): { total: tf.Scalar; perHead: Record<string, tf.Scalar> } {
  const perHead: Record<string, tf.Scalar> = {};
  let total: tf.Scalar = tf.scalar(0);
  for (const [name, out] of Object.entries(outputs)) {
    const kind = model.heads[name].spec.kind;
    const loss = headLoss(kind, out.logits, headTargets(model, name, batch, encLengths, tOut));
    if (!loss) continue;
    perHead[name] = loss;
    total = tf.add(total, tf.mul(loss, weights[name] ?? 1)) as tf.Scalar;
  }
  return { total, perHead };
}
