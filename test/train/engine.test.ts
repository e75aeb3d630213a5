import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../lib/backend';
import { createModel, forward } from '../../lib/models/heads';
import { encoderConfig, encode } from '../../lib/models/encoder';
import { disposeParams, lengthMask } from '../../lib/models/layers';
import { AdamW, clipByGlobalNorm } from '../../lib/train/adamw';
import { makeBatch } from '../../lib/train/batches';
import { evaluate, train } from '../../lib/train/trainer';
import { learningRate } from '../../lib/train/schedule';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { SYNTH_HEADS, syntheticExamples } from './synthetic';

await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');
const tiny = encoderConfig('tiny');

test('a tiny model overfits a tiny batch to >95% on every head', async () => {
  const data = syntheticExamples(8, 1);
  const model = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 1);
  await train(model, { train: data }, { epochs: 60, batchSize: 8, lr: 1e-2, warmup: 5, decay: 'constant', weightDecay: 0, seed: 1, quiet: true });
  const ev = evaluate(model, data);
  for (const [head, m] of Object.entries(ev.heads)) assert.ok(m.accuracy > 0.95, `${head}: accuracy ${m.accuracy}`);
  disposeParams(model.params);
});

test('padded frames never change outputs: a clip batched with longer clips gives its solo outputs', () => {
  const a = syntheticExamples(1, 2, 21, 21)[0], b = { ...syntheticExamples(1, 3, 40, 40)[0], id: 'long' };
  const model = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 3);
  const solo = makeBatch([a]);
  const pair = makeBatch([a, b]);
  // put junk in the padding of the pair batch
  const junk = tf.tidy(() => {
    const m = lengthMask(pair.lengths, pair.x.shape[1]).expandDims(2);
    return tf.add(tf.mul(pair.x, m), tf.mul(tf.sub(1, m), 50)) as tf.Tensor3D;
  });
  tf.tidy(() => {
    const s = forward(model, solo.x, solo.lengths, { segments: solo.segments });
    const p = forward(model, junk, pair.lengths, { segments: pair.segments });
    const len = s.encoded.lengths[0];
    const hs = s.encoded.hidden.slice([0, 0, 0], [1, len, tiny.dModel]);
    const hp = p.encoded.hidden.slice([0, 0, 0], [1, len, tiny.dModel]);
    assert.ok(tf.max(tf.abs(tf.sub(hs, hp))).dataSync()[0] < 1e-5);
    // padded encoder frames are exactly zero
    assert.ok(len < p.encoded.hidden.shape[1]);
    assert.ok(tf.max(tf.abs(p.encoded.hidden.slice([0, len, 0], [1, -1, -1]))).dataSync()[0] < 1e-30);
    for (const h of ['au', 'ser']) {
      const ls = s.outputs[h].logits.dataSync(), lp = p.outputs[h].logits.slice([0, 0], [1, -1]).dataSync();
      assert.ok(Math.max(...Array.from(ls, (v, i) => Math.abs(v - lp[i]))) < 1e-5, h);
    }
    const nSeg = solo.segments.energy.length;
    const es = s.outputs.energy.logits.dataSync(), ep = p.outputs.energy.logits.slice([0], [nSeg]).dataSync();
    assert.ok(Math.max(...Array.from(es, (v, i) => Math.abs(v - ep[i]))) < 1e-5);
  });
  tf.dispose([solo.x, pair.x, junk]);
  disposeParams(model.params);
});

