/**
 * The classic SER reference row: multinomial logistic regression (L2) on utterance-level functionals.
 *
 * - Features (`utteranceFunctionals`, names in `FUNCTIONAL_NAMES`): mean and std of each of the 80
 *   log-mel bins, energy statistics (dBFS) and F0 statistics over voiced frames (semitones), computed
 *   from the stored frame-level features of lib/audio/featureSet (fbank, energy_db, f0).
 * - Standardisation: z-score with the TRAINING clips' mean and std only; dev and test clips are
 *   transformed with those statistics and never enter them.
 * - Classifier (`fitLogReg`): softmax regression, objective (scikit-learn's convention, intercept
 *   unpenalised)  C * sum_i CE_i + ||W||^2 / 2,  minimised (divided by C n) by full-batch L-BFGS in
 *   Float64 from zero weights — deterministic, no tfjs, no random numbers.
 * - Model selection: C from a small grid by the DEV speakers' unweighted accuracy (UA = macro recall),
 *   ties to the smaller C (stronger penalty); never on test. The model of the chosen C is the one
 *   fitted on the training clips only (dev is used for selection only, like the neural arms' early
 *   stopping), and it predicts the test speakers.
 *
 * `functionalsFold` returns a FoldResult (arm 'functionals', mode 'full', init scratch, history [],
 * bestEpoch 0) that the SER report reads like any trained arm; `runFunctionalsReference` runs all folds.
 */
import { EmolabError } from '../errors';
import { classificationMetrics } from '../eval/metrics';
import type { Clip } from '../data/types';
import type { FeatureStore } from '../store/featureStore';
import { FOLD_RESULT_SCHEMA, type FoldResult, type Protocol } from './results';
import type { SerFold } from './protocols';

export const FUNCTIONALS_ARM = 'functionals';

/** Mel bins of the stored fbank (lib/audio/featureSet default). */
export const FUNCTIONAL_MEL_BINS = 80;

/** Reference frequency of the semitone scale: st = 12 log2(f0 / 55 Hz). */
export const SEMITONE_REF_HZ = 55;

/** Frame shift of the stored features (10 ms), for slopes per second. */
export const FRAME_SHIFT_S = 0.01;

/**
 * Energy functionals, over all frames of `energy_db` (RMS level, dBFS, floor -100):
 * - `energy_mean`, `energy_std`: mean and (population) standard deviation, dB;
 * - `energy_p05`, `energy_p95`: 5th and 95th percentiles (linear interpolation), dB — robust min/max;
 * - `energy_range`: p95 - p05, dB (dynamic range);
 * - `energy_slope`: least-squares slope of the level over time, dB per second (0 for one frame).
 */
export const ENERGY_FUNCTIONALS = ['energy_mean', 'energy_std', 'energy_p05', 'energy_p95', 'energy_range', 'energy_slope'] as const;

/**
 * F0 functionals, over the voiced frames only (f0 > 0), in semitones re 55 Hz (log-F0, so that
 * speakers' ranges compare across sexes):
 * - `f0_mean`, `f0_std`: mean and (population) standard deviation, st;
 * - `f0_p05`, `f0_p95`: 5th and 95th percentiles, st;
 * - `f0_range`: p95 - p05, st;
 * - `f0_slope`: least-squares slope of the voiced frames' pitch over their time, st per second;
 * - `voiced_fraction`: voiced frames / all frames, 0..1.
 * A clip without a voiced frame gets 0 for every F0 statistic and voiced_fraction 0.
 */
export const F0_FUNCTIONALS = ['f0_mean', 'f0_std', 'f0_p05', 'f0_p95', 'f0_range', 'f0_slope', 'voiced_fraction'] as const;

/** Names of the functionals, in vector order: fbank_mean_00..79, fbank_std_00..79, energy..., f0.... */
export function functionalNames(melBins: number = FUNCTIONAL_MEL_BINS): string[] {
  const pad = (b: number) => String(b).padStart(2, '0');
  return [
    ...Array.from({ length: melBins }, (_, b) => `fbank_mean_${pad(b)}`),
    ...Array.from({ length: melBins }, (_, b) => `fbank_std_${pad(b)}`),
    ...ENERGY_FUNCTIONALS,
    ...F0_FUNCTIONALS,
  ];
}

