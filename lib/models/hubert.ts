/**
 * HuBERT (Hsu et al., 2021) in tfjs, numerically matching transformers' `HubertModel`:
 *
 *   raw 16 kHz audio [B, L]
 *   -> feature encoder: 7 convolutions (512 ch, kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2) with
 *      GELU; GroupNorm after the first conv ('group', base) or LayerNorm after every conv ('layer',
 *      large)                                                   = extract_features [B, T, 512], 20 ms frames
 *   -> feature projection: LayerNorm + Linear(512 -> hidden) (+ masked_spec_embed on masked frames)
 *   -> positional convolution: grouped conv (kernel 128, 16 groups, weight norm over dim 2), last
 *      frame dropped when the kernel is even (SamePad), GELU, added to the input
 *   -> Transformer encoder: post-LN (do_stable_layer_norm=false, base) or pre-LN with a final layer
 *      norm (true, large); padding frames masked out of attention.
 *
 * `hidden_states[0]` is the encoder input after the positional conv (and the layer norm, post-LN),
 * `hidden_states[i]` the output of layer i — the same indexing as transformers' output_hidden_states,
 * so "layer 9" means `hidden_states[9]`.
 *
 * Parameters are tf.Variables keyed by the transformers names (without the `hubert.` prefix), so a
 * trained model saves to a safetensors file that transformers loads, and both released naming
 * schemes of the weight-normed positional conv load here (`weight_g`/`weight_v`, and
 * `parametrizations.weight.original0/1`).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError } from '../errors';
import { readSafetensors, writeSafetensors } from '../store/safetensors';
import { writeJsonAtomic } from '../atomic';
import { HubertConfig, hubertConfigJson, hubertFrameCount, loadHubertConfig } from './hubertConfig';
import { conv1d, dense, dropout, gelu, layerNorm, lengthMask, multiHeadAttention } from './layers';
import { deriveSeed, Rng } from '../random';

export type HubertParams = Record<string, tf.Variable>;

export interface HubertModel {
  config: HubertConfig;
  params: HubertParams;
}

const POS = 'encoder.pos_conv_embed.conv';

// ---------------------------------------------------------------------------------------------
// Layout. Variables keep the transformers NAMES but the tfjs LAYOUT of ./layers: linear weights
// [in, out] (torch: [out, in]) and conv weights [K, in/groups, out] (torch: [out, in/groups, K]),
// weight_g [K, 1, 1] (torch [1, 1, K]). Checkpoints are converted at load/save time only: a matMul
// with transposeB on wasm was measured 10x slower than a plain one (768 -> 3072 on 49 frames:
// 723 ms vs 67 ms), and transposing weights inside every forward pass costs as much again.

/** Permutation from a torch-layout checkpoint tensor to our layout (its own inverse). */
export function layoutPerm(torchShape: number[]): number[] | undefined {
  if (torchShape.length === 2) return [1, 0];
  if (torchShape.length === 3) return [2, 1, 0];
  return undefined;
}

/** Our layout's shape for a torch-layout shape. */
export function internalShape(torchShape: number[]): number[] {
  const perm = layoutPerm(torchShape);
  return perm ? perm.map((i) => torchShape[i]) : torchShape;
}

/**
 * Valid strided conv1d of the feature encoder, x [B, L, Cin] with a weight [K, Cin, Cout], as
 * im2col built from ceil(K/S) CONTIGUOUS slices of x viewed as [B, L/S, S*Cin] (then one matMul).
 * Not layers.conv1d (time-major, one phase slice per tap), which it matches exactly (max diff 0):
 * re-measured on 8 x 2 s, wasm: K10 S5 1->32 41 ms vs 132 ms, K3 S2 32->32 48 vs 62 ms; on the
 * cpu backend layers.conv1d is faster (687 vs 810 ms, 2.9 s vs 4.6 s). HuBERT runs on wasm by
 * default, so its valid strided feature-encoder convs keep this path; the pos-conv uses layers.conv1d.
 */
