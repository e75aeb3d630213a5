import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../lib/paths';
import type { Clip } from '../../lib/data/types';
import { seededRandom } from '../../lib/eval/stats';
import { addConfusions, classificationMetrics, confusionMatrix, metricsFromConfusion } from '../../lib/eval/metrics';
import type { FeatureStore, FrameMatrix } from '../../lib/store/featureStore';
import {
  F0_FUNCTIONALS, FUNCTIONAL_NAMES, ENERGY_FUNCTIONALS, SEMITONE_REF_HZ, classifierProbs, fitStandardiser,
  functionalsFold, runFunctionalsReference, trainFunctionalsClassifier, utteranceFunctionals,
} from '../../lib/finetune/functionals';
import { fitLogReg, logRegProbs } from '../../lib/finetune/logReg';
import { readFoldResult, writeFoldResult } from '../../lib/finetune/results';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');
const tmp = mkdtempSync(join(tmpdir(), 'emolab-functionals-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const at = (name: string): number => FUNCTIONAL_NAMES.indexOf(name);

test('functionals: 80 fbank means + stds, energy and F0 statistics, by name', () => {
  assert.equal(FUNCTIONAL_NAMES.length, 160 + ENERGY_FUNCTIONALS.length + F0_FUNCTIONALS.length);
  assert.equal(new Set(FUNCTIONAL_NAMES).size, FUNCTIONAL_NAMES.length);
  const T = 100;
  const fbank = new Float32Array(T * 80);
  for (let t = 0; t < T; t++) for (let b = 0; b < 80; b++) fbank[t * 80 + b] = b + (t % 2 === 0 ? 1 : -1); // bin b: mean b, std 1
  const energy = Float32Array.from({ length: T }, (_, t) => -60 + 0.2 * t); // +0.2 dB per 10 ms frame = 20 dB/s
  const f0 = Float32Array.from({ length: T }, (_, t) => (t < 50 ? 0 : 2 * SEMITONE_REF_HZ)); // 12 st, half voiced
  const { names, values } = utteranceFunctionals(fbank, energy, f0, T);
  assert.equal(names, FUNCTIONAL_NAMES);
  assert.ok(Math.abs(values[at('fbank_mean_07')] - 7) < 1e-9);
  assert.ok(Math.abs(values[at('fbank_std_79')] - 1) < 1e-9);
  assert.ok(Math.abs(values[at('energy_mean')] - (-60 + 0.2 * 49.5)) < 1e-4);
  assert.ok(Math.abs(values[at('energy_slope')] - 20) < 1e-3);
  assert.ok(Math.abs(values[at('energy_p95')] - values[at('energy_p05')] - values[at('energy_range')]) < 1e-9);
  assert.ok(values[at('energy_p05')] > -60 && values[at('energy_p95')] < -40);
  assert.ok(Math.abs(values[at('f0_mean')] - 12) < 1e-9);
  assert.equal(values[at('f0_std')], 0);
  assert.equal(values[at('f0_range')], 0);
  assert.equal(values[at('voiced_fraction')], 0.5);
  // all-unvoiced clip: F0 statistics 0 and voiced fraction 0, nothing NaN
  const silent = utteranceFunctionals(fbank, energy, new Float32Array(T), T).values;
  for (const n of F0_FUNCTIONALS) assert.equal(silent[at(n)], 0, n);
  assert.ok(silent.every(Number.isFinite));
  assert.throws(() => utteranceFunctionals(fbank, energy.subarray(1), f0, T));
});

/** Separable toy data: class c is a blob at 4 * e_c in 5 dims (plus an offset/scale per feature). */
function blobs(n: number, seed: number, k = 3): { X: Float64Array[]; y: number[] } {
  const r = seededRandom(seed);
  const X: Float64Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % k;
    X.push(Float64Array.from({ length: 5 }, (_, j) => 100 + 10 * j + 7 * ((j === c ? 4 : 0) + (r() - 0.5))));
    y.push(c);
  }
  return { X, y };
}

test('logistic regression reaches 100% on linearly separable classes; probabilities sum to 1; deterministic', () => {
  const tr = blobs(60, 1);
  const dev = blobs(15, 2);
  const te = blobs(30, 3);
  const clf = trainFunctionalsClassifier({ trainX: tr.X, trainY: tr.y, devX: dev.X, devY: dev.y, classes: 3 });
  assert.equal(clf.devGrid.length, 6);
  const probs = classifierProbs(clf, te.X);
  const pred = probs.map((p) => p.indexOf(Math.max(...p)));
  assert.equal(classificationMetrics(te.y, pred, 3).ua, 1);
  assert.ok(probs.every((p) => Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-9));
  assert.ok(clf.model.converged);
  // same data, same model, bit for bit
  const again = trainFunctionalsClassifier({ trainX: tr.X, trainY: tr.y, devX: dev.X, devY: dev.y, classes: 3 });
  assert.deepEqual(again.model.W, clf.model.W);
  // a larger C fits the training set at least as tightly (lower training cross-entropy)
  const Xs = tr.X.map((x) => Float64Array.from(x, (v, j) => (v - clf.standardiser.mean[j]) / clf.standardiser.std[j]));
  const ce = (C: number) => { const m = fitLogReg(Xs, tr.y, 3, C); return -logRegProbs(m, Xs).reduce((s, p, i) => s + Math.log(p[tr.y[i]]), 0); };
  assert.ok(ce(10) < ce(0.01));
});

/** A FeatureStore stand-in serving synthetic fbank/energy/f0 per clip id. */
function fakeStore(feats: Map<string, { fbank: Float32Array; energy: Float32Array; f0: Float32Array }>): FeatureStore {
  const m = (data: Float32Array, dims: number): FrameMatrix => ({ data, frames: data.length / dims, dims });
  return {
    get(id: string, feature: string): FrameMatrix {
      const f = feats.get(id)!;
      if (feature === 'fbank') return m(f.fbank, 80);
      if (feature === 'energy_db') return m(f.energy, 1);
      if (feature === 'f0') return m(f.f0, 1);
      throw new Error(feature);
    },
  } as unknown as FeatureStore;
}

test('standardisation and the model come from the training clips only: changing test features changes nothing but the test predictions', () => {
  const classes = ['a', 'b', 'c'];
  const r = seededRandom(7);
  const mk = (speaker: string, n: number): Clip[] => Array.from({ length: n }, (_, i) => ({ id: `${speaker}-${i}`, corpus: 'toy', speaker, extra: { y: String(i % 3) } }));
  const fold = { name: 'toy', train: [...mk('s1', 30), ...mk('s2', 30)], dev: mk('s3', 12), test: mk('s4', 12) };
  const label = (c: Clip): number => Number(c.extra!.y);
  const clipFeats = (c: Clip, shift: number) => {
    const T = 20;
    const y = label(c);
    const fbank = Float32Array.from({ length: T * 80 }, (_, i) => (Math.floor((i % 80) / 10) === y ? 3 : 0) + r() + shift);
    const energy = Float32Array.from({ length: T }, () => -40 + 5 * r() + shift);
    const f0 = Float32Array.from({ length: T }, (_, t) => (t % 2 ? 120 + 10 * y + r() : 0));
    return { fbank, energy, f0 };
  };
  const base = new Map([...fold.train, ...fold.dev, ...fold.test].map((c) => [c.id, clipFeats(c, 0)]));
  const moved = new Map(base);
  for (const c of fold.test) moved.set(c.id, clipFeats(c, 50)); // test clips far off the training distribution
  const run = (feats: typeof base) => functionalsFold({ experiment: 'toy', protocol: 'emodb', fold, classes, label, store: fakeStore(feats), runInfo: { test: true } });
  const a = run(base);
  const b = run(moved);
  assert.deepEqual(b.config.devUa, a.config.devUa);
  assert.equal(b.config.chosenC, a.config.chosenC);
  assert.deepEqual(b.config.optimizer, a.config.optimizer);
  assert.notDeepEqual(b.test.probs, a.test.probs);
  assert.equal(a.metrics.ua, 1);
  assert.equal(a.config.standardisation, 'training-set z-score');
  // the standardiser is exactly the training rows' statistics
  const rows = fold.train.map((c) => { const f = base.get(c.id)!; return utteranceFunctionals(f.fbank, f.energy, f.f0, 20).values; });
  const clf = trainFunctionalsClassifier({ trainX: rows, trainY: fold.train.map(label), devX: [], devY: [], classes: 3 });
  assert.deepEqual(clf.standardiser, fitStandardiser(rows));
  assert.equal(clf.selection, 'default C = 1 (no dev clips)');
  // the record has the shape the SER report reads
  assert.equal(a.arm, 'functionals');
  assert.equal(a.mode, 'full');
  assert.deepEqual(a.init, { kind: 'scratch' });
  assert.deepEqual(a.history, []);
  assert.deepEqual(a.speakers, { train: ['s1', 's2'], dev: ['s3'], test: ['s4'] });
  assert.deepEqual(a.clips, { train: 60, dev: 12, test: 12 });
  const file = writeFoldResult(a, tmp);
  assert.deepEqual(readFoldResult(file), JSON.parse(JSON.stringify(a)));
  // speaker leak is refused
  assert.throws(() => functionalsFold({ experiment: 'toy', protocol: 'emodb', fold: { ...fold, test: mk('s1', 3) }, classes, label, store: fakeStore(base), runInfo: {} }), /speaker s1/);
});

const emodbWav = join(process.env.EMOLAB_DATA!, 'emodb', 'wav');

test('EmoDB, 5 speaker-independent folds: functionals + LR is well above chance (pooled UA >= 50%)', { skip: existsSync(emodbWav) ? false : 'no EmoDB audio in EMOLAB_DATA' }, async () => {
  const { emodbManifest } = await import('../../lib/data/emodb');
  const { extractFeatures, openFeatureStore } = await import('../../lib/store/featureStore');
  const { audioFeatureSet } = await import('../../lib/audio/featureSet');
  const { emodbProtocol } = await import('../../lib/finetune/protocols');
  const t0 = Date.now();
  const dir = join(tmp, 'features');
  // the clips of the protocol (boredom dropped), one worker: the store the pipeline builds, in a temp dir
  const fx = await extractFeatures({ manifest: emodbManifest(undefined, { boredom: 'drop' }), dir, set: audioFeatureSet(), workers: 1, quiet: true });
  const tFeat = (Date.now() - t0) / 1000;
  const p = emodbProtocol();
  const results = runFunctionalsReference({ folds: p.folds, classes: p.classes, label: p.label, store: openFeatureStore(dir), experiment: 'reference', protocol: 'emodb', runInfo: { test: true } });
  assert.equal(results.length, 5);
  const pooled = metricsFromConfusion(addConfusions(results.map((r) => confusionMatrix(r.test.truth, r.test.pred, 6))));
  const pct = (x: number) => (100 * x).toFixed(1);
  for (const r of results) {
    console.log(`${r.fold}: UA ${pct(r.metrics.ua)}%  F1 ${pct(r.metrics.f1)}%  WA ${pct(r.metrics.wa)}%  C=${r.config.chosenC}  dev UA ${(r.config.devUa as { C: number; devUa: number }[]).map((g) => `${g.C}:${pct(g.devUa)}`).join(' ')}`);
    assert.equal(r.clips.test, r.test.ids.length);
    assert.equal((r.config.features as { count: number }).count, FUNCTIONAL_NAMES.length);
  }
  console.log(`pooled over the 5 test sets (${pooled.n} clips): UA ${pct(pooled.ua)}%  F1 ${pct(pooled.f1)}%  WA ${pct(pooled.wa)}%  (features ${tFeat.toFixed(1)} s for ${Object.keys(fx.index.clips).length} clips, total ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  assert.equal(pooled.n, 454);
  assert.ok(pooled.ua >= 0.5, `pooled UA ${pooled.ua}`);
});