/** The 80-bin feature names (173 features). */
export const FUNCTIONAL_NAMES: readonly string[] = Object.freeze(functionalNames());

/** A named feature vector: `values[i]` is the functional `names[i]`. */
export interface FunctionalVector {
  names: readonly string[];
  values: Float64Array;
}

/** Percentile (0..100) of sorted values, linear interpolation between order statistics (numpy default). */
function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = (p / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Least-squares slope of ys over xs (0 when fewer than two distinct xs). */
function slope(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += xs[i]; my += ys[i]; }
  mx /= n; my /= n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) { const dx = xs[i] - mx; sxy += dx * (ys[i] - my); sxx += dx * dx; }
  return sxx > 0 ? sxy / sxx : 0;
}

/** mean, std (population), p05, p95, range = p95 - p05 of a series. */
function seriesStats(v: Float64Array): { mean: number; std: number; p05: number; p95: number; range: number } {
  const n = v.length;
  if (n === 0) return { mean: 0, std: 0, p05: 0, p95: 0, range: 0 };
  let m = 0;
  for (let i = 0; i < n; i++) m += v[i];
  m /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (v[i] - m) ** 2;
  const sorted = Float64Array.from(v).sort();
  const p05 = percentileSorted(sorted, 5);
  const p95 = percentileSorted(sorted, 95);
  return { mean: m, std: Math.sqrt(s / n), p05, p95, range: p95 - p05 };
}

/**
 * Utterance-level functionals of one clip from its frame-level features (frame-major):
 * `fbank` [frames, melBins] log-mel, `energyDb` [frames] dBFS, `f0` [frames] Hz with 0 = unvoiced.
 * Vector layout and meaning: see `functionalNames`, `ENERGY_FUNCTIONALS`, `F0_FUNCTIONALS`
 * (fbank_mean_b / fbank_std_b: mean and population std of mel bin b over all frames).
 */
export function utteranceFunctionals(fbank: ArrayLike<number>, energyDb: ArrayLike<number>, f0: ArrayLike<number>, frames: number): FunctionalVector {
  if (!Number.isInteger(frames) || frames < 1) throw new EmolabError('eval', `functionals need at least one frame, got ${frames}`);
  if (fbank.length % frames !== 0) throw new EmolabError('eval', `fbank has ${fbank.length} values, not a multiple of ${frames} frames`);
  if (energyDb.length !== frames || f0.length !== frames) {
    throw new EmolabError('eval', `energy (${energyDb.length}) and f0 (${f0.length}) must have one value per frame (${frames})`);
  }
  const bins = fbank.length / frames;
  const names = bins === FUNCTIONAL_MEL_BINS ? FUNCTIONAL_NAMES : functionalNames(bins);
  const out = new Float64Array(names.length);
  // fbank mean / std per bin (two passes, Float64)
  for (let t = 0; t < frames; t++) for (let b = 0; b < bins; b++) out[b] += fbank[t * bins + b];
  for (let b = 0; b < bins; b++) out[b] /= frames;
  for (let t = 0; t < frames; t++) for (let b = 0; b < bins; b++) out[bins + b] += (fbank[t * bins + b] - out[b]) ** 2;
  for (let b = 0; b < bins; b++) out[bins + b] = Math.sqrt(out[bins + b] / frames);
  let o = 2 * bins;
  // energy
  const e = Float64Array.from(energyDb as ArrayLike<number>);
  const times = Float64Array.from({ length: frames }, (_, t) => t * FRAME_SHIFT_S);
  const es = seriesStats(e);
  for (const x of [es.mean, es.std, es.p05, es.p95, es.range, slope(times, e)]) out[o++] = x;
  // F0 over voiced frames, semitones
  const st: number[] = [];
  const vt: number[] = [];
  for (let t = 0; t < frames; t++) {
    const hz = f0[t];
    if (hz > 0 && Number.isFinite(hz)) { st.push(12 * Math.log2(hz / SEMITONE_REF_HZ)); vt.push(t * FRAME_SHIFT_S); }
  }
  if (st.length === 0) {
    for (let i = 0; i < F0_FUNCTIONALS.length; i++) out[o++] = 0;
  } else {
    const fs = seriesStats(Float64Array.from(st));
    for (const x of [fs.mean, fs.std, fs.p05, fs.p95, fs.range, slope(vt, st), st.length / frames]) out[o++] = x;
  }
  return { names, values: out };
}

