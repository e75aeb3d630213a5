/**
 * The speech encoder of the pretext experiments: a convolutional front-end over log-mel frames
 * followed by a small pre-LN Transformer, in plain tfjs ops (./layers) with explicit variables.
 *
 *   fbank [B, T, 80] --(conv1d k, stride s, layer norm, GELU) x N--> [B, T/S, C]
 *     --dense--> [B, T', d] + sinusoidal positions
 *     --(x + MHA(LN x), x + FF(LN x)) x L--> LN --> hidden [B, T', d]
 *
 * Padding: frames at or beyond a clip's length are zeroed before every convolution and masked as
 * attention keys, and the conv's left padding does not depend on the batch length, so a clip's
 * valid outputs are the same whatever it is batched with (tested). Sizes live in one config
 * object; `ENCODER_PRESETS.tiny` is for CI and tests, `base` for full runs.
 */
import * as tf from '@tensorflow/tfjs';
import {
  ParamFactory, applyDense, applyLayerNorm, conv1d, conv1dOutputLength, dropout, gelu, lengthMask, multiHeadAttention,
  sinusoidalPositions, type AttentionWeights, type Conv1dWeights, type DenseWeights, type LayerNormWeights, type Params,
} from './layers';
import { deriveSeed } from '../random';
import { EmolabError } from '../errors';

export interface EncoderConfig {
  /** Feature channels per input frame (80 log-mel bins). */
  inputDim: number;
  /** Output channels of each conv layer. */
  convChannels: number[];
  /** Kernel size (frames) of every conv layer. */
  convKernel: number;
  /** Time stride of each conv layer (product = subsampling factor). */
  convStrides: number[];
  /** Transformer width. */
  dModel: number;
  numLayers: number;
  numHeads: number;
  /** Hidden size of the feed-forward blocks. */
  ffDim: number;
  /** Dropout after attention/feed-forward and on the input of the Transformer (training only). */
  dropout: number;
}

export type EncoderPreset = 'tiny' | 'small' | 'base';

export const ENCODER_PRESETS: Record<EncoderPreset, EncoderConfig> = {
  /** CI and tests: ~30 k parameters. */
  tiny: { inputDim: 80, convChannels: [32], convKernel: 5, convStrides: [2], dModel: 32, numLayers: 2, numHeads: 2, ffDim: 64, dropout: 0 },
  /** A middle size for quick full-profile runs on CPU. */
  small: { inputDim: 80, convChannels: [128, 128], convKernel: 5, convStrides: [1, 2], dModel: 128, numLayers: 3, numHeads: 4, ffDim: 256, dropout: 0.1 },
  /** Full runs: 2 conv layers (256 ch, 20 ms output rate), 4 Transformer layers of width 256. */
  base: { inputDim: 80, convChannels: [256, 256], convKernel: 5, convStrides: [1, 2], dModel: 256, numLayers: 4, numHeads: 4, ffDim: 1024, dropout: 0.1 },
};

/** A preset by name, with overrides; refuses unknown names and inconsistent sizes. */
export function encoderConfig(preset: EncoderPreset | string = 'tiny', overrides: Partial<EncoderConfig> = {}): EncoderConfig {
  const base = ENCODER_PRESETS[preset as EncoderPreset];
  if (!base) throw new EmolabError('models', `unknown encoder preset "${preset}"`, { hint: `use one of ${Object.keys(ENCODER_PRESETS).join(', ')}` });
  const cfg = { ...base, ...overrides };
  validateEncoderConfig(cfg);
  return cfg;
}

export function validateEncoderConfig(cfg: EncoderConfig): void {
  const bad = (m: string): never => { throw new EmolabError('models', `encoder config: ${m}`); };
  if (cfg.convChannels.length !== cfg.convStrides.length) bad('convChannels and convStrides must have the same length');
  if (cfg.dModel % cfg.numHeads !== 0) bad(`dModel ${cfg.dModel} is not divisible by numHeads ${cfg.numHeads}`);
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) bad(`${k} must be a non-negative number, got ${v}`);
  }
  if (!(cfg.dropout < 1)) bad('dropout must be < 1');
}

/** Frames in = frames out x this factor. */
export function subsampling(cfg: EncoderConfig): number {
  return cfg.convStrides.reduce((a, b) => a * b, 1);
}

/** Encoder frame count for an input of `frames` frames. */
export function encodedLength(cfg: EncoderConfig, frames: number): number {
  let t = frames;
  for (const s of cfg.convStrides) t = conv1dOutputLength(t, cfg.convKernel, { stride: s });
  return t;
}

interface ConvBlock { conv: Conv1dWeights; ln: LayerNormWeights }
interface TransformerBlock { ln1: LayerNormWeights; att: AttentionWeights; ln2: LayerNormWeights; ff1: DenseWeights; ff2: DenseWeights }