export function stridedConv1d(x: tf.Tensor3D, weight: tf.Tensor, stride: number, bias?: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, c] = x.shape;
    const [k, , cout] = weight.shape as [number, number, number];
    const t = Math.floor((l - k) / stride) + 1;
    if (t <= 0) throw new EmolabError('models', `conv input of ${l} steps is shorter than its kernel (${k})`);
    const q = Math.ceil(k / stride);
    const blocks = t - 1 + q;
    const need = blocks * stride;
    // Samples beyond L that the padding adds are never read by a valid output.
    const xs = l > need ? tf.slice(x, [0, 0, 0], [b, need, c]) : l < need ? tf.pad(x, [[0, 0], [0, need - l], [0, 0]]) : x;
    const v = tf.reshape(xs, [b, blocks, stride * c]);
    const parts: tf.Tensor3D[] = [];
    for (let j = 0; j < q; j++) parts.push(tf.slice(v, [0, j, 0], [b, t, stride * c]) as tf.Tensor3D);
    const cols = parts.length === 1 ? parts[0] : tf.concat(parts, 2);
    // Taps k..q*S-1 get zero weights (cheaper than slicing the patches' last axis, which the cpu
    // backend does element by element: 0.9 s for the tiny model's second conv).
    const kk = q * stride;
    const w = kk === k ? weight : tf.pad(weight, [[0, kk - k], [0, 0], [0, 0]]);
    let y: tf.Tensor = tf.matMul(tf.reshape(cols, [b * t, kk * c]) as tf.Tensor2D, tf.reshape(w, [kk * c, cout]) as tf.Tensor2D);
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [b, t, cout]) as tf.Tensor3D;
  });
}

/**
 * GroupNorm with one group per channel on [B, T, C] (torch nn.GroupNorm(C, C) on [B, C, T]): each
 * channel of each example normalised over time (padding included, as in transformers).
 */
export function channelGroupNorm(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor3D {
  return tf.tidy(() => {
    // Means over time as a batched matMul with a 1/T row: tf.moments over a non-last axis is slow
    // on the cpu backend (1.35 s vs 0.1 s for the tiny model's [1, 6399, 32]); same two-pass variance.
    const [b, t] = x.shape;
    const avg = tf.fill([b, 1, t], 1 / t) as tf.Tensor3D;
    const centred = tf.sub(x, tf.matMul(avg, x));
    const variance = tf.matMul(avg, tf.square(centred) as tf.Tensor3D);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight), bias) as tf.Tensor3D;
  });
}

/** torch weight_norm(dim): w = g * v / ||v||, the norm taken over every axis except `dim`. */
export function weightNorm(g: tf.Tensor, v: tf.Tensor, dim: number): tf.Tensor {
  return tf.tidy(() => {
    const axes = v.shape.map((_, i) => i).filter((i) => i !== dim);
    return tf.mul(v, tf.div(g, tf.sqrt(tf.sum(tf.square(v), axes, true))));
  });
}

/** Every parameter of a config with its torch shape (the checkpoint's contract). */
export function hubertParamShapes(c: HubertConfig): Record<string, number[]> {
  const s: Record<string, number[]> = {};
  let cin = 1;
  c.convDim.forEach((cout, i) => {
    const p = `feature_extractor.conv_layers.${i}`;
    s[`${p}.conv.weight`] = [cout, cin, c.convKernel[i]];
    if (c.convBias) s[`${p}.conv.bias`] = [cout];
    if (c.featExtractNorm === 'layer' || i === 0) {
      s[`${p}.layer_norm.weight`] = [cout];
      s[`${p}.layer_norm.bias`] = [cout];
    }
    cin = cout;
  });
  const h = c.hiddenSize, last = c.convDim[c.convDim.length - 1];
  if (c.featProjLayerNorm) { s['feature_projection.layer_norm.weight'] = [last]; s['feature_projection.layer_norm.bias'] = [last]; }
  s['feature_projection.projection.weight'] = [h, last];
  s['feature_projection.projection.bias'] = [h];
  s.masked_spec_embed = [h];
  s[`${POS}.weight_g`] = [1, 1, c.numConvPosEmbeddings];
  s[`${POS}.weight_v`] = [h, h / c.numConvPosEmbeddingGroups, c.numConvPosEmbeddings];
  s[`${POS}.bias`] = [h];
  s['encoder.layer_norm.weight'] = [h];
  s['encoder.layer_norm.bias'] = [h];
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `encoder.layers.${l}`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) { s[`${p}.attention.${n}.weight`] = [h, h]; s[`${p}.attention.${n}.bias`] = [h]; }
    s[`${p}.layer_norm.weight`] = [h]; s[`${p}.layer_norm.bias`] = [h];
    s[`${p}.feed_forward.intermediate_dense.weight`] = [c.intermediateSize, h];
    s[`${p}.feed_forward.intermediate_dense.bias`] = [c.intermediateSize];
    s[`${p}.feed_forward.output_dense.weight`] = [h, c.intermediateSize];
    s[`${p}.feed_forward.output_dense.bias`] = [h];
    s[`${p}.final_layer_norm.weight`] = [h]; s[`${p}.final_layer_norm.bias`] = [h];
  }
  return s;
}

