import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../lib/backend';
import { readF32 } from '../../lib/audio/decode';
import { EmolabError } from '../../lib/errors';
import { fixturesRoot } from '../../lib/paths';
import { readSafetensors, writeSafetensors } from '../../lib/store/safetensors';
import { hubertFrameCount, hubertTinyConfig, loadHubertConfig, parseHubertConfig } from '../../lib/models/hubertConfig';
import {
  canonicalHubertName, disposeHubert, disposeHubertOutput, hubertForward, initHubert, loadHubertWeights, paramsToArrays, saveHubert, weightNorm,
} from '../../lib/models/hubert';
import { run as runCli } from '../../lib/commands/hubertCli';
import { hubertParity, maxAbsDiff } from '../../lib/models/hubertParity';
import { fetchHubertBase, requireHubertBase, validateHubertFiles } from '../../lib/models/hubertFetch';

const fx = join(fixturesRoot(), 'hubert_tiny');
const tmp = mkdtempSync(join(tmpdir(), 'emolab-hubert-'));


for (const backend of ['wasm', 'cpu'] as const) {
  test(`parity with transformers HubertModel on hubert_tiny (${backend}), both weight files`, async () => {
    await initBackend(backend);
    const cfg = loadHubertConfig(fx);
    for (const file of ['model.safetensors', 'state_dict.safetensors']) {
      const r = hubertParity(fx, file);
      const names = Object.keys(r.maxAbsDiff).sort();
      assert.deepEqual(names, ['extract_features', ...Array.from({ length: cfg.numHiddenLayers + 1 }, (_, i) => `hidden_states.${i}`), 'last_hidden_state'].sort());
      for (const [k, d] of Object.entries(r.maxAbsDiff)) assert.ok(d < 1e-4, `${backend} ${file} ${k}: max abs diff ${d}`);
      console.log(`# ${backend} ${file} ${Object.entries(r.maxAbsDiff).map(([k, d]) => `${k}=${d.toExponential(1)}`).join(' ')} forward ${r.forwardMs.toFixed(0)} ms`);
    }
  });
}

test('the fixture really is discriminating: a perturbed weight breaks parity', async () => {
  await initBackend('wasm');
  const cfg = loadHubertConfig(fx);
  const { model } = loadHubertWeights(cfg, join(fx, 'model.safetensors'));
  // Rescale v per input channel: a small change only the positional conv sees.
  const v = model.params['encoder.pos_conv_embed.conv.weight_v'];
  tf.tidy(() => model.params['encoder.pos_conv_embed.conv.weight_v'].assign(tf.mul(v, tf.linspace(0.5, 1.5, v.shape[1]!).reshape([1, -1, 1]))));
  const ref = readSafetensors(join(fx, 'outputs.safetensors')).tensors;
  const x = tf.tensor2d(readF32(join(fx, 'input.f32')), [1, 32000]);
  const o = hubertForward(model, x, { outputHiddenStates: true });
  assert.ok(maxAbsDiff(o.hiddenStates![0].dataSync(), ref['hidden_states.0'].data as Float32Array) > 1e-2);
  assert.ok(maxAbsDiff(o.extractFeatures.dataSync(), ref.extract_features.data as Float32Array) < 1e-4);
  disposeHubertOutput(o); disposeHubert(model); x.dispose();
});

test('weight norm: ||w[:, :, k]|| = g[k] (norm over every axis except dim 2)', async () => {
  await initBackend('cpu');
  const g = tf.tensor3d([2, 3], [1, 1, 2]);
  const v = tf.tensor3d([3, 1, 4, 1, 0, 2, 0, 5], [2, 2, 2]);
  const w = weightNorm(g, v, 2);
  const norms = tf.sqrt(tf.sum(tf.square(w), [0, 1])).arraySync() as number[];
  assert.ok(Math.abs(norms[0] - 2) < 1e-6 && Math.abs(norms[1] - 3) < 1e-6);
  // k = 0 column: v = [3, 4, 0, 0] (norm 5) -> w = 2/5 * v
  assert.ok(Math.abs((w.arraySync() as number[][][])[0][0][0] - 1.2) < 1e-6);
});

test('checkpoint names: hubert. prefix, parametrizations and weight_g/weight_v', () => {
  assert.equal(canonicalHubertName('hubert.encoder.pos_conv_embed.conv.parametrizations.weight.original0'), 'encoder.pos_conv_embed.conv.weight_g');
  assert.equal(canonicalHubertName('encoder.pos_conv_embed.conv.parametrizations.weight.original1'), 'encoder.pos_conv_embed.conv.weight_v');
  assert.equal(canonicalHubertName('encoder.pos_conv_embed.conv.weight_g'), 'encoder.pos_conv_embed.conv.weight_g');
  assert.equal(canonicalHubertName('hubert.feature_projection.projection.bias'), 'feature_projection.projection.bias');
});

