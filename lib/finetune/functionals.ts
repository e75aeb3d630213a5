/**
 * The classic SER reference row: multinomial logistic regression (L2) on utterance-level functionals.
 *
 * - Features (`utteranceFunctionals`, names in `FUNCTIONAL_NAMES`): mean and std of each of the 80
 *   log-mel bins, energy statistics (dBFS) and F0 statistics over voiced frames (semitones), computed
 *   from the stored frame-level features of lib/audio/featureSet (fbank, energy_db, f0).
 * - Standardisation: z-score with the TRAINING clips' mean and std only; dev and test clips are
 *   transformed with those statistics and never enter them.
 * - Classifier (`fitLogReg`, ./logReg): softmax regression, objective (scikit-learn's convention, intercept
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
import { fitLogReg, logRegProbs, type LogRegModel, type LogRegOptions } from './logReg';

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
