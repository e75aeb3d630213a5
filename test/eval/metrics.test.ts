import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addConfusions, classificationMetrics, confusionMatrix, metricsFromConfusion, normalizeRows } from '../../lib/eval/metrics';
import { EmolabError } from '../../lib/errors';

const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);

test('metrics of a hand-made 3-class confusion matrix (values worked out by hand)', () => {
  // rows = truth, cols = predicted
  const cm = [[5, 1, 0], [2, 3, 1], [0, 0, 4]];
  const m = metricsFromConfusion(cm);
  assert.deepEqual(m.support, [6, 6, 4]);
  assert.equal(m.n, 16);
  close(m.perClassPrecision[0], 5 / 7); close(m.perClassPrecision[1], 3 / 4); close(m.perClassPrecision[2], 4 / 5);
  assert.deepEqual(m.perClassRecall.map((x) => +x.toFixed(6)), [0.833333, 0.5, 1]);
  close(m.precision, (5 / 7 + 3 / 4 + 4 / 5) / 3);
  close(m.recall, (5 / 6 + 1 / 2 + 1) / 3);
  close(m.f1, (50 / 65 + 0.6 + 8 / 9) / 3); // per-class F1 averaged (sklearn macro)
  close(m.ua, m.recall);
  close(m.wa, 12 / 16);
});

test('confusionMatrix counts truth x prediction', () => {
  const cm = confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
  assert.deepEqual(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
});

test('a class predicted but absent from the truth counts in macro P/R/F1 but not in UA', () => {
  const m = classificationMetrics([0, 0, 1], [0, 2, 1], 3);
  close(m.precision, (1 + 1 + 0) / 3);
  close(m.recall, (0.5 + 1 + 0) / 3);
  close(m.ua, (0.5 + 1) / 2);
  close(m.wa, 2 / 3);
});

test('a class neither present nor predicted is left out of macro averages', () => {
  const m = classificationMetrics([0, 1, 1], [0, 1, 0], 6);
  close(m.recall, (1 + 0.5) / 2);
  close(m.precision, (0.5 + 1) / 2);
});

test('perfect and all-wrong predictions', () => {
  const p = classificationMetrics([0, 1, 2, 3], [0, 1, 2, 3], 4);
  assert.equal(p.f1, 1); assert.equal(p.ua, 1); assert.equal(p.wa, 1);
  const w = classificationMetrics([0, 1], [1, 0], 2);
  assert.equal(w.f1, 0); assert.equal(w.wa, 0);
});

test('UA differs from WA on imbalanced data: majority-class predictor', () => {
  const truth = [...new Array(90).fill(0), ...new Array(10).fill(1)];
  const m = classificationMetrics(truth, new Array(100).fill(0), 2);
  close(m.wa, 0.9);
  close(m.ua, 0.5);
});

test('bad input is an EmolabError', () => {
  assert.throws(() => confusionMatrix([0, 1], [0], 2), EmolabError);
  assert.throws(() => confusionMatrix([0, 5], [0, 1], 2), EmolabError);
  assert.throws(() => metricsFromConfusion([[1, 2]]), EmolabError);
});

test('addConfusions and normalizeRows', () => {
  assert.deepEqual(addConfusions([[[1, 0], [0, 1]], [[0, 2], [3, 0]]]), [[1, 2], [3, 1]]);
  assert.deepEqual(normalizeRows([[1, 3], [0, 0]]), [[0.25, 0.75], [0, 0]]);
});