/** Functionals of one clip read from a feature store (set "audio": fbank, energy_db, f0). */
export function storeFunctionals(store: FeatureStore, clipId: string): FunctionalVector {
  const fb = store.get(clipId, 'fbank');
  const en = store.get(clipId, 'energy_db');
  const f0 = store.get(clipId, 'f0');
  if (en.frames !== fb.frames || f0.frames !== fb.frames) {
    throw new EmolabError('store', `clip ${clipId}: fbank has ${fb.frames} frames, energy_db ${en.frames}, f0 ${f0.frames}`);
  }
  return utteranceFunctionals(fb.data, en.data, f0.data, fb.frames);
}

// ---------------------------------------------------------------- standardisation

export interface Standardiser { mean: Float64Array; std: Float64Array }

/** Per-feature mean and population std of the given (training) rows; a constant feature gets std 1. */
export function fitStandardiser(rows: readonly Float64Array[]): Standardiser {
  if (rows.length === 0) throw new EmolabError('eval', 'cannot standardise: no training rows');
  const d = rows[0].length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const r of rows) {
    if (r.length !== d) throw new EmolabError('eval', `feature rows differ in length (${d} vs ${r.length})`);
    for (let j = 0; j < d; j++) mean[j] += r[j];
  }
  for (let j = 0; j < d; j++) mean[j] /= rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) std[j] += (r[j] - mean[j]) ** 2;
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j] / rows.length);
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

export function standardise(z: Standardiser, rows: readonly Float64Array[]): Float64Array[] {
  return rows.map((r) => {
    const o = new Float64Array(r.length);
    for (let j = 0; j < r.length; j++) o[j] = (r[j] - z.mean[j]) / z.std[j];
    return o;
  });
}

// ---------------------------------------------------------------- multinomial logistic regression

export interface LogRegOptions {
  /** Stop when the largest |gradient| of the (C n)-scaled objective falls below this (default 1e-6). */
  tol?: number;
  /** L-BFGS iterations at most (default 2000). */
  maxIter?: number;
  /** L-BFGS memory (default 10). */
  memory?: number;
  /** Starting point [W (classes x dims), b] (default zeros); e.g. the solution of a neighbouring C. */
  init?: { W: Float64Array; b: Float64Array };
  /** 'balanced': class weights n / (k n_c), as scikit-learn; 'none' (default): every clip counts 1. */
  classWeight?: 'none' | 'balanced';
}

export interface LogRegModel {
  classes: number;
  dims: number;
  C: number;
  /** Weights, row-major [classes][dims]. */
  W: Float64Array;
  b: Float64Array;
  iterations: number;
  converged: boolean;
  /** Final objective (mean weighted cross-entropy + ||W||^2 / (2 C n)) and max |gradient|. */
  loss: number;
  gradMax: number;
}

function logits(W: Float64Array, b: Float64Array, k: number, d: number, x: Float64Array, z: Float64Array): void {
  for (let c = 0; c < k; c++) {
    let s = b[c];
    const off = c * d;
    for (let j = 0; j < d; j++) s += W[off + j] * x[j];
    z[c] = s;
  }
}

/** Softmax in place (max-shifted); returns log-sum-exp. */
function softmaxInPlace(z: Float64Array): number {
  let m = -Infinity;
  for (const v of z) if (v > m) m = v;
  let s = 0;
  for (let c = 0; c < z.length; c++) { z[c] = Math.exp(z[c] - m); s += z[c]; }
  for (let c = 0; c < z.length; c++) z[c] /= s;
  return m + Math.log(s);
}

/** Buffers and data of one fit (kept together so that `lrObjective` is a plain top-level function the JIT optimises well). */
interface LrProblem { n: number; d: number; k: number; kd: number; Xf: Float64Array; y: Int32Array; wn: Float64Array; lam: number; z: Float64Array; R: Float64Array }