/** Checkpoint name -> our canonical name (drops `hubert.`, maps the parametrizations weight norm). */
export function canonicalHubertName(name: string): string {
  let n = name.startsWith('hubert.') ? name.slice('hubert.'.length) : name;
  n = n.replace('.parametrizations.weight.original0', '.weight_g').replace('.parametrizations.weight.original1', '.weight_v');
  return n;
}

/**
 * Randomly initialised HuBERT, as transformers' `_init_weights`: linear N(0, 0.02) with zero bias,
 * conv Kaiming-normal (fan-in), norms 1/0, positional conv v ~ N(0, 2/sqrt(K*C)) with g = ||v||,
 * masked_spec_embed U(0, 1). Drawn in JavaScript from a seeded stream: identical on every backend.
 */
export function initHubert(config: HubertConfig, seed = 0): HubertModel {
  const shapes = hubertParamShapes(config);
  const params: HubertParams = {};
  Object.entries(shapes).forEach(([name, shape], i) => {
    const rng = new Rng(deriveSeed(seed, i));
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = new Float32Array(n);
    const normal = (std: number) => { for (let j = 0; j < n; j++) vals[j] = rng.normal() * std; };
    if (name === 'masked_spec_embed') for (let j = 0; j < n; j++) vals[j] = rng.next();
    else if (name.endsWith('weight_v')) normal(2 / Math.sqrt(config.numConvPosEmbeddings * config.hiddenSize));
    else if (name.endsWith('weight_g') || name.endsWith('.bias')) { /* zeros (g is set from v below) */ }
    else if (/norm\.weight$/.test(name)) vals.fill(1);
    else if (name.includes('conv_layers') && name.endsWith('conv.weight')) normal(Math.sqrt(2 / (shape[1] * shape[2])));
    else normal(0.02);
    params[name] = tf.tidy(() => {
      const t = tf.tensor(vals, shape, 'float32');
      const perm = layoutPerm(shape);
      return tf.variable(perm ? tf.transpose(t, perm) : t, true);
    });
  });
  // g = ||v|| over every axis but the kernel axis (axis 0 in our layout).
  tf.tidy(() => params[`${POS}.weight_g`].assign(tf.sqrt(tf.sum(tf.square(params[`${POS}.weight_v`]), [1, 2], true))));
  return { config, params };
}

/**
 * Load weights from a safetensors file into a model of `config`. Accepts transformers
 * save_pretrained files, raw state_dicts, `hubert.`-prefixed task checkpoints (HubertForCTC, ...; the
 * extra heads are reported in `ignored`). A missing `masked_spec_embed` (absent when the checkpoint
 * was saved with masking off) is initialised U(0, 1); anything else missing or mis-shaped is an error.
 */