export interface Encoder {
  config: EncoderConfig;
  /** All variables, keyed by stable checkpoint names (`encoder.*`). */
  params: Params;
  conv: ConvBlock[];
  proj: DenseWeights;
  blocks: TransformerBlock[];
  lnOut: LayerNormWeights;
}

/** Create an encoder with seeded initial weights, its variables named under `scope`. */
export function createEncoder(config: EncoderConfig, seed: number, factory = new ParamFactory(deriveSeed(seed, 1)), scope = 'encoder'): Encoder {
  validateEncoderConfig(config);
  const f = factory.scope(scope);
  const conv: ConvBlock[] = [];
  let cin = config.inputDim;
  config.convChannels.forEach((cout, i) => {
    conv.push({ conv: f.conv1d(`conv${i}`, config.convKernel, cin, cout), ln: f.layerNorm(`conv${i}.ln`, cout) });
    cin = cout;
  });
  const proj = f.dense('proj', cin, config.dModel);
  const blocks: TransformerBlock[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    blocks.push({
      ln1: f.layerNorm(`layer${i}.ln1`, config.dModel),
      att: f.attention(`layer${i}.att`, config.dModel),
      ln2: f.layerNorm(`layer${i}.ln2`, config.dModel),
      ff1: f.dense(`layer${i}.ff1`, config.dModel, config.ffDim),
      ff2: f.dense(`layer${i}.ff2`, config.ffDim, config.dModel),
    });
  }
  const lnOut = f.layerNorm('ln_out', config.dModel);
  const params: Params = Object.fromEntries(Object.entries(factory.params).filter(([k]) => k.startsWith(scope + '.')));
  return { config, params, conv, proj, blocks, lnOut };
}

export interface EncodeOptions {
  /** Apply dropout (training). */
  training?: boolean;
  /** Seed of this forward pass's dropout masks (derive it from (seed, step)). */
  seed?: number;
  /** Also return the output of every Transformer layer (for probing / clustering). */
  hiddenStates?: boolean;
}

export interface Encoded {
  /** [B, T', dModel], zero at padded frames. */
  hidden: tf.Tensor3D;
  /** [B, T'] 1 = valid frame. */
  mask: tf.Tensor2D;
  /** Valid encoder frames per clip. */
  lengths: number[];
  /** Inputs of each Transformer layer and the final output, when asked for. */
  hiddenStates?: tf.Tensor3D[];
}

/**
 * Encode a padded batch x [B, T, inputDim] whose clip i has `lengths[i]` valid frames.
 * Call inside tf.tidy (or dispose the returned tensors).
 */
export function encode(enc: Encoder, x: tf.Tensor3D, lengths: number[], opts: EncodeOptions = {}): Encoded {
  const cfg = enc.config;
  if (x.shape[2] !== cfg.inputDim) throw new EmolabError('models', `encoder expects ${cfg.inputDim} features per frame, got ${x.shape[2]}`);
  if (lengths.length !== x.shape[0]) throw new EmolabError('models', `encoder got ${x.shape[0]} clips but ${lengths.length} lengths`);
  const rate = opts.training ? cfg.dropout : 0;
  const seed = opts.seed ?? 0;
  let lens = lengths.slice();
  let mask = lengthMask(lens, x.shape[1]);
  let h: tf.Tensor3D = tf.mul(x, mask.expandDims(2));
  enc.conv.forEach((blk, i) => {
    const stride = cfg.convStrides[i];
    h = conv1d(h, blk.conv.w, blk.conv.b, { stride });
    lens = lens.map((l) => conv1dOutputLength(l, cfg.convKernel, { stride }));
    mask = lengthMask(lens, h.shape[1]);
    h = tf.mul(gelu(applyLayerNorm(h, blk.ln)), mask.expandDims(2));
  });
  const [b, t] = h.shape;
  h = applyDense(h, enc.proj);
  h = tf.add(h, sinusoidalPositions(t, cfg.dModel).expandDims(0));
  h = dropout(h, rate, deriveSeed(seed, 0));
  const states: tf.Tensor3D[] = [];
  enc.blocks.forEach((blk, i) => {
    if (opts.hiddenStates) states.push(tf.mul(h, mask.expandDims(2)));
    const a = multiHeadAttention(applyLayerNorm(h, blk.ln1), blk.att, cfg.numHeads, { keyMask: mask });
    h = tf.add(h, dropout(a, rate, deriveSeed(seed, i + 1, 1)));
    const ff = applyDense(gelu(applyDense(applyLayerNorm(h, blk.ln2), blk.ff1)), blk.ff2);
    h = tf.add(h, dropout(ff, rate, deriveSeed(seed, i + 1, 2)));
  });
  h = tf.mul(applyLayerNorm(h, enc.lnOut), mask.expandDims(2));
  if (opts.hiddenStates) states.push(h);
  void b;
  return { hidden: h, mask, lengths: lens, hiddenStates: opts.hiddenStates ? states : undefined };
}