test('a hubert.-prefixed weight_g/weight_v checkpoint (released naming) loads to the same outputs', async () => {
  await initBackend('wasm');
  const cfg = loadHubertConfig(fx);
  const { tensors } = readSafetensors(join(fx, 'model.safetensors'));
  const renamed: Record<string, { data: Float32Array; shape: number[] }> = { 'lm_head.weight': { data: new Float32Array(4), shape: [2, 2] } };
  for (const [k, t] of Object.entries(tensors)) renamed['hubert.' + canonicalHubertName(k)] = { data: t.data as Float32Array, shape: t.shape };
  const f = join(tmp, 'released-style.safetensors');
  writeSafetensors(f, renamed);
  const { model, ignored } = loadHubertWeights(cfg, f);
  assert.deepEqual(ignored, ['lm_head.weight']);
  const ref = readSafetensors(join(fx, 'outputs.safetensors')).tensors;
  const x = tf.tensor2d(readF32(join(fx, 'input.f32')), [1, 32000]);
  const o = hubertForward(model, x);
  assert.ok(maxAbsDiff(o.lastHiddenState.dataSync(), ref.last_hidden_state.data as Float32Array) < 1e-4);
  disposeHubertOutput(o); disposeHubert(model); x.dispose();
});

test('bad checkpoints and configs are EmolabErrors naming the file', () => {
  const cfg = loadHubertConfig(fx);
  const f = join(tmp, 'partial.safetensors');
  writeSafetensors(f, { 'feature_projection.projection.bias': { data: new Float32Array(64), shape: [64] } });
  assert.throws(() => loadHubertWeights(cfg, f), (e: unknown) => e instanceof EmolabError && e.file === f && /lacks/.test(e.message));
  const g = join(tmp, 'wrongshape.safetensors');
  const { tensors } = readSafetensors(join(fx, 'model.safetensors'));
  const bad: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [k, t] of Object.entries(tensors)) bad[k] = { data: t.data as Float32Array, shape: t.shape };
  bad['feature_projection.projection.bias'] = { data: new Float32Array(65), shape: [65] };
  writeSafetensors(g, bad);
  assert.throws(() => loadHubertWeights(cfg, g), (e: unknown) => e instanceof EmolabError && /shape \[65\]/.test(e.message));
  assert.throws(() => parseHubertConfig({ conv_dim: [4], conv_kernel: [2], conv_stride: [1], hidden_size: 6, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 8 }, 'c.json'),
    (e: unknown) => e instanceof EmolabError && e.file === 'c.json' && /divisible/.test(e.message));
  const h = join(tmp, 'cfg');
  assert.throws(() => loadHubertConfig(h), (e: unknown) => e instanceof EmolabError && /config.json not found/.test(e.message));
});

test('padding mask: a padded batch gives each clip what it gives alone (layer-norm encoder, pre-LN)', async () => {
  await initBackend('wasm');
  const cfg = { ...hubertTinyConfig(), featExtractNorm: 'layer' as const, doStableLayerNorm: true, numHiddenLayers: 2 };
  const model = initHubert(cfg, 7);
  const long = tf.randomNormal([1, 8000], 0, 0.1, 'float32', 1) as tf.Tensor2D;
  const short = tf.randomNormal([1, 4800], 0, 0.1, 'float32', 2) as tf.Tensor2D;
  const batch = tf.concat([long, tf.pad(short, [[0, 0], [0, 3200]])], 0) as tf.Tensor2D;
  const mask = tf.tensor2d([...new Array(8000).fill(1), ...new Array(4800).fill(1), ...new Array(3200).fill(0)], [2, 8000]);
  const ob = hubertForward(model, batch, { attentionMask: mask });
  const tShort = hubertFrameCount(cfg, 4800);
  assert.deepEqual(Array.from(ob.frameMask.sum(1).dataSync()), [hubertFrameCount(cfg, 8000), tShort]);
  const os = hubertForward(model, short);
  const ol = hubertForward(model, long);
  const fromBatch = ob.lastHiddenState.slice([1, 0, 0], [1, tShort, cfg.hiddenSize]);
  assert.ok(maxAbsDiff(fromBatch.dataSync(), os.lastHiddenState.dataSync()) < 1e-4);
  assert.ok(maxAbsDiff(ob.lastHiddenState.slice([0, 0, 0], [1, -1, -1]).dataSync(), ol.lastHiddenState.dataSync()) < 1e-4);
  // Without the mask, the short clip's frames see the padding and differ.
  const unmasked = hubertForward(model, batch);
  assert.ok(maxAbsDiff(unmasked.lastHiddenState.slice([1, 0, 0], [1, tShort, cfg.hiddenSize]).dataSync(), os.lastHiddenState.dataSync()) > 1e-3);
  [ob, os, ol, unmasked].forEach(disposeHubertOutput);
  disposeHubert(model);
});