export function loadHubertWeights(config: HubertConfig, file: string, seed = 0): { model: HubertModel; ignored: string[] } {
  if (!existsSync(file)) throw new EmolabError('models', 'HuBERT weights not found', { file, hint: 'expected model.safetensors beside config.json' });
  const { tensors } = readSafetensors(file);
  const shapes = hubertParamShapes(config);
  const byName: Record<string, (typeof tensors)[string]> = {};
  const ignored: string[] = [];
  for (const [raw, t] of Object.entries(tensors)) {
    const n = canonicalHubertName(raw);
    if (n in shapes) byName[n] = t; else ignored.push(raw);
  }
  const missing = Object.keys(shapes).filter((n) => !(n in byName) && n !== 'masked_spec_embed');
  if (missing.length) {
    throw new EmolabError('models', `checkpoint lacks ${missing.length} HuBERT tensors for this config: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`, { file, hint: 'check that config.json belongs to these weights' });
  }
  const model = initHubert(config, seed);
  for (const [n, t] of Object.entries(byName)) {
    const want = shapes[n];
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      disposeHubert(model);
      throw new EmolabError('models', `tensor ${n} has shape [${t.shape}] but the config needs [${want}]`, { file });
    }
    if (!(t.data instanceof Float32Array) && !(t.data instanceof Float64Array)) {
      disposeHubert(model);
      throw new EmolabError('models', `tensor ${n} has dtype ${t.dtype}; expected a float type`, { file });
    }
    tf.tidy(() => {
      const v = tf.tensor(Float32Array.from(t.data as Float32Array), want, 'float32');
      const perm = layoutPerm(want);
      model.params[n].assign(perm ? tf.transpose(v, perm) : v);
    });
  }
  return { model, ignored };
}

/** Load `<dir>/config.json` + `<dir>/model.safetensors` (or another weights file in the folder). */
export function loadHubert(dir: string, weightsFile = 'model.safetensors'): HubertModel {
  const config = loadHubertConfig(dir);
  return loadHubertWeights(config, join(dir, weightsFile)).model;
}

/** Write `<dir>/config.json` and `<dir>/model.safetensors` (transformers names, weight_g/weight_v). */
export function saveHubert(dir: string, model: HubertModel, metadata: Record<string, string> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'config.json'), hubertConfigJson(model.config));
  writeSafetensors(join(dir, 'model.safetensors'), hubertStateDict(model), { format: 'pt', ...metadata });
}

/** The parameters as a transformers state dict (torch layout, float32 copies). */
export function hubertStateDict(model: HubertModel): Record<string, { data: Float32Array; shape: number[] }> {
  const shapes = hubertParamShapes(model.config);
  const out: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [n, v] of Object.entries(model.params)) {
    const perm = layoutPerm(shapes[n]);
    const t = perm ? tf.transpose(v, perm) : v;
    out[n] = { data: t.dataSync() as Float32Array, shape: shapes[n] };
    if (t !== v) t.dispose();
  }
  return out;
}

/** Float32 copies of variables (our layout). */
export function paramsToArrays(params: Record<string, tf.Variable | tf.Tensor>): Record<string, { data: Float32Array; shape: number[] }> {
  const out: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [n, v] of Object.entries(params)) out[n] = { data: v.dataSync() as Float32Array, shape: v.shape };
  return out;
}

export function disposeHubert(model: HubertModel): void {
  for (const v of Object.values(model.params)) v.dispose();
}

export interface HubertForwardOptions {
  /** [B, L] 1 for real samples, 0 for padding; turned into a frame mask. (transformers advises
   * against it for group-norm models such as base: the conv statistics then see the padding.) */
  attentionMask?: tf.Tensor2D;
  /** Frame lengths per example, instead of `attentionMask` (frames >= length are padding). */
  frameLengths?: number[];
  /** [B, T] 1 where the projected features are replaced by `masked_spec_embed` (masked prediction). */
  maskTimeIndices?: tf.Tensor2D;
  /** Keep every hidden state (default false). */
  outputHiddenStates?: boolean;
  /** Stop after this many encoder layers (e.g. 9 for layer-9 embeddings); skips the rest. */
  upToLayer?: number;
  /** Apply the config's dropout rates. */
  training?: boolean;
  /** Seed of the dropout masks (vary it per step: deriveSeed(runSeed, step)). */
  seed?: number;
}

export interface HubertOutput {
  /** Conv feature-encoder output [B, T, convDim[-1]]. */
  extractFeatures: tf.Tensor3D;
  /** Output of the last computed layer (after the final layer norm for pre-LN models that ran every layer). */
  lastHiddenState: tf.Tensor3D;
  /** hidden_states[0..N] when outputHiddenStates. */
  hiddenStates?: tf.Tensor3D[];
  /** [B, T] 1 for real frames, 0 for padding (all ones without a mask). */
  frameMask: tf.Tensor2D;
}