/** Objective (mean weighted CE + lam ||W||^2 / 2) and its gradient at theta = [W row-major [k][d], b [k]]. */
function lrObjective(pr: LrProblem, theta: Float64Array, grad: Float64Array): number {
  const { n, d, k, kd, Xf, y, wn, lam, z, R } = pr;
  let f = 0;
  // logits, loss and residuals r_ic = w_i (p_ic - [y_i = c]) / n
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    let zmax = -Infinity;
    for (let c = 0; c < k; c++) {
      const wo = c * d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < d; j += 4) {
        s0 += theta[wo + j] * Xf[xo + j];
        s1 += theta[wo + j + 1] * Xf[xo + j + 1];
        s2 += theta[wo + j + 2] * Xf[xo + j + 2];
        s3 += theta[wo + j + 3] * Xf[xo + j + 3];
      }
      for (; j < d; j++) s0 += theta[wo + j] * Xf[xo + j];
      const s = theta[kd + c] + ((s0 + s1) + (s2 + s3));
      z[c] = s;
      if (s > zmax) zmax = s;
    }
    const yi = y[i];
    const zy = z[yi];
    let sum = 0;
    for (let c = 0; c < k; c++) { z[c] = Math.exp(z[c] - zmax); sum += z[c]; }
    const wi = wn[i];
    f += wi * (zmax + Math.log(sum) - zy);
    for (let c = 0; c < k; c++) R[i * k + c] = wi * (z[c] / sum - (c === yi ? 1 : 0));
  }
  // gradient = R^T X (+ intercept sums), two classes per pass over a row
  grad.fill(0);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    const ro = i * k;
    let c = 0;
    for (; c + 1 < k; c += 2) {
      const r0 = R[ro + c], r1 = R[ro + c + 1];
      const g0 = c * d, g1 = g0 + d;
      for (let j = 0; j < d; j++) { const x = Xf[xo + j]; grad[g0 + j] += r0 * x; grad[g1 + j] += r1 * x; }
    }
    if (c < k) {
      const r0 = R[ro + c];
      const g0 = c * d;
      for (let j = 0; j < d; j++) grad[g0 + j] += r0 * Xf[xo + j];
    }
    for (let cc = 0; cc < k; cc++) grad[kd + cc] += R[ro + cc];
  }
  for (let j = 0; j < kd; j++) { f += 0.5 * lam * theta[j] * theta[j]; grad[j] += lam * theta[j]; }
  return f;
}

/**
 * Fit softmax regression with L2 penalty on the weights (not the intercepts):
 * minimise  (1/n) sum_i w_i CE_i + ||W||^2 / (2 C n)  (= scikit-learn's C sum CE + ||W||^2/2, scaled)
 * by L-BFGS with a backtracking (Armijo) line search, from zero (or `init`). Deterministic.
 */
