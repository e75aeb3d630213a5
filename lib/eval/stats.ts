/**
 * Statistics over runs: mean and standard deviation, cluster-bootstrap confidence intervals, and a
 * paired randomization test of an arm against the baseline whose exchangeable unit is a CLUSTER of
 * utterances — in SER, the test speaker.
 *
 * Why clusters (documented choice). Utterances of one speaker are not independent: a model that
 * fails on a speaker fails on most of that speaker's clips, and on EmoDB's leave-two-speakers-out
 * folds only 10 speakers are ever tested. Treating (seed, utterance) pairs as independent units
 * made two copies of the same model, trained with different seeds, "significant" (p = 0.033), and
 * gave bootstrap CIs that excluded zero while the randomization p was 0.17-0.24 (the two resampled
 * different units). Here both the p-value and the CI resample the same unit:
 *
 * - Callers first ensemble seeds (lib/eval/ensemble: mean class probabilities over seeds, argmax),
 *   so every utterance carries one prediction per arm; seeds are not a sampling unit of the test
 *   population, they are averaged out.
 * - p-value: paired approximate randomization (Noreen 1989, "Computer-Intensive Methods for
 *   Testing Hypotheses"; Yeh 2000 for non-additive metrics such as macro F1) with the cluster as
 *   the exchangeable unit: under H0 the arm labels are exchangeable within a speaker, so the two
 *   arms' predictions are swapped for ALL utterances of a speaker together. The statistic is the
 *   pooled metric difference (metric over all utterances of arm minus baseline). With S clusters
 *   and 2^S <= `exactLimit` (default 4096: up to 12 speakers) all 2^S assignments are enumerated
 *   and p = #{|delta*| >= |delta|} / 2^S exactly (the identity is one of them); otherwise
 *   `permutations` random assignments and p = (#extreme + 1) / (permutations + 1).
 * - CI of the difference: paired cluster bootstrap (Field & Welsh 2007, "Bootstrapping clustered
 *   data", JRSS-B 69(3); Davison & Hinkley 1997, sec. 3.8): draw S speakers with replacement, pool
 *   their utterances, recompute metric(arm) - metric(baseline); percentile interval. Each arm's own
 *   CI is the same cluster bootstrap of its pooled metric. With few clusters the plain percentile
 *   interval is too narrow (the bootstrap variance is (S-1)/S of the true one and its tails are
 *   normal-thin), which made CIs exclude 0 while p > 0.05; we therefore use Hesterberg's expanded
 *   percentile interval (Hesterberg 2015, "What teachers should know about the bootstrap", Am.
 *   Stat. 69(4)): the percentiles alpha'/2, 1 - alpha'/2 with
 *   z_{alpha'/2} = sqrt(S/(S-1)) t_{alpha/2, S-1} (10 speakers, 95%: the 0.86th and 99.14th
 *   percentiles; with 2 clusters or fewer, the whole bootstrap range). Percentile intervals of a biased
 *   statistic (macro F1 on few clusters) can miss the estimate; they are then widened to reach it,
 *   so a reported interval always contains its estimate. 0 iterations: NaN bounds.
 * - Smallest detectable difference: the 95th percentile of |delta*| over the randomization null,
 *   i.e. about the |delta| an arm would have needed on these speakers for p < 0.05.
 *
 * With fewer speakers there is less to resample: one speaker gives a point CI and p = 1, which is
 * the honest answer. Units without a cluster label are their own cluster (the i.i.d. case, i.e.
 * the classical utterance-level tests; `bootstrapCI` and `pairedTest` without `clusters`).
 *
 * All resampling is driven by a seeded generator (mulberry32), so reports are reproducible.
 */
import { EmolabError } from '../errors';
import { metricsFromConfusion, METRIC_NAMES, type MetricName } from './metrics';
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

/**
 * Labelled predictions: one entry per utterance. `clusters[i]` names the cluster (test speaker)
 * of utterance i; without it every utterance is its own cluster.
 */
export interface Predictions { truth: number[]; pred: number[]; nClasses: number; clusters?: ReadonlyArray<string | number> }