function drop<T extends tf.Tensor>(x: T, rate: number, training: boolean, seed: number): T {
  return training ? dropout(x, rate, seed) : x;
}

/** The conv feature encoder: [B, L] audio -> [B, T, C]. */
export function hubertFeatureEncoder(model: HubertModel, audio: tf.Tensor2D): tf.Tensor3D {
  const { config: c, params: p } = model;
  return tf.tidy(() => {
    let x: tf.Tensor3D = tf.expandDims(audio, 2) as tf.Tensor3D;
    c.convDim.forEach((_, i) => {
      const pre = `feature_extractor.conv_layers.${i}`;
      x = stridedConv1d(x, p[`${pre}.conv.weight`], c.convStride[i], c.convBias ? p[`${pre}.conv.bias`] : undefined);
      if (c.featExtractNorm === 'layer') x = layerNorm(x, p[`${pre}.layer_norm.weight`], p[`${pre}.layer_norm.bias`], 1e-5);
      else if (i === 0) x = channelGroupNorm(x, p[`${pre}.layer_norm.weight`], p[`${pre}.layer_norm.bias`], 1e-5);
      x = gelu(x);
    });
    return x;
  });
}

/** The weight-normed grouped positional convolution (SamePad + GELU), [B, T, H] -> [B, T, H]. */
export function hubertPositionalConv(model: HubertModel, x: tf.Tensor3D): tf.Tensor3D {
  const { config: c, params: p } = model;
  return tf.tidy(() => {
    const k = c.numConvPosEmbeddings;
    const w = weightNorm(p[`${POS}.weight_g`], p[`${POS}.weight_v`], 0); // torch weight_norm(dim=2) = our kernel axis 0
    let y = conv1d(x, w as tf.Tensor3D, p[`${POS}.bias`], { groups: c.numConvPosEmbeddingGroups, padding: Math.floor(k / 2) });
    if (k % 2 === 0) y = tf.slice(y, [0, 0, 0], [y.shape[0], y.shape[1] - 1, y.shape[2]]);
    return gelu(y);
  });
}

function encoderLayer(model: HubertModel, l: number, x: tf.Tensor3D, keyMask: tf.Tensor2D | undefined, training: boolean, seed: number): tf.Tensor3D {
  const { config: c, params: p } = model;
  const pre = `encoder.layers.${l}`;
  const a = `${pre}.attention`;
  const eps = c.layerNormEps;
  const proj = (n: string) => ({ w: p[`${a}.${n}.weight`], b: p[`${a}.${n}.bias`] });
  const attention = (y: tf.Tensor3D): tf.Tensor3D => multiHeadAttention(y, { q: proj('q_proj'), k: proj('k_proj'), v: proj('v_proj'), o: proj('out_proj') },
    c.numAttentionHeads, { keyMask, dropout: training ? c.attentionDropout : 0, seed: seed + 3 });
  const ff = (y: tf.Tensor3D): tf.Tensor3D => {
    let z = gelu(dense(y, p[`${pre}.feed_forward.intermediate_dense.weight`], p[`${pre}.feed_forward.intermediate_dense.bias`]));
    z = drop(z, c.activationDropout, training, seed + 1);
    z = dense(z, p[`${pre}.feed_forward.output_dense.weight`], p[`${pre}.feed_forward.output_dense.bias`]);
    return drop(z, c.hiddenDropout, training, seed + 2);
  };
  const ln = (y: tf.Tensor3D, n: string): tf.Tensor3D => layerNorm(y, p[`${pre}.${n}.weight`], p[`${pre}.${n}.bias`], eps);
  return tf.tidy(() => {
    if (c.doStableLayerNorm) {
      const h = tf.add(x, drop(attention(ln(x, 'layer_norm')), c.hiddenDropout, training, seed + 4)) as tf.Tensor3D;
      return tf.add(h, ff(ln(h, 'final_layer_norm'))) as tf.Tensor3D;
    }
    const h = ln(tf.add(x, drop(attention(x), c.hiddenDropout, training, seed + 4)) as tf.Tensor3D, 'layer_norm');
    return ln(tf.add(h, ff(h)) as tf.Tensor3D, 'final_layer_norm');
  });
}

