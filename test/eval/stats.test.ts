import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCI, pairedTest, quantileSorted, seededRandom, summarize } from '../../lib/eval/stats';
import { EmolabError } from '../../lib/errors';

test('summarize: mean and sample std', () => {
  const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(s.mean, 5);
  assert.ok(Math.abs(s.std - Math.sqrt(32 / 7)) < 1e-12);
  assert.equal(summarize([3]).std, 0);
  assert.ok(Number.isNaN(summarize([]).mean));
});

test('quantileSorted interpolates like numpy', () => {
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.25), 2);
});

test('seededRandom is deterministic and in [0,1)', () => {
  const a = seededRandom(42); const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(m - 0.5) < 0.05);
});

function noisy(truth: number[], accuracy: number, seed: number, k: number): number[] {
  const r = seededRandom(seed);
  return truth.map((t) => (r() < accuracy ? t : (t + 1 + Math.floor(r() * (k - 1))) % k));
}

test('bootstrap CI brackets the estimate, is seeded, narrows with more data', () => {
  const r = seededRandom(3);
  const truth = Array.from({ length: 400 }, () => Math.floor(r() * 4));
  const pred = noisy(truth, 0.6, 9, 4);
  const ci = bootstrapCI({ truth, pred, nClasses: 4 }, 'wa', { iterations: 300, seed: 5 });
  assert.ok(ci.low < ci.estimate && ci.estimate < ci.high);
  assert.deepEqual(ci, bootstrapCI({ truth, pred, nClasses: 4 }, 'wa', { iterations: 300, seed: 5 }));
  // binomial standard error ~ sqrt(.6*.4/400)=0.0245 -> 95% half-width ~0.048
  assert.ok(ci.high - ci.low > 0.06 && ci.high - ci.low < 0.13, `width ${ci.high - ci.low}`);
  const small = bootstrapCI({ truth: truth.slice(0, 50), pred: pred.slice(0, 50), nClasses: 4 }, 'wa', { iterations: 300, seed: 5 });
  assert.ok(small.high - small.low > ci.high - ci.low);
});

test('paired test: identical arms give delta 0 and p = 1', () => {
  const truth = [0, 1, 2, 0, 1, 2, 0, 1];
  const pred = [0, 1, 1, 0, 2, 2, 0, 0];
  const t = pairedTest({ truth, pred, nClasses: 3 }, { truth, pred, nClasses: 3 }, 'f1', { permutations: 200, bootstrap: 100 });
  assert.equal(t.delta, 0);
  assert.equal(t.pValue, 1);
});

test('paired test: a clearly better arm is significant, a slightly perturbed one is not', () => {
  const r = seededRandom(11);
  const truth = Array.from({ length: 300 }, () => Math.floor(r() * 6));
  const base = noisy(truth, 0.4, 1, 6);
  const better = noisy(truth, 0.8, 2, 6);
  const t = pairedTest({ truth, pred: better, nClasses: 6 }, { truth, pred: base, nClasses: 6 }, 'f1', { permutations: 300, bootstrap: 200 });
  assert.ok(t.delta > 0.2, `delta ${t.delta}`);
  assert.ok(t.pValue < 0.01, `p ${t.pValue}`);
  assert.ok(t.ci.low > 0);
  assert.ok(t.relativePct > 40);
  const nearly = base.slice();
  for (let i = 0; i < 5; i++) nearly[i] = truth[i];
  const u = pairedTest({ truth, pred: nearly, nClasses: 6 }, { truth, pred: base, nClasses: 6 }, 'f1', { permutations: 300, bootstrap: 200 });
  assert.ok(u.pValue > 0.05, `p ${u.pValue}`);
  assert.ok(u.ci.low <= u.delta && u.delta <= u.ci.high);
});

test('paired test refuses different truth', () => {
  assert.throws(() => pairedTest({ truth: [0, 1], pred: [0, 1], nClasses: 2 }, { truth: [1, 1], pred: [0, 1], nClasses: 2 }, 'f1'), EmolabError);
});