test('checkpoint -> resume equals uninterrupted training, bit for bit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-resume-'));
  try {
    const data = syntheticExamples(12, 4);
    const dev = syntheticExamples(4, 5);
    const opts = { epochs: 3, batchSize: 4, lr: 3e-3, seed: 9, quiet: true, patience: 5 };
    const tinyDrop = { ...tiny, dropout: 0.1 }; // dropout makes the (seed, step) derivation matter
    const a = createModel({ encoder: tinyDrop, heads: SYNTH_HEADS }, 9);
    const ra = await train(a, { train: data, dev }, { ...opts, checkpointDir: join(dir, 'a') });
    const b1 = createModel({ encoder: tinyDrop, heads: SYNTH_HEADS }, 9);
    const rb1 = await train(b1, { train: data, dev }, { ...opts, checkpointDir: join(dir, 'b'), stopAfterSteps: 5 });
    assert.equal(rb1.interrupted, true);
    disposeParams(b1.params);
    const b2 = createModel({ encoder: tinyDrop, heads: SYNTH_HEADS }, 123); // different init: must be overwritten by the checkpoint
    const rb2 = await train(b2, { train: data, dev }, { ...opts, checkpointDir: join(dir, 'b') });
    assert.equal(rb2.resumedFromStep, 5);
    assert.deepEqual(rb2.history.map((h) => [h.trainLoss, h.devMetric]), ra.history.map((h) => [h.trainLoss, h.devMetric]));
    for (const [k, v] of Object.entries(a.params)) assert.deepEqual(b2.params[k].dataSync(), v.dataSync(), k);
    const ca = readCheckpoint(join(dir, 'a', 'last.safetensors')), cb = readCheckpoint(join(dir, 'b', 'last.safetensors'));
    assert.equal(ca.step, cb.step);
    for (const k of Object.keys(ca.optimizer)) assert.deepEqual(cb.optimizer[k].data, ca.optimizer[k].data, k);
    // and the checkpoint files themselves are byte-identical (no wall times or other run-specific bytes)
    for (const f of ['last.safetensors', 'best.safetensors']) assert.ok(readFileSync(join(dir, 'a', f)).equals(readFileSync(join(dir, 'b', f))), f);
    disposeParams(a.params); disposeParams(b2.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no tensor leaks: numTensors is flat across epochs and back to its start after training', async () => {
  const data = syntheticExamples(6, 6);
  const model = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 6);
  const before = tf.memory().numTensors;
  const perEpoch: number[] = [];
  await train(model, { train: data, dev: data.slice(0, 2) }, { epochs: 3, batchSize: 3, lr: 1e-3, seed: 6, quiet: true, onEpoch: () => perEpoch.push(tf.memory().numTensors) });
  assert.equal(new Set(perEpoch).size, 1, `numTensors per epoch: ${perEpoch}`);
  assert.equal(tf.memory().numTensors, before);
  disposeParams(model.params);
});

test('AdamW matches a hand-computed decoupled-weight-decay update (torch.optim.AdamW)', () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const b = tf.variable(tf.tensor1d([0.5]));
  const opt = new AdamW({ 'l.w': w, 'l.b': b }, { weightDecay: 0.1 });
  const gs = [[0.5, 0.1], [-0.3, 0.2]];
  const lr = 0.1;
  // reference in float64
  let p = [1, -2], m = [0, 0], v = [0, 0];
  gs.forEach((g, i) => {
    const t = i + 1;
    m = m.map((mi, j) => 0.9 * mi + 0.1 * g[j]);
    v = v.map((vi, j) => 0.999 * vi + 0.001 * g[j] ** 2);
    p = p.map((pi, j) => pi * (1 - lr * 0.1) - (lr * (m[j] / (1 - 0.9 ** t))) / (Math.sqrt(v[j] / (1 - 0.999 ** t)) + 1e-8));
    const grads = { 'l.w': tf.tensor1d(g), 'l.b': tf.tensor1d([g[0]]) };
    opt.apply(grads, lr);
    tf.dispose(Object.values(grads));
  });
  const got = w.dataSync();
  assert.ok(Math.abs(got[0] - p[0]) < 1e-6 && Math.abs(got[1] - p[1]) < 1e-6, `${got} vs ${p}`);
  // bias: no weight decay. Step 1 moves it by -lr*sign(g), step 2 by Adam's ratio only.
  const bRef = 0.5 - lr * (0.05 / 0.1) / (Math.sqrt(0.00025 / 0.001) + 1e-8) - lr * ((0.9 * 0.05 + 0.1 * -0.3) / 0.19) / (Math.sqrt((0.999 * 0.00025 + 0.001 * 0.09) / (1 - 0.999 ** 2)) + 1e-8);
  assert.ok(Math.abs(b.dataSync()[0] - bRef) < 1e-6, `${b.dataSync()[0]} vs ${bRef}`);
  opt.dispose(); w.dispose(); b.dispose();
});

test('global-norm clipping and the warm-up/cosine schedule', () => {
  const g = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) }; // norm 13
  const c = clipByGlobalNorm(g, 1.3);
  assert.ok(Math.abs(c.norm - 13) < 1e-5);
  assert.ok(Math.abs(c.grads.a.dataSync()[1] - 0.4) < 1e-5 && Math.abs(c.grads.b.dataSync()[0] - 1.2) < 1e-5);
  tf.dispose([...Object.values(g), ...Object.values(c.grads)]);
  const s = { peak: 1, warmupSteps: 4, totalSteps: 14, decay: 'cosine' as const, minRatio: 0 };
  assert.deepEqual([0, 1, 2, 3].map((i) => learningRate(i, s)), [0.25, 0.5, 0.75, 1]);
  assert.ok(Math.abs(learningRate(9, s) - 0.5) < 1e-12);
  assert.equal(learningRate(14, s), 0);
});

test('encode refuses the wrong feature size with a clear error', () => {
  const model = createModel({ encoder: tiny, heads: [] }, 1);
  assert.throws(() => tf.tidy(() => { encode(model.encoder, tf.zeros([1, 10, 40]) as tf.Tensor3D, [10]); }), /expects 80 features/);
  disposeParams(model.params);
});
