import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../lib/backend';
import {
  ParamFactory, attentionPool, conv1d, conv1dOutputLength, disposeParams, gelu, layerNorm, lengthMask,
  maskedMeanPool, maskedSoftmax, multiHeadAttention, poolSpans, sinusoidalPositions,
} from '../../lib/models/layers';

await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function seededTensor(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

test('conv1d (im2col) equals tf.conv1d for stride 1 and 2, same and valid padding', () => {
  const x = seededTensor([2, 11, 3], 1) as tf.Tensor3D;
  const w = seededTensor([5, 3, 4], 2) as tf.Tensor3D;
  for (const stride of [1, 2]) {
    const ours = conv1d(x, w, undefined, { stride, padding: 'valid' });
    const ref = tf.conv1d(x, w, stride, 'valid');
    assert.deepEqual(ours.shape, ref.shape);
    assert.ok(maxAbsDiff(ours, ref) < 1e-5);
    tf.dispose([ours, ref]);
  }
  // 'same' stride 1 (odd kernel): tf's same padding is symmetric here.
  const ours = conv1d(x, w, undefined, { padding: 'same' });
  const ref = tf.conv1d(x, w, 1, 'same');
  assert.ok(maxAbsDiff(ours, ref) < 1e-5);
  assert.equal(conv1dOutputLength(11, 5, { stride: 2 }), 6);
  // grouped + chunked taps equal the per-group reference
  const xg = seededTensor([1, 9, 4], 3) as tf.Tensor3D;
  const wg = seededTensor([4, 2, 6], 4) as tf.Tensor3D;
  const grouped = conv1d(xg, wg, undefined, { groups: 2, padding: [2, 2], maxColumns: 2 });
  const g0 = tf.conv1d(tf.pad(xg.slice([0, 0, 0], [1, 9, 2]), [[0, 0], [2, 2], [0, 0]]) as tf.Tensor3D, wg.slice([0, 0, 0], [4, 2, 3]) as tf.Tensor3D, 1, 'valid');
  const g1 = tf.conv1d(tf.pad(xg.slice([0, 0, 2], [1, 9, 2]), [[0, 0], [2, 2], [0, 0]]) as tf.Tensor3D, wg.slice([0, 0, 3], [4, 2, 3]) as tf.Tensor3D, 1, 'valid');
  assert.ok(maxAbsDiff(grouped, tf.concat([g0, g1], 2)) < 1e-5);
  tf.dispose([x, w, ours, ref, xg, wg, grouped, g0, g1]);
});

test('conv1d trains: gradients flow to weights on this backend', () => {
  const x = seededTensor([2, 8, 3], 5) as tf.Tensor3D;
  const w = tf.variable(seededTensor([3, 3, 2], 6));
  const grads = tf.variableGrads(() => tf.sum(tf.square(conv1d(x, w, undefined, { stride: 2 }))) as tf.Scalar, [w]);
  assert.ok(tf.sum(tf.abs(grads.grads[w.name])).dataSync()[0] > 0);
  tf.dispose([x, w, grads.value, ...Object.values(grads.grads)]);
});

test('layerNorm gives zero mean, unit variance per frame; gelu matches known values', () => {
  const x = tf.tensor2d([[1, 2, 3, 4], [10, 10, 10, 14]]);
  const y = layerNorm(x, tf.ones([4]), tf.zeros([4]), 0);
  const { mean, variance } = tf.moments(y, -1);
  assert.ok(Math.max(...mean.dataSync().map(Math.abs)) < 1e-6);
  assert.ok(Math.max(...variance.dataSync().map((v) => Math.abs(v - 1))) < 1e-5);
  const g = gelu(tf.tensor1d([0, 1, -1])).dataSync();
  // torch.nn.functional.gelu([0, 1, -1]) = [0, 0.8413447, -0.1586553]
  assert.ok(Math.abs(g[0]) < 1e-7 && Math.abs(g[1] - 0.8413447) < 1e-5 && Math.abs(g[2] + 0.1586553) < 1e-5);
});

test('masked softmax gives exactly zero weight to masked positions and zeros for empty rows', () => {
  const p = maskedSoftmax(tf.tensor2d([[1, 2, 3], [1, 2, 3]]), tf.tensor2d([[1, 1, 0], [0, 0, 0]])).arraySync();
  assert.equal(p[0][2], 0);
  assert.ok(Math.abs(p[0][0] + p[0][1] - 1) < 1e-6);
  assert.deepEqual(p[1], [0, 0, 0]);
});

test('attention and pooling ignore padded frames: changing padding never changes valid outputs', () => {
  const f = new ParamFactory(7);
  const att = f.attention('att', 8);
  const pool = { hidden: f.dense('pool.h', 8, 4), score: f.dense('pool.s', 4, 1) };
  const mask = lengthMask([5, 3], 6);
  const x1 = seededTensor([2, 6, 8], 8) as tf.Tensor3D;
  // same valid frames, different garbage in the padding
  const junk = tf.mul(seededTensor([2, 6, 8], 9), 100);
  const x2 = tf.add(tf.mul(x1, mask.expandDims(2)), tf.mul(junk, tf.sub(1, mask).expandDims(2))) as tf.Tensor3D;
  const y1 = multiHeadAttention(x1, att, 2, { keyMask: mask });
  const y2 = multiHeadAttention(x2, att, 2, { keyMask: mask });
  assert.equal(maxAbsDiff(tf.mul(y1, mask.expandDims(2)), tf.mul(y2, mask.expandDims(2))), 0);
  const p1 = attentionPool(x1, mask, pool), p2 = attentionPool(x2, mask, pool);
  assert.equal(maxAbsDiff(p1.pooled, p2.pooled), 0);
  assert.equal(p1.weights.arraySync()[1][4], 0);
  assert.equal(maxAbsDiff(maskedMeanPool(x1, mask), maskedMeanPool(x2, mask)), 0);
  // span pooling = mean of the frames in the span
  const sp = poolSpans(x1, [{ row: 1, start: 1, end: 3 }]).dataSync();
  const ref = tf.mean(x1.slice([1, 1, 0], [1, 2, 8]), 1).dataSync();
  assert.ok(Math.max(...Array.from(sp, (v, i) => Math.abs(v - ref[i]))) < 1e-6);
  disposeParams(f.params);
});

test('sinusoidal positions: row 0 is [0,1,0,1,...]', () => {
  const pe = sinusoidalPositions(3, 4).arraySync();
  assert.deepEqual(pe[0], [0, 1, 0, 1]);
  assert.ok(Math.abs(pe[1][0] - Math.sin(1)) < 1e-6);
});

test('ParamFactory is seeded: same seed, same weights; names are stable', () => {
  const a = new ParamFactory(3), b = new ParamFactory(3);
  const wa = a.scope('enc').dense('l1', 4, 2).w, wb = b.scope('enc').dense('l1', 4, 2).w;
  assert.deepEqual(Object.keys(a.params), ['enc.l1.w', 'enc.l1.b']);
  assert.deepEqual(Array.from(wa.dataSync()), Array.from(wb.dataSync()));
  disposeParams(a.params); disposeParams(b.params);
});
