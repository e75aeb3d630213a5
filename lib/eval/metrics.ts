/**
 * Classification metrics for speech emotion recognition, computed from a confusion matrix.
 *
 * - Macro precision, recall and F1 are Goncalves & Busso's columns. Macro F1 is the mean of the
 *   per-class F1 scores (scikit-learn's `f1_score(average='macro')`), not the harmonic mean of
 *   macro precision and macro recall.
 * - UA (unweighted accuracy, Li et al.) = macro recall over the classes present in the truth.
 * - WA (weighted accuracy) = plain accuracy, i.e. recall weighted by class support.
 *
 * Which classes enter a macro average: every class that occurs in the truth or in the predictions
 * (scikit-learn's default when `labels` is not given). A class never seen and never predicted
 * carries no information and is left out; a class predicted but absent from the truth counts with
 * precision 0 (all its predictions are wrong) and recall 0 (zero-division -> 0, as scikit-learn).
 * UA averages recall over classes present in the truth only, as the SER literature defines it.
 *
 * Pure functions; no tfjs.
 */
import { EmolabError } from '../errors';

/** Rows = true class, columns = predicted class. */
export type ConfusionMatrix = number[][];

export interface ClassificationMetrics {
  /** Macro precision over active classes. */
  precision: number;
  /** Macro recall over active classes. */
  recall: number;
  /** Macro F1: mean of per-class F1 over active classes. */
  f1: number;
  /** Unweighted accuracy: macro recall over classes present in the truth. */
  ua: number;
  /** Weighted accuracy: fraction correct. */
  wa: number;
  perClassPrecision: number[];
  perClassRecall: number[];
  perClassF1: number[];
  /** Number of true items per class. */
  support: number[];
  /** Total items. */
  n: number;
}

export const METRIC_NAMES = ['precision', 'recall', 'f1', 'ua', 'wa'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Confusion matrix of integer class ids in [0, nClasses). */
export function confusionMatrix(truth: ArrayLike<number>, pred: ArrayLike<number>, nClasses: number): ConfusionMatrix {
  if (truth.length !== pred.length) {
    throw new EmolabError('eval', `truth has ${truth.length} items but predictions have ${pred.length}`);
  }
  if (!Number.isInteger(nClasses) || nClasses < 1) throw new EmolabError('eval', `nClasses must be a positive integer, got ${nClasses}`);
  const cm: number[][] = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = pred[i];
    if (!Number.isInteger(t) || t < 0 || t >= nClasses || !Number.isInteger(p) || p < 0 || p >= nClasses) {
      throw new EmolabError('eval', `item ${i}: class ids must be integers in [0, ${nClasses}), got truth=${t} pred=${p}`);
    }
    cm[t][p]++;
  }
  return cm;
}

const safeDiv = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

/** All metrics from a confusion matrix (rows = truth). */
export function metricsFromConfusion(cm: ConfusionMatrix): ClassificationMetrics {
  const k = cm.length;
  if (k === 0 || cm.some((row) => row.length !== k)) throw new EmolabError('eval', 'confusion matrix must be square and non-empty');
  const support = cm.map((row) => row.reduce((s, x) => s + x, 0));
  const predicted = Array.from({ length: k }, (_, j) => cm.reduce((s, row) => s + row[j], 0));
  const n = support.reduce((s, x) => s + x, 0);
  const tp = cm.map((row, i) => row[i]);
  const perClassPrecision = tp.map((t, i) => safeDiv(t, predicted[i]));
  const perClassRecall = tp.map((t, i) => safeDiv(t, support[i]));
  const perClassF1 = perClassPrecision.map((p, i) => safeDiv(2 * p * perClassRecall[i], p + perClassRecall[i]));
  const active = support.map((s, i) => s > 0 || predicted[i] > 0);
  const pick = (xs: number[], mask: boolean[]): number[] => xs.filter((_, i) => mask[i]);
  const present = support.map((s) => s > 0);
  return {
    precision: mean(pick(perClassPrecision, active)),
    recall: mean(pick(perClassRecall, active)),
    f1: mean(pick(perClassF1, active)),
    ua: mean(pick(perClassRecall, present)),
    wa: safeDiv(tp.reduce((s, x) => s + x, 0), n),
    perClassPrecision,
    perClassRecall,
    perClassF1,
    support,
    n,
  };
}

/** Metrics straight from label vectors. */
export function classificationMetrics(truth: ArrayLike<number>, pred: ArrayLike<number>, nClasses: number): ClassificationMetrics {
  return metricsFromConfusion(confusionMatrix(truth, pred, nClasses));
}

/** Sum of confusion matrices (e.g. pooling folds). */
export function addConfusions(cms: ConfusionMatrix[]): ConfusionMatrix {
  if (cms.length === 0) throw new EmolabError('eval', 'no confusion matrices to add');
  const k = cms[0].length;
  const out = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const cm of cms) {
    if (cm.length !== k) throw new EmolabError('eval', `confusion matrices differ in size (${k} vs ${cm.length})`);
    cm.forEach((row, i) => row.forEach((x, j) => { out[i][j] += x; }));
  }
  return out;
}

/** Rows normalised to sum to 1 (recall per true class); empty rows stay 0. */
export function normalizeRows(cm: ConfusionMatrix): number[][] {
  return cm.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((x) => safeDiv(x, s));
  });
}

/** Index of the largest value per row (ties -> lowest index). */
export function argmaxRows(rows: ArrayLike<number>[]): number[] {
  return rows.map((r) => {
    let best = 0;
    for (let j = 1; j < r.length; j++) if (r[j] > r[best]) best = j;
    return best;
  });
}