test('gradients reach every parameter on wasm (trains without conv backprop kernels)', async () => {
  await initBackend('wasm');
  const model = initHubert({ ...hubertTinyConfig(), numHiddenLayers: 1 }, 3);
  const x = tf.randomNormal([2, 4000], 0, 0.1, 'float32', 5) as tf.Tensor2D;
  const m = tf.tensor2d([[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]);
  const { value, grads } = tf.variableGrads(() => {
    const o = hubertForward(model, x, { maskTimeIndices: m, training: true, seed: 1 });
    return tf.mean(tf.square(o.lastHiddenState)) as tf.Scalar;
  }, Object.values(model.params));
  assert.ok(Number.isFinite(value.dataSync()[0]));
  const names = Object.keys(model.params);
  const byId = new Map(Object.entries(model.params).map(([n, v]) => [v.name, n]));
  const zero = Object.entries(grads).filter(([, g]) => tf.max(tf.abs(g)).dataSync()[0] === 0).map(([id]) => byId.get(id));
  assert.equal(Object.keys(grads).length, names.length);
  assert.deepEqual(zero, []);
  disposeHubert(model);
});

test('CLI writes hidden states that match the fixture; init is deterministic; params round-trip', async () => {
  await initBackend('wasm');
  const out = join(tmp, 'cli.safetensors');
  const dir = join(tmp, 'model');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(fx, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(fx, 'state_dict.safetensors'), join(dir, 'model.safetensors'));
  writeFileSync(join(tmp, 'x.f32'), readF32(join(fx, 'input.f32')));
  const log = console.log; console.log = () => {};
  try { await runCli([dir, join(tmp, 'x.f32'), '--out', out]); } finally { console.log = log; }
  const got = readSafetensors(out).tensors, ref = readSafetensors(join(fx, 'outputs.safetensors')).tensors;
  for (const k of Object.keys(ref)) {
    assert.deepEqual(got[k].shape, ref[k].shape, k);
    assert.ok(maxAbsDiff(got[k].data as Float32Array, ref[k].data as Float32Array) < 1e-4, k);
  }
  // save -> transformers layout again: identical to the checkpoint it was loaded from
  const { model: loaded } = loadHubertWeights(loadHubertConfig(fx), join(fx, 'model.safetensors'));
  saveHubert(join(tmp, 'saved'), loaded);
  const orig = readSafetensors(join(fx, 'model.safetensors')).tensors;
  const saved = readSafetensors(join(tmp, 'saved', 'model.safetensors')).tensors;
  for (const [k, t] of Object.entries(orig)) {
    const n = canonicalHubertName(k);
    assert.deepEqual(saved[n].shape, t.shape, n);
    assert.deepEqual(saved[n].data, t.data, n);
  }
  assert.deepEqual(loadHubertConfig(join(tmp, 'saved')), loadHubertConfig(fx));
  disposeHubert(loaded);
  const a = initHubert(hubertTinyConfig(), 11), b = initHubert(hubertTinyConfig(), 11);
  const pa = paramsToArrays(a.params), pb = paramsToArrays(b.params);
  for (const k of Object.keys(pa)) assert.deepEqual(pa[k].data, pb[k].data, k);
  disposeHubert(a); disposeHubert(b);
});

test('hubert-base-ls960 files: clear message when absent, structural validation, present files kept', async () => {
  const models = mkdtempSync(join(tmpdir(), 'emolab-models-'));
  const env = { ...process.env, EMOLAB_MODELS: models };
  assert.throws(() => requireHubertBase(env), (e: unknown) => e instanceof EmolabError && /hubert-base-ls960/.test(e.message)
    && /config\.json, model\.safetensors/.test(e.message) && e.hint!.includes(join(models, 'hubert-base-ls960')) && e.hint!.includes('huggingface.co/facebook/hubert-base-ls960/resolve/main/model.safetensors'));
  validateHubertFiles(join(fx, 'config.json'), join(fx, 'state_dict.safetensors'));
  const small = join(tmp, 'small-config.json');
  writeFileSync(small, JSON.stringify({ ...JSON.parse(readFileSync(join(fx, 'config.json'), 'utf8')), hidden_size: 32 }));
  assert.throws(() => validateHubertFiles(small, join(fx, 'model.safetensors')), (e: unknown) => e instanceof EmolabError && /shape/.test(e.message));
  const dir = join(models, 'hubert-base-ls960');
  mkdirSync(dir);
  copyFileSync(join(fx, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(fx, 'model.safetensors'), join(dir, 'model.safetensors'));
  const saved = process.env.EMOLAB_MODELS;
  process.env.EMOLAB_MODELS = models;
  try {
    assert.equal(requireHubertBase(), dir);
    assert.deepEqual(await fetchHubertBase({ log: () => {} }), { dir, status: 'present' });
  } finally { if (saved === undefined) delete process.env.EMOLAB_MODELS; else process.env.EMOLAB_MODELS = saved; }
});