export function fitLogReg(X: readonly Float64Array[], y: readonly number[], classes: number, C: number, opts: LogRegOptions = {}): LogRegModel {
  const n = X.length;
  if (n === 0) throw new EmolabError('eval', 'logistic regression: no training rows');
  if (y.length !== n) throw new EmolabError('eval', `logistic regression: ${n} rows but ${y.length} labels`);
  if (!(C > 0)) throw new EmolabError('eval', `logistic regression: C must be > 0, got ${C}`);
  const d = X[0].length;
  const k = classes;
  for (const c of y) if (!Number.isInteger(c) || c < 0 || c >= k) throw new EmolabError('eval', `logistic regression: label ${c} outside [0, ${k})`);
  const tol = opts.tol ?? 1e-6;
  const maxIter = opts.maxIter ?? 2000;
  const mem = opts.memory ?? 10;
  const counts = new Array<number>(k).fill(0);
  for (const c of y) counts[c]++;
  const weight = y.map((c) => (opts.classWeight === 'balanced' ? n / (k * counts[c]) : 1));
  const P = k * d + k;
  const lam = 1 / (C * n);

  // rows packed into one buffer; weights per row pre-divided by n
  const Xf = new Float64Array(n * d);
  X.forEach((r, i) => {
    if (r.length !== d) throw new EmolabError('eval', `logistic regression: rows differ in length (${d} vs ${r.length})`);
    Xf.set(r, i * d);
  });
  const wn = Float64Array.from(weight, (w) => w / n);
  const z = new Float64Array(k);
  const kd = k * d;
  const pr: LrProblem = { n, d, k, kd, Xf, y: Int32Array.from(y), wn, lam, z, R: new Float64Array(n * k) };
  const evaluate = (theta: Float64Array, grad: Float64Array): number => lrObjective(pr, theta, grad);
  const dot = (a: Float64Array, b: Float64Array): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
  const maxAbs = (a: Float64Array): number => { let m = 0; for (const v of a) if (Math.abs(v) > m) m = Math.abs(v); return m; };

  let theta = new Float64Array(P);
  if (opts.init) {
    if (opts.init.W.length !== k * d || opts.init.b.length !== k) throw new EmolabError('eval', 'logistic regression: init has the wrong shape');
    theta.set(opts.init.W, 0);
    theta.set(opts.init.b, k * d);
  }
  let g = new Float64Array(P);
  let f = evaluate(theta, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(P);
  const alpha = new Array<number>(mem).fill(0);
  let iter = 0;
  let converged = maxAbs(g) < tol;
  const thetaNew = new Float64Array(P);
  const gNew = new Float64Array(P);
  while (!converged && iter < maxIter) {
    iter++;
    // two-loop recursion: dir = -H g
    for (let i = 0; i < P; i++) dir[i] = -g[i];
    const m = S.length;
    for (let h = m - 1; h >= 0; h--) { alpha[h] = rho[h] * dot(S[h], dir); for (let i = 0; i < P; i++) dir[i] -= alpha[h] * Y[h][i]; }
    if (m > 0) {
      const gamma = dot(S[m - 1], Y[m - 1]) / dot(Y[m - 1], Y[m - 1]);
      for (let i = 0; i < P; i++) dir[i] *= gamma;
    } else {
      const s = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < P; i++) dir[i] *= s;
    }
    for (let h = 0; h < m; h++) { const beta = rho[h] * dot(Y[h], dir); for (let i = 0; i < P; i++) dir[i] += (alpha[h] - beta) * S[h][i]; }
    let gd = dot(g, dir);
    if (!(gd < 0)) { // not a descent direction (numerical trouble): restart from steepest descent
      S.length = 0; Y.length = 0; rho.length = 0;
      const s = 1 / Math.max(1, Math.sqrt(dot(g, g)));
      for (let i = 0; i < P; i++) dir[i] = -g[i] * s;
      gd = dot(g, dir);
    }
    // backtracking Armijo line search
    let step = 1;
    let fNew = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < P; i++) thetaNew[i] = theta[i] + step * dir[i];
      fNew = evaluate(thetaNew, gNew);
      if (fNew <= f + 1e-4 * step * gd) { accepted = true; break; }
      step *= 0.5;
    }
    if (!accepted) break; // no progress possible at Float64 precision
    const sv = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let i = 0; i < P; i++) { sv[i] = thetaNew[i] - theta[i]; yv[i] = gNew[i] - g[i]; }
    const sy = dot(sv, yv);
    if (sy > 1e-12 * Math.sqrt(dot(sv, sv) * dot(yv, yv))) {
      if (S.length === mem) { S.shift(); Y.shift(); rho.shift(); }
      S.push(sv); Y.push(yv); rho.push(1 / sy);
    }
    const fOld = f;
    [theta, g] = [Float64Array.from(thetaNew), Float64Array.from(gNew)];
    f = fNew;
    if (maxAbs(g) < tol) converged = true;
    else if (Math.abs(fOld - f) <= 1e-15 * Math.max(1, Math.abs(f))) break; // stalled at machine precision
  }
  return { classes: k, dims: d, C, W: theta.slice(0, k * d), b: theta.slice(k * d), iterations: iter, converged, loss: f, gradMax: maxAbs(g) };
}

/** Class probabilities [n][classes] of (already standardised) rows. */
export function logRegProbs(model: LogRegModel, X: readonly Float64Array[]): number[][] {
  const z = new Float64Array(model.classes);
  return X.map((x) => {
    if (x.length !== model.dims) throw new EmolabError('eval', `row has ${x.length} features, the model ${model.dims}`);
    logits(model.W, model.b, model.classes, model.dims, x, z);
    softmaxInPlace(z);
    return Array.from(z);
  });
}

