/**
 * Statistics over runs: mean and standard deviation across seeds and folds, 95% bootstrap
 * confidence intervals, and a paired significance test of a pretrained arm against the baseline.
 *
 * Paired test (documented choice): an approximate randomization test over utterances (Noreen 1989;
 * Yeh 2000 for non-additive metrics such as macro F1). Both arms were evaluated on the same test
 * utterances with the same seeds, so each unit is a (seed, utterance) pair carrying two predictions,
 * one per arm. Under the null hypothesis the arm labels are exchangeable within a unit; we swap them
 * with probability 1/2 independently per unit, recompute the metric difference, and report the
 * two-sided p-value (count of |delta*| >= |delta| + 1) / (permutations + 1). The paired bootstrap
 * (resample units with replacement, recompute the difference) gives the 95% CI of the difference.
 *
 * All resampling is driven by a seeded generator (mulberry32), so reports are reproducible.
 */
import { EmolabError } from '../errors';
import { classificationMetrics, type MetricName } from './metrics';
import { seededRandom } from '../random';

/** Re-exported: the project's one seeded PRNG (lib/random). */
export { seededRandom };


export interface Summary { mean: number; std: number; n: number; min: number; max: number }

/** Mean and sample standard deviation (n - 1; 0 for a single value). */
export function summarize(values: number[]): Summary {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0, min: NaN, max: NaN };
  const m = values.reduce((s, x) => s + x, 0) / n;
  const v = n > 1 ? values.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1) : 0;
  return { mean: m, std: Math.sqrt(v), n, min: Math.min(...values), max: Math.max(...values) };
}

/** Linear-interpolated quantile of sorted values (type 7, as numpy's default). */
export function quantileSorted(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface Interval { estimate: number; low: number; high: number; level: number }

/** Labelled predictions: one entry per evaluated unit (utterance, or (seed, utterance)). */
export interface Predictions { truth: number[]; pred: number[]; nClasses: number }

function checkPredictions(p: Predictions, what: string): void {
  if (p.truth.length !== p.pred.length) throw new EmolabError('eval', `${what}: ${p.truth.length} labels but ${p.pred.length} predictions`);
  if (p.truth.length === 0) throw new EmolabError('eval', `${what}: no predictions`);
}

/** 95% (by default) percentile bootstrap CI of a metric, resampling units with replacement. */
export function bootstrapCI(p: Predictions, metric: MetricName, opts: { iterations?: number; seed?: number; level?: number } = {}): Interval {
  checkPredictions(p, 'bootstrap');
  const iterations = opts.iterations ?? 1000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed ?? 1);
  const n = p.truth.length;
  const t = new Array<number>(n);
  const q = new Array<number>(n);
  const stats: number[] = [];
  for (let b = 0; b < iterations; b++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rand() * n);
      t[i] = p.truth[j];
      q[i] = p.pred[j];
    }
    stats.push(classificationMetrics(t, q, p.nClasses)[metric]);
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { estimate: classificationMetrics(p.truth, p.pred, p.nClasses)[metric], low: quantileSorted(stats, alpha), high: quantileSorted(stats, 1 - alpha), level };
}

export interface PairedTest {
  metric: MetricName;
  /** metric(arm) - metric(baseline) on all units. */
  delta: number;
  /** Relative change in percent: 100 * delta / metric(baseline). */
  relativePct: number;
  /** Two-sided p-value of the approximate randomization test. */
  pValue: number;
  /** Paired-bootstrap CI of delta. */
  ci: Interval;
  permutations: number;
  units: number;
}

/**
 * Paired comparison of an arm against the baseline on the same units (same order, same truth).
 * Approximate randomization for the p-value, paired bootstrap for the CI of the difference.
 */
export function pairedTest(
  arm: Predictions, baseline: Predictions, metric: MetricName,
  opts: { permutations?: number; bootstrap?: number; seed?: number; level?: number } = {},
): PairedTest {
  checkPredictions(arm, 'paired test (arm)');
  checkPredictions(baseline, 'paired test (baseline)');
  const n = arm.truth.length;
  if (baseline.truth.length !== n || arm.nClasses !== baseline.nClasses || arm.truth.some((t, i) => t !== baseline.truth[i])) {
    throw new EmolabError('eval', 'paired test needs both arms evaluated on the same units in the same order (same truth labels)', {
      hint: 'compare runs with the same protocol, folds and seeds',
    });
  }
  const k = arm.nClasses;
  const score = (pred: number[]): number => classificationMetrics(arm.truth, pred, k)[metric];
  const base = score(baseline.pred);
  const delta = score(arm.pred) - base;
  const permutations = opts.permutations ?? 1000;
  const rand = seededRandom(opts.seed ?? 7);
  const a = new Array<number>(n);
  const b = new Array<number>(n);
  let extreme = 0;
  for (let r = 0; r < permutations; r++) {
    for (let i = 0; i < n; i++) {
      const swap = rand() < 0.5;
      a[i] = swap ? baseline.pred[i] : arm.pred[i];
      b[i] = swap ? arm.pred[i] : baseline.pred[i];
    }
    if (Math.abs(score(a) - score(b)) >= Math.abs(delta) - 1e-12) extreme++;
  }
  const iterations = opts.bootstrap ?? 1000;
  const t = new Array<number>(n);
  const diffs: number[] = [];
  for (let r = 0; r < iterations; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rand() * n);
      t[i] = arm.truth[j];
      a[i] = arm.pred[j];
      b[i] = baseline.pred[j];
    }
    diffs.push(classificationMetrics(t, a, k)[metric] - classificationMetrics(t, b, k)[metric]);
  }
  diffs.sort((x, y) => x - y);
  const level = opts.level ?? 0.95;
  const alpha = (1 - level) / 2;
  return {
    metric,
    delta,
    relativePct: base === 0 ? NaN : (100 * delta) / base,
    pValue: (extreme + 1) / (permutations + 1),
    ci: { estimate: delta, low: quantileSorted(diffs, alpha), high: quantileSorted(diffs, 1 - alpha), level },
    permutations,
    units: n,
  };
}
