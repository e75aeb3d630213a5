/**
 * bench/train.ts pieces that must be right for its numbers to mean anything (no timings asserted):
 * the wasm matMul2d gradient equals tf.matMul's, block-diagonal attention equals the batched form, a tiny case trains (loss falls) and its step leaks
 * no tensors, the issue-ref spec has the sizes, and the ratio table divides the right numbers.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { initBackend, tf } from '../../lib/backend';
import { blockDiagonalAttention, lengthMask, matMul2d, maskedSoftmax } from '../../lib/models/layers';
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

test('blockDiagonalAttention equals batched masked attention, values and gradients', () => {
  const [b, t, d, h] = [3, 7, 12, 3];
  const dh = d / h;
  const mk = (seed: number) => tf.tensor3d(Array.from({ length: b * t * d }, (_, i) => Math.sin(i * 0.37 + seed)), [b, t, d]);
  const [q, k, v] = [mk(1), mk(2), mk(3)];
  const mask = lengthMask([7, 4, 1], t);
  const w = mk(4);
  const reference = (qq: tf.Tensor3D, kk: tf.Tensor3D, vv: tf.Tensor3D): tf.Tensor3D => {
    const split = (y: tf.Tensor3D) => y.reshape([b, t, h, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
    const s = tf.mul(tf.matMul(split(qq), split(kk), false, true), 1 / Math.sqrt(dh));
    const a = maskedSoftmax(s, mask.reshape([b, 1, 1, t]), -1, false);
    return tf.matMul(a, split(vv)).transpose([0, 2, 1, 3]).reshape([b, t, d]) as tf.Tensor3D;
  };
  const lossOf = (f: (a: tf.Tensor3D, c: tf.Tensor3D, e: tf.Tensor3D) => tf.Tensor3D) =>
    tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor3D, c as tf.Tensor3D, e as tf.Tensor3D), w)));
  const maxDiff = (x: tf.Tensor, y: tf.Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0];
  assert.ok(maxDiff(blockDiagonalAttention(q, k, v, h, mask), reference(q, k, v)) < 1e-5);
  const g1 = lossOf((a, c, e) => blockDiagonalAttention(a, c, e, h, mask))([q, k, v]);
  const g2 = lossOf(reference)([q, k, v]);
  g1.forEach((g, i) => assert.ok(maxDiff(g, g2[i]) < 1e-4, `gradient ${i}`));
  // a clip whose output does not reach the loss (a batch row without labels) still back-propagates
  const [gq] = tf.grads((a: tf.Tensor) => tf.sum(tf.slice(blockDiagonalAttention(a as tf.Tensor3D, k, v, h, mask), [0, 0, 0], [1, t, d])))([q]);
  assert.equal(tf.sum(tf.abs(tf.slice(gq, [1, 0, 0], [2, t, d]))).dataSync()[0], 0);
  // a masked key gets no weight: changing clip 2's padded keys/values changes nothing
  const v2 = tf.add(v, tf.mul(tf.sub(1, mask).expandDims(2), 100)) as tf.Tensor3D;
  assert.ok(maxDiff(blockDiagonalAttention(q, k, v2, h, mask), blockDiagonalAttention(q, k, v, h, mask)) < 1e-4);
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