const argmax = (xs: ArrayLike<number>): number => {
  let best = 0;
  for (let j = 1; j < xs.length; j++) if (xs[j] > xs[best]) best = j;
  return best;
};

// ---------------------------------------------------------------- selection of C and the fitted classifier

/** Default L2 grid: C = 1e-3 .. 1e2 (one per decade). */
export const DEFAULT_C_GRID: readonly number[] = [1e-3, 1e-2, 1e-1, 1, 10, 100];

export interface FunctionalsClassifier {
  standardiser: Standardiser;
  model: LogRegModel;
  chosenC: number;
  /** Dev UA of each C of the grid (empty when there were no dev clips). */
  devGrid: { C: number; devUa: number; iterations: number; converged: boolean }[];
  selection: 'dev UA' | 'default C = 1 (no dev clips)';
}

/**
 * Standardise with the training rows, fit one model per C on the training rows (increasing C, each
 * warm-started from the previous solution), keep the C with the
 * best dev UA (ties: the smaller C). Without dev rows, C = 1. Test rows are not an input.
 */
export function trainFunctionalsClassifier(a: {
  trainX: readonly Float64Array[]; trainY: readonly number[];
  devX: readonly Float64Array[]; devY: readonly number[];
  classes: number; cGrid?: readonly number[]; options?: LogRegOptions;
}): FunctionalsClassifier {
  const grid = [...(a.cGrid ?? DEFAULT_C_GRID)].sort((x, y) => x - y);
  if (grid.length === 0) throw new EmolabError('eval', 'empty C grid');
  const standardiser = fitStandardiser(a.trainX);
  const Xtr = standardise(standardiser, a.trainX);
  if (a.devX.length === 0) {
    const model = fitLogReg(Xtr, a.trainY, a.classes, 1, a.options);
    return { standardiser, model, chosenC: 1, devGrid: [], selection: 'default C = 1 (no dev clips)' };
  }
  const Xdev = standardise(standardiser, a.devX);
  let best: { model: LogRegModel; ua: number } | undefined;
  const devGrid: FunctionalsClassifier['devGrid'] = [];
  let prev: LogRegModel | undefined;
  for (const C of grid) {
    // warm start from the previous (smaller) C: same optimum, far fewer iterations; still deterministic
    const model = fitLogReg(Xtr, a.trainY, a.classes, C, { ...a.options, init: prev ? { W: prev.W, b: prev.b } : a.options?.init });
    prev = model;
    const pred = logRegProbs(model, Xdev).map(argmax);
    const ua = classificationMetrics(a.devY, pred, a.classes).ua;
    devGrid.push({ C, devUa: ua, iterations: model.iterations, converged: model.converged });
    if (!best || ua > best.ua) best = { model, ua };
  }
  return { standardiser, model: best!.model, chosenC: best!.model.C, devGrid, selection: 'dev UA' };
}

/** Probabilities of raw (unstandardised) rows under a trained classifier. */
export function classifierProbs(clf: FunctionalsClassifier, rows: readonly Float64Array[]): number[][] {
  return logRegProbs(clf.model, standardise(clf.standardiser, rows));
}

// ---------------------------------------------------------------- one fold, all folds

export interface FunctionalsFoldArgs {
  experiment: string;
  protocol: Protocol;
  fold: SerFold;
  classes: readonly string[];
  /** Class index of a clip (into `classes`). */
  label: (c: Clip) => number;
  /** Feature store with the "audio" set (fbank, energy_db, f0) of every clip of the fold. */
  store: FeatureStore;
  runInfo: Record<string, unknown>;
  /** Recorded as the result's seed (the method draws no random numbers; default 0). */
  seed?: number;
  cGrid?: readonly number[];
  options?: LogRegOptions;
  /** Functionals by clip id, shared across folds (filled on demand). */
  cache?: Map<string, Float64Array>;
  configNote?: Record<string, unknown>;
}