/** Forward pass of HubertModel on raw audio [B, L] (fed as-is: normalise before if the checkpoint expects it). */
export function hubertForward(model: HubertModel, audio: tf.Tensor2D, opts: HubertForwardOptions = {}): HubertOutput {
  const { config: c, params: p } = model;
  const training = opts.training ?? false;
  const seed = opts.seed ?? 0;
  const nLayers = Math.min(opts.upToLayer ?? c.numHiddenLayers, c.numHiddenLayers);
  return tf.tidy(() => {
    const [b, l] = audio.shape;
    const frames = hubertFrameCount(c, l);
    if (frames <= 0) throw new EmolabError('models', `audio of ${l} samples is too short for HuBERT (needs at least 400)`);
    const extractFeatures = hubertFeatureEncoder(model, audio);
    let lengths: number[] | undefined = opts.frameLengths;
    if (!lengths && opts.attentionMask) {
      const sums = tf.sum(opts.attentionMask, 1).dataSync();
      lengths = Array.from(sums, (s) => hubertFrameCount(c, Math.round(s)));
    }
    const frameMask = lengths ? lengthMask(lengths, frames) : tf.ones([b, frames]) as tf.Tensor2D;
    let h: tf.Tensor3D = extractFeatures;
    if (c.featProjLayerNorm) h = layerNorm(h, p['feature_projection.layer_norm.weight'], p['feature_projection.layer_norm.bias'], c.layerNormEps);
    h = dense(h, p['feature_projection.projection.weight'], p['feature_projection.projection.bias']);
    h = drop(h, c.featProjDropout, training, deriveSeed(seed, 1000));
    if (opts.maskTimeIndices) {
      const m = tf.expandDims(opts.maskTimeIndices, 2);
      h = tf.add(tf.mul(h, tf.sub(1, m)), tf.mul(m, p.masked_spec_embed)) as tf.Tensor3D;
    }
    const keyMask = lengths ? frameMask : undefined;
    if (keyMask) h = tf.mul(h, tf.expandDims(keyMask, 2)) as tf.Tensor3D;
    h = tf.add(h, hubertPositionalConv(model, h)) as tf.Tensor3D;
    if (!c.doStableLayerNorm) h = layerNorm(h, p['encoder.layer_norm.weight'], p['encoder.layer_norm.bias'], c.layerNormEps);
    h = drop(h, c.hiddenDropout, training, deriveSeed(seed, 1001));
    const hidden: tf.Tensor3D[] = [];
    for (let i = 0; i < nLayers; i++) {
      if (opts.outputHiddenStates) hidden.push(h);
      h = encoderLayer(model, i, h, keyMask, training, deriveSeed(seed, i) * 8);
    }
    if (c.doStableLayerNorm && nLayers === c.numHiddenLayers) h = layerNorm(h, p['encoder.layer_norm.weight'], p['encoder.layer_norm.bias'], c.layerNormEps);
    if (opts.outputHiddenStates) hidden.push(h);
    const out: HubertOutput = { extractFeatures, lastHiddenState: h, frameMask };
    if (opts.outputHiddenStates) out.hiddenStates = hidden;
    return out as unknown as tf.TensorContainer;
  }) as unknown as HubertOutput;
}

/** Every tensor of a forward output. */
export function disposeHubertOutput(o: HubertOutput): void {
  const seen = new Set<tf.Tensor>([o.extractFeatures, o.lastHiddenState, o.frameMask, ...(o.hiddenStates ?? [])]);
  for (const t of seen) t.dispose();
}

/** Number of scalar parameters. */
export function hubertParamCount(c: HubertConfig): number {
  return Object.values(hubertParamShapes(c)).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
}

/** Zero-mean, unit-variance copy of a signal (Wav2Vec2FeatureExtractor's do_normalize, eps 1e-7). */
export function normalizeSignal(x: Float32Array): Float32Array {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= Math.max(1, x.length);
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - mean) ** 2;
  v /= Math.max(1, x.length);
  const s = 1 / Math.sqrt(v + 1e-7);
  return Float32Array.from(x, (y) => (y - mean) * s);
}
