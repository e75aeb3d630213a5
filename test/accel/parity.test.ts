/**
 * The native kernel set (OpenBLAS BatchMatMul, transpose-free Sum, copy-free Identity, plain products in the layers,
 * fused AdamW and global norm) against wasm's own kernels
 * (with the layers' wasm workarounds), in one process: single products over every transpose/broadcast
 * case, then a model's forward outputs and every parameter gradient.
 *
 * Tolerances (float32, different summation order in the products): a single product within
 * 2e-6 x K x max|a| x max|b| absolute; model outputs within 1e-5 and gradients within 1e-4 of each
 * tensor's largest absolute value (relative to that maximum), plus 1e-6 absolute; AdamW parameters and
 * moments after 3 steps within 1e-6 relative (same operation order; the norm is summed in double).
 *
 * Without the addon (no compiler or OpenBLAS) the native cases are skipped, except under
 * EMOLAB_REQUIRE_NATIVE=1 (.ci/run), where a missing addon fails.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { existsSync } from 'node:fs';
import { initBackend, tf } from '../../lib/backend';
import { ADDON_PATH, kernelReport, nativeMatMul, productChoice, setKernels } from '../../lib/accel';
import { createModel, forward } from '../../lib/models/heads';
import { encoderConfig } from '../../lib/models/encoder';
import { Rng } from '../../lib/random';
import { headLoss } from '../../lib/train/losses';
import { disposeParams } from '../../lib/models/layers';

await initBackend('wasm', 'wasm');
const required = process.env.EMOLAB_REQUIRE_NATIVE === '1';
const built = existsSync(ADDON_PATH);
const skip = !built && !required ? `native kernels not built (${ADDON_PATH}); set EMOLAB_REQUIRE_NATIVE=1 to fail instead` : false;

function rand(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return tf.tensor(v, shape);
}

function maxAbs(x: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(x)).dataSync()[0]);
}

function maxDiff(x: tf.Tensor, y: tf.Tensor): number {
  assert.deepEqual(x.shape, y.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]);
}

test('EMOLAB_KERNELS=native loads the addon here', { skip }, () => {
  const r = setKernels('native');
  assert.equal(r.active, 'native');
  assert.deepEqual(r.kernels, ['BatchMatMul', 'Sum', 'Identity', 'AdamW', 'GlobalNorm']);
  assert.match(r.blas ?? '', /OpenBLAS/);
  assert.equal(r.blasThreads, 1);
  assert.equal(nativeMatMul(), true);
  assert.deepEqual(productChoice(), { untransposedGradient: false, blockDiagonalAttention: false });
  setKernels('wasm');
  assert.equal(kernelReport().active, 'wasm');
  assert.equal(nativeMatMul(), false);
  assert.deepEqual(productChoice(), { untransposedGradient: true, blockDiagonalAttention: true });
});

test('BatchMatMul: native equals wasm for transposes, batches and broadcasts', { skip }, () => {
  const rng = new Rng(3);
  // [a shape, b shape, transposeA, transposeB]
  const cases: [number[], number[], boolean, boolean][] = [
    [[3, 4], [4, 5], false, false], [[4, 3], [4, 5], true, false], [[3, 4], [5, 4], false, true], [[4, 3], [5, 4], true, true],
    [[2, 3, 7, 5], [2, 3, 5, 6], false, false], [[2, 3, 5, 7], [2, 3, 6, 5], true, true],
    [[6, 7, 5], [5, 4], false, false], [[5, 4], [6, 4, 3], false, false], [[1, 7, 5], [3, 5, 2], false, false],
    [[6, 8, 64], [6, 64, 8], false, false], [[1, 1], [1, 1], false, false], [[300, 80], [80, 256], false, false],
  ];
  for (const [as, bs, ta, tb] of cases) {
    const a = rand(rng, as);
    const b = rand(rng, bs);
    setKernels('wasm');
    const want = tf.matMul(a, b, ta, tb);
    setKernels('native');
    const got = tf.matMul(a, b, ta, tb);
    const k = ta ? as[as.length - 2] : as[as.length - 1];
    const tol = 2e-6 * k * maxAbs(a) * maxAbs(b);
    assert.ok(maxDiff(got, want) <= tol, `[${as}] x [${bs}] tA=${ta} tB=${tb}: ${maxDiff(got, want)} > ${tol}`);
    tf.dispose([a, b, want, got]);
  }
  // a general broadcast (batch [2,1] against [1,3]): one sgemm per output entry, against tiled inputs
  const a = rand(rng, [2, 1, 3, 4]);
  const b = rand(rng, [1, 3, 4, 2]);
  setKernels('wasm');
  const want = tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1]));
  setKernels('native');
  const got = tf.matMul(a, b);
  assert.deepEqual(got.shape, [2, 3, 3, 2]);
  assert.ok(maxDiff(got, want) < 1e-4);
  // shape errors stay tfjs's own
  assert.throws(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 2])), /inner shapes/);
  tf.dispose([a, b, want, got]);
  setKernels('wasm');
});

test('Sum: native equals wasm over contiguous axis runs (and falls back for the rest); Identity shares memory', { skip }, () => {
  const rng = new Rng(4);
  const x = rand(rng, [4, 6, 5, 3]);
  const cases: (number | number[])[] = [0, 1, 2, 3, -1, [0, 1], [1, 2], [2, 3], [0, 1, 2, 3], [0, 2], [3, 1]];
  for (const axis of cases) {
    for (const keepDims of [false, true]) {
      setKernels('wasm');
      const want = tf.sum(x, axis, keepDims);
      setKernels('native');
      const got = tf.sum(x, axis, keepDims);
      assert.ok(maxDiff(got, want) <= 1e-5 * maxAbs(want) + 1e-6, `sum axis ${axis} keepDims ${keepDims}`);
      tf.dispose([want, got]);
    }
  }
  assert.deepEqual(Array.from(tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0).dataSync()), [4, 6]);
  const c = tf.clone(x);
  assert.equal(maxDiff(c, x), 0);
  c.dispose();
  assert.ok(!x.isDisposed && maxAbs(x) > 0);
  setKernels('wasm');
  x.dispose();
});

test('a model trains the same on both kernel sets: forward outputs and every gradient', { skip }, () => {
  // 2 heads (block-diagonal attention on wasm, batched with native) and padding (masks in play).
  const cfg = encoderConfig('tiny', { numLayers: 2, dropout: 0 });
  const model = createModel({ encoder: cfg, heads: [{ kind: 'utterance', name: 'emotion', classes: 6, pooling: 'attention' }] }, 5);
  const rng = new Rng(9);
  const x = rand(rng, [3, 60, cfg.inputDim]) as tf.Tensor3D;
  const lengths = [60, 41, 17];
  const labels = [0, 3, 5];
  const vars = Object.values(model.params);
  const run = () => {
    const { value, grads } = tf.variableGrads(() => {
      const { outputs } = forward(model, x, lengths, {}, { training: true, seed: 1 });
      return headLoss('utterance', outputs.emotion.logits, labels)!;
    }, vars);
    const logits = tf.tidy(() => forward(model, x, lengths, {}, { training: false, seed: 1 }).outputs.emotion.logits);
    return { loss: value, logits, grads };
  };
  setKernels('wasm');
  const w = run();
  setKernels('native');
  const n = run();
  setKernels('wasm');
  const rel = (a: tf.Tensor, b: tf.Tensor) => maxDiff(a, b) / (maxAbs(b) + 1e-6);
  assert.ok(rel(n.logits, w.logits) < 1e-5, `logits ${rel(n.logits, w.logits)}`);
  assert.ok(Math.abs(n.loss.dataSync()[0] - w.loss.dataSync()[0]) < 1e-5);
  const names = Object.keys(w.grads);
  assert.equal(names.length, vars.length);
  for (const name of names) {
    const d = maxDiff(n.grads[name], w.grads[name]);
    const m = maxAbs(w.grads[name]);
    assert.ok(d <= 1e-4 * m + 1e-6, `gradient of ${name}: ${d} vs max ${m}`);
  }
  tf.dispose([w.loss, w.logits, n.loss, n.logits, ...Object.values(w.grads), ...Object.values(n.grads), x]);
  disposeParams(model.params);
});

test('EMOLAB_KERNELS values are validated; native without the addon is an error naming it', async () => {
  const { parseKernelRequest, blasThreadsRequested } = await import('../../lib/accel');
  assert.equal(parseKernelRequest(undefined), 'auto');
  assert.equal(parseKernelRequest(' Native '), 'native');
  assert.throws(() => parseKernelRequest('blas'), /EMOLAB_KERNELS must be one of auto, native, wasm/);
  assert.equal(blasThreadsRequested({}), 1);
  assert.equal(blasThreadsRequested({ EMOLAB_BLAS_THREADS: '2' }), 2);
  assert.throws(() => blasThreadsRequested({ EMOLAB_BLAS_THREADS: '0' }), /EMOLAB_BLAS_THREADS/);
  if (!built) assert.throws(() => setKernels('native'), /EMOLAB_KERNELS=native cannot start: .*is not built/);
  const r = setKernels('auto');
  assert.equal(r.active, built ? 'native' : 'wasm');
  setKernels('wasm');
});

test('fused AdamW and global norm equal the tf-op versions (3 steps, decay on and off, a shared parameter falls back)', { skip }, async () => {
  const { AdamW, clipByGlobalNorm } = await import('../../lib/train/adamw');
  const rng = new Rng(21);
  const shapes: Record<string, number[]> = { 'l.w': [7, 5], 'l.b': [5], 'n.gamma': [5] };
  const init = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, rand(rng, s)]));
  const gradsAt = Array.from({ length: 3 }, () => Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.mul(rand(rng, s), 3)])));
  const train = (kernels: 'wasm' | 'native') => {
    setKernels(kernels);
    const params = Object.fromEntries(Object.entries(init).map(([k, t]) => [k, tf.variable(tf.clone(t))]));
    const opt = new AdamW(params, { weightDecay: 0.1 });
    const norms: number[] = [];
    for (const g of gradsAt) {
      const { grads, norm } = clipByGlobalNorm(g, 4);
      norms.push(norm);
      opt.apply(grads, 1e-2);
      tf.dispose(Object.values(grads));
    }
    const out = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.clone(v)]));
    const m = Object.fromEntries(Object.entries(opt.state()).map(([k, v]) => [k, tf.clone(v)]));
    opt.dispose();
    Object.values(params).forEach((v) => v.dispose());
    return { out, m, norms };
  };
  const w = train('wasm');
  const n = train('native');
  setKernels('wasm');
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(n.norms[i] - w.norms[i]) <= 1e-6 * w.norms[i], `norm ${i}: ${n.norms[i]} vs ${w.norms[i]}`);
  for (const k of Object.keys(shapes)) assert.ok(maxDiff(n.out[k], w.out[k]) <= 1e-6 * maxAbs(w.out[k]), `param ${k}: ${maxDiff(n.out[k], w.out[k])}`);
  for (const k of Object.keys(w.m)) assert.ok(maxDiff(n.m[k], w.m[k]) <= 1e-6 * maxAbs(w.m[k]) + 1e-12, `slot ${k}`);
  // a parameter whose memory another tensor shares is not written in place (the tf ops run instead)
  setKernels('native');
  const p = tf.variable(tf.tensor1d([1, 2, 3]));
  const alias = tf.reshape(p, [3, 1]);
  const before = Array.from(alias.dataSync());
  const opt = new AdamW({ 'x.w': p }, { weightDecay: 0 });
  opt.apply({ 'x.w': tf.tensor1d([1, 1, 1]) }, 0.5);
  assert.deepEqual(Array.from(alias.dataSync()), before);
  assert.ok(p.dataSync()[0] < 1);
  opt.dispose();
  setKernels('wasm');
});