function checkSerFold(f: SerFold, label: (c: Clip) => number, k: number): void {
  const bad = (m: string): never => { throw new EmolabError('train', `fold ${f.name}: ${m}`); };
  if (f.train.length === 0) bad('no training clips');
  if (f.test.length === 0) bad('no test clips');
  const test = new Set(f.test.map((c) => c.speaker));
  for (const c of [...f.train, ...f.dev]) if (test.has(c.speaker)) bad(`speaker ${c.speaker} is in the test set and in training/dev (not speaker-independent)`);
  for (const c of [...f.train, ...f.dev, ...f.test]) {
    const y = label(c);
    if (!Number.isInteger(y) || y < 0 || y >= k) bad(`clip ${c.id} has no valid label (got ${y})`);
  }
}

/** Functionals-LR reference on one fold: select C on dev, fit on train, predict test. */
export function functionalsFold(a: FunctionalsFoldArgs): FoldResult {
  const t0 = Date.now();
  const k = a.classes.length;
  checkSerFold(a.fold, a.label, k);
  const cache = a.cache ?? new Map<string, Float64Array>();
  const feats = (clips: Clip[]): Float64Array[] => clips.map((c) => {
    let v = cache.get(c.id);
    if (!v) { v = storeFunctionals(a.store, c.id).values; cache.set(c.id, v); }
    return v;
  });
  const clf = trainFunctionalsClassifier({
    trainX: feats(a.fold.train), trainY: a.fold.train.map(a.label),
    devX: feats(a.fold.dev), devY: a.fold.dev.map(a.label),
    classes: k, cGrid: a.cGrid, options: a.options,
  });
  const probs = classifierProbs(clf, feats(a.fold.test)).map((p) => p.map((x) => +x.toFixed(6)));
  const truth = a.fold.test.map(a.label);
  const pred = probs.map(argmax);
  const speakers = (xs: Clip[]) => [...new Set(xs.map((c) => c.speaker))].sort();
  const d = clf.model.dims;
  const names = d === FUNCTIONAL_NAMES.length ? FUNCTIONAL_NAMES : functionalNames((d - ENERGY_FUNCTIONALS.length - F0_FUNCTIONALS.length) / 2);
  return {
    schema: FOLD_RESULT_SCHEMA,
    experiment: a.experiment, protocol: a.protocol, arm: FUNCTIONALS_ARM, mode: 'full', seed: a.seed ?? 0, fold: a.fold.name,
    classes: [...a.classes], init: { kind: 'scratch' },
    test: { ids: a.fold.test.map((c) => c.id), truth, pred, probs },
    metrics: classificationMetrics(truth, pred, k),
    history: [], bestEpoch: 0,
    config: {
      ...a.configNote,
      method: 'multinomial logistic regression (L2, full-batch L-BFGS, Float64) on utterance-level functionals',
      features: { count: clf.model.dims, source: 'feature store set "audio": fbank (mean, std per bin), energy_db, f0 (voiced, semitones re 55 Hz)', names: [...names] },
      standardisation: 'training-set z-score',
      penalty: 'C * sum CE + ||W||^2 / 2 (intercept unpenalised)',
      classWeight: a.options?.classWeight ?? 'none',
      cGrid: clf.devGrid.length ? clf.devGrid.map((g) => g.C) : [...(a.cGrid ?? DEFAULT_C_GRID)],
      selection: clf.selection,
      chosenC: clf.chosenC,
      devUa: clf.devGrid,
      fitOn: 'train only (dev used to select C)',
      optimizer: { iterations: clf.model.iterations, converged: clf.model.converged, loss: clf.model.loss, gradMax: clf.model.gradMax },
    },
    speakers: { train: speakers(a.fold.train), dev: speakers(a.fold.dev), test: speakers(a.fold.test) },
    clips: { train: a.fold.train.length, dev: a.fold.dev.length, test: a.fold.test.length },
    wallSeconds: (Date.now() - t0) / 1000,
    runInfo: a.runInfo,
    createdAt: new Date().toISOString(),
  };
}

/** The reference row on every fold (functionals computed once per clip). */
export function runFunctionalsReference(a: {
  folds: SerFold[]; classes: readonly string[]; label: (c: Clip) => number; store: FeatureStore;
  experiment: string; protocol: Protocol; runInfo: Record<string, unknown>;
  seed?: number; cGrid?: readonly number[]; options?: LogRegOptions;
}): FoldResult[] {
  const cache = new Map<string, Float64Array>();
  return a.folds.map((fold) => functionalsFold({ ...a, fold, cache }));
}
