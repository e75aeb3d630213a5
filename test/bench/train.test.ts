/**
 * bench/train.ts pieces that must be right for its numbers to mean anything (no timings asserted):
 * the wasm matMul2d gradient equals tf.matMul's, a tiny case trains (loss falls) and its step leaks
 * no tensors, the issue-ref spec has the sizes, and the ratio table divides the right numbers.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { initBackend, tf } from '../../lib/backend';
import { matMul2d } from '../../lib/models/layers';
import { buildCase, caseSpec, formatTable, makeStep, median, type CaseResult, type TorchResult } from '../../bench/train';

await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');

test('matMul2d value and gradients equal tf.matMul (the wasm path transposes explicitly)', () => {
  const a = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)), [3, 4]);
  const b = tf.tensor2d(Array.from({ length: 20 }, (_, i) => Math.cos(i * 0.7)), [4, 5]);
  const w = tf.tensor2d(Array.from({ length: 15 }, (_, i) => (i % 4) - 1.5), [3, 5]);
  const f = (mm: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D) => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), w)));
  const [ga, gb] = f(matMul2d)([a, b]);
  const [ra, rb] = f((x, y) => tf.matMul(x, y))([a, b]);
  const close = (x: tf.Tensor, y: tf.Tensor) => assert.ok(tf.max(tf.abs(tf.sub(x, y))).dataSync()[0] < 1e-5);
  close(matMul2d(a, b), tf.matMul(a, b));
  close(ga, ra);
  close(gb, rb);
  // and against the closed form: dL/dA = W B^T, dL/dB = A^T W
  close(ga, tf.matMul(w, b, false, true));
  close(gb, tf.matMul(a, w, true, false));
  tf.dispose([a, b, w, ga, gb, ra, rb]);
});

test('a tiny training case lowers its loss and leaks no tensors per step', () => {
  const spec = caseSpec('tiny', 2, 40);
  const c = buildCase(spec);
  const { step, optimizer } = makeStep(c, { ...spec, lr: 3e-3 });
  const first = step();
  const n = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 8; i++) last = step();
  assert.equal(tf.memory().numTensors, n);
  assert.ok(Number.isFinite(first) && last < first, `loss ${first} -> ${last}`);
  optimizer.dispose();
  c.dispose();
});

test('issue-ref has the issue 11 sizes and plain Adam', () => {
  const s = caseSpec('issue-ref', 32, 300);
  assert.equal(s.preset, 'issue-ref');
  if (s.preset !== 'issue-ref') return;
  assert.deepEqual([s.batch, s.frames, s.inputDim, s.channels, s.kernel, s.classes, s.weightDecay, s.clip], [32, 300, 80, 256, 5, 6, 0, 0]);
  const c = buildCase(s);
  const shapes = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes['conv1.w'], [5, 80, 256]);
  assert.deepEqual(shapes['conv2.w'], [5, 256, 256]);
  assert.deepEqual(shapes['out.w'], [256, 6]);
  c.dispose();
});

test('median and the ratio table', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const ours = { preset: 'tiny', batch: 8, frames: 300, params: 30000, ms_median: 30, ms_min: 28, cpu_ms_median: 20, forward_ms_median: 9, samples_per_s: 266.7, peak_tf_bytes: 2 ** 20, peak_rss_bytes: 2 ** 28 } as CaseResult;
  const torch = { 1: [{ preset: 'tiny', threads: 1, ms_median: 10, ms_min: 9, cpu_ms_median: 10 } as TorchResult] };
  const table = formatTable('wasm', [ours], torch);
  assert.match(table, /3\.00x \/ 2\.00x/);
  assert.match(table, /torch@1 ms wall\/cpu/);
});