function checkPredictions(p: Predictions, what: string): void {
  if (p.truth.length !== p.pred.length) throw new EmolabError('eval', `${what}: ${p.truth.length} labels but ${p.pred.length} predictions`);
  if (p.truth.length === 0) throw new EmolabError('eval', `${what}: no predictions`);
  if (p.clusters && p.clusters.length !== p.truth.length) throw new EmolabError('eval', `${what}: ${p.clusters.length} cluster labels for ${p.truth.length} predictions`);
}

/** Sparse confusion counts of one cluster: flat cell index t*k+p and its count. */
interface Cells { cell: number[]; count: number[] }

function cellsOf(truth: number[], pred: number[], idx: number[], k: number): Cells {
  const m = new Map<number, number>();
  for (const i of idx) {
    const t = truth[i]; const p = pred[i];
    if (!Number.isInteger(t) || t < 0 || t >= k || !Number.isInteger(p) || p < 0 || p >= k) {
      throw new EmolabError('eval', `item ${i}: class ids must be integers in [0, ${k}), got truth=${t} pred=${p}`);
    }
    m.set(t * k + p, (m.get(t * k + p) ?? 0) + 1);
  }
  const cell = [...m.keys()];
  return { cell, count: cell.map((c) => m.get(c)!) };
}

/** Utterance indices grouped by cluster, clusters in first-seen order. */
export function clusterMembers(n: number, clusters?: ReadonlyArray<string | number>): { names: string[]; members: number[][] } {
  if (!clusters) return { names: Array.from({ length: n }, (_, i) => String(i)), members: Array.from({ length: n }, (_, i) => [i]) };
  const byName = new Map<string, number[]>();
  clusters.forEach((c, i) => {
    const key = String(c);
    const xs = byName.get(key);
    if (xs) xs.push(i); else byName.set(key, [i]);
  });
  return { names: [...byName.keys()], members: [...byName.values()] };
}

/** Metrics of a flat k*k confusion matrix. */
function metricsOfFlat(flat: Float64Array, k: number, metrics: readonly MetricName[]): number[] {
  const cm: number[][] = [];
  for (let i = 0; i < k; i++) cm.push(Array.from(flat.subarray(i * k, (i + 1) * k)));
  const all = metricsFromConfusion(cm);
  return metrics.map((m) => all[m]);
}

function addCells(flat: Float64Array, c: Cells, times = 1): void {
  for (let j = 0; j < c.cell.length; j++) flat[c.cell[j]] += times * c.count[j];
}

export interface BootstrapOptions {
  iterations?: number;
  seed?: number;
  level?: number;
  /** Hesterberg's small-sample expansion of the percentile interval (default true). */
  expand?: boolean;
}

/** Standard normal CDF (erfc, Numerical Recipes' Chebyshev fit, |error| < 1.2e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) { const q = Math.sqrt(-2 * Math.log(p)); return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1); }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5; const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Student-t quantile, Cornish-Fisher expansion in 1/nu (Abramowitz & Stegun 26.7.5; < 1e-3 off for nu >= 3). */
export function tQuantile(p: number, nu: number): number {
  const z = normalQuantile(p);
  const z3 = z ** 3; const z5 = z ** 5; const z7 = z ** 7; const z9 = z ** 9;
  return z + (z3 + z) / (4 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96 * nu ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * nu ** 3)
    + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * nu ** 4);
}

/**
 * Tail probability of Hesterberg's expanded percentile interval for `clusters` resampled units:
 * Phi(-sqrt(S/(S-1)) t_{1-alpha/2, S-1}); (1 - level)/2 for large S, 0 (whole range) for S <= 2.
 */
export function expandedTail(clusters: number, level = 0.95): number {
  const alpha = (1 - level) / 2;
  if (clusters <= 2) return 0;
  return normalCdf(-Math.sqrt(clusters / (clusters - 1)) * tQuantile(1 - alpha, clusters - 1));
}

/**
 * Percentile cluster bootstrap (Field & Welsh 2007) of each metric on pooled predictions: draw
 * as many clusters as there are, with replacement, pool their utterances, recompute the metric.
 * Without `clusters`, the ordinary (utterance) bootstrap.
 */
export function clusterBootstrapCIs(p: Predictions, metrics: readonly MetricName[] = METRIC_NAMES, opts: BootstrapOptions = {}): Record<MetricName, Interval> {
  checkPredictions(p, 'bootstrap');
  const k = p.nClasses;
  const iterations = opts.iterations ?? 1000;
  const level = opts.level ?? 0.95;
  const rand = seededRandom(opts.seed ?? 1);
  const { members } = clusterMembers(p.truth.length, p.clusters);
  const cells = members.map((idx) => cellsOf(p.truth, p.pred, idx, k));
  const S = cells.length;
  const full = new Float64Array(k * k);
  cells.forEach((c) => addCells(full, c));
  const estimate = metricsOfFlat(full, k, metrics);
  const stats: number[][] = metrics.map(() => []);
  const flat = new Float64Array(k * k);
  const times = new Int32Array(S);
  for (let b = 0; b < iterations; b++) {
    flat.fill(0); times.fill(0);
    for (let s = 0; s < S; s++) times[Math.floor(rand() * S)]++;
    for (let s = 0; s < S; s++) if (times[s] > 0) addCells(flat, cells[s], times[s]);
    metricsOfFlat(flat, k, metrics).forEach((v, j) => stats[j].push(v));
  }
  const alpha = opts.expand === false ? (1 - level) / 2 : expandedTail(S, level);
  const out: Partial<Record<MetricName, Interval>> = {};
  metrics.forEach((m, j) => {
    const s = stats[j].sort((a, b) => a - b);
    out[m] = { estimate: estimate[j], low: Math.min(quantileSorted(s, alpha), estimate[j]), high: Math.max(quantileSorted(s, 1 - alpha), estimate[j]), level };
  });
  return out as Record<MetricName, Interval>;
}

/** 95% (by default) percentile bootstrap CI of one metric; cluster bootstrap when `p.clusters` is given. */
export function bootstrapCI(p: Predictions, metric: MetricName, opts: BootstrapOptions = {}): Interval {
  return clusterBootstrapCIs(p, [metric], opts)[metric];
}

export interface PairedTest {
  metric: MetricName;
  /** metric(arm) - metric(baseline) on all paired utterances (pooled). */
  delta: number;
  /** Relative change in percent: 100 * delta / metric(baseline). */
  relativePct: number;
  /** Pooled metric of the arm and of the baseline on the paired utterances. */
  armValue: number;
  baselineValue: number;
  /** Two-sided p-value of the cluster randomization test. */
  pValue: number;
  /** Paired cluster-bootstrap CI of delta. */
  ci: Interval;
  /** Assignments evaluated: 2^units when exact, else the number of random ones. */
  permutations: number;
  /** True when all 2^units sign assignments were enumerated (p is exact). */
  exact: boolean;
  /** Number of exchangeable units (clusters: speakers, or utterances when no clusters were given). */
  units: number;
  /** Number of paired utterances. */
  utterances: number;
  /**
   * Smallest detectable difference: 95th percentile of |delta*| under the randomization null, i.e.
   * about the |delta| needed here for p < 0.05.
   */
  detectable: number;
}

export interface PairedTestOptions {
  /** Random assignments when 2^units > exactLimit (default 5000). */
  permutations?: number;
  /** Bootstrap draws for the CI of delta (default 1000). */
  bootstrap?: number;
  seed?: number;
  level?: number;
  /** Enumerate all 2^units assignments when 2^units <= exactLimit (default 4096). */
  exactLimit?: number;
  /** Hesterberg's small-sample expansion of the bootstrap CI of delta (default true). */
  expand?: boolean;
}

function checkPaired(arm: Predictions, baseline: Predictions): void {
  checkPredictions(arm, 'paired test (arm)');
  checkPredictions(baseline, 'paired test (baseline)');
  const n = arm.truth.length;
  if (baseline.truth.length !== n || arm.nClasses !== baseline.nClasses || arm.truth.some((t, i) => t !== baseline.truth[i])) {
    throw new EmolabError('eval', 'paired test needs both arms evaluated on the same units in the same order (same truth labels)', {
      hint: 'compare runs with the same protocol, folds and seeds',
    });
  }
  const ca = arm.clusters; const cb = baseline.clusters;
  if (ca && cb && ca.some((c, i) => String(c) !== String(cb[i]))) {
    throw new EmolabError('eval', 'paired test: the two arms give the same utterance different clusters (speakers)');
  }
}

/**
 * Paired comparison of an arm against the baseline on the same utterances (same order, same
 * truth), for several metrics at once (the same resamples for all). Cluster = `arm.clusters`
 * (or `baseline.clusters`); none: every utterance is a unit. See the file comment for the method.
 */
export function clusterPairedTests(
  arm: Predictions, baseline: Predictions, metrics: readonly MetricName[] = METRIC_NAMES, opts: PairedTestOptions = {},
): Record<MetricName, PairedTest> {
  checkPaired(arm, baseline);
  const k = arm.nClasses;
  const n = arm.truth.length;
  const { members } = clusterMembers(n, arm.clusters ?? baseline.clusters);
  const A = members.map((idx) => cellsOf(arm.truth, arm.pred, idx, k));
  const B = members.map((idx) => cellsOf(arm.truth, baseline.pred, idx, k));
  const S = members.length;
  const fa = new Float64Array(k * k);
  const fb = new Float64Array(k * k);
  const diffOf = (): number[] => {
    const x = metricsOfFlat(fa, k, metrics); const y = metricsOfFlat(fb, k, metrics);
    return x.map((v, j) => v - y[j]);
  };
  fa.fill(0); fb.fill(0);
  for (let s = 0; s < S; s++) { addCells(fa, A[s]); addCells(fb, B[s]); }
  const armValue = metricsOfFlat(fa, k, metrics);
  const baseValue = metricsOfFlat(fb, k, metrics);
  const delta = armValue.map((v, j) => v - baseValue[j]);
  const rand = seededRandom(opts.seed ?? 7);
  const exactLimit = opts.exactLimit ?? 4096;
  const exact = S <= 30 && 2 ** S <= exactLimit;
  const R = exact ? 2 ** S : (opts.permutations ?? 5000);
  const nulls: number[][] = metrics.map(() => []);
  const extreme = metrics.map(() => 0);
  for (let r = 0; r < R; r++) {
    fa.fill(0); fb.fill(0);
    for (let s = 0; s < S; s++) {
      const swap = exact ? ((r >>> s) & 1) === 1 : rand() < 0.5;
      addCells(fa, swap ? B[s] : A[s]);
      addCells(fb, swap ? A[s] : B[s]);
    }
    diffOf().forEach((d, j) => {
      const ad = Math.abs(d);
      nulls[j].push(ad);
      if (ad >= Math.abs(delta[j]) - 1e-12) extreme[j]++;
    });
  }
  const iterations = opts.bootstrap ?? 1000;
  const diffs: number[][] = metrics.map(() => []);
  const times = new Int32Array(S);
  for (let b = 0; b < iterations; b++) {
    fa.fill(0); fb.fill(0); times.fill(0);
    for (let s = 0; s < S; s++) times[Math.floor(rand() * S)]++;
    for (let s = 0; s < S; s++) if (times[s] > 0) { addCells(fa, A[s], times[s]); addCells(fb, B[s], times[s]); }
    diffOf().forEach((d, j) => diffs[j].push(d));
  }
  const level = opts.level ?? 0.95;
  const alpha = opts.expand === false ? (1 - level) / 2 : expandedTail(S, level);
  const out: Partial<Record<MetricName, PairedTest>> = {};
  metrics.forEach((m, j) => {
    const d = diffs[j].sort((x, y) => x - y);
    const ci: Interval = { estimate: delta[j], low: Math.min(quantileSorted(d, alpha), delta[j]), high: Math.max(quantileSorted(d, 1 - alpha), delta[j]), level };
    out[m] = {
      metric: m,
      delta: delta[j],
      relativePct: baseValue[j] === 0 ? NaN : (100 * delta[j]) / baseValue[j],
      armValue: armValue[j],
      baselineValue: baseValue[j],
      pValue: exact ? extreme[j] / R : (extreme[j] + 1) / (R + 1),
      ci,
      permutations: R,
      exact,
      units: S,
      utterances: n,
      detectable: quantileSorted(nulls[j].sort((x, y) => x - y), 0.95),
    };
  });
  return out as Record<MetricName, PairedTest>;
}

/**
 * Paired comparison of an arm against the baseline for one metric: cluster randomization test
 * (clusters from `arm.clusters`; none: utterances) and paired cluster-bootstrap CI of the difference.
 */
export function pairedTest(arm: Predictions, baseline: Predictions, metric: MetricName, opts: PairedTestOptions = {}): PairedTest {
  return clusterPairedTests(arm, baseline, [metric], opts)[metric];
}
