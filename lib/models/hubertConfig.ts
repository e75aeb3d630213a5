/**
 * HuBERT configuration, read from a transformers-style `config.json` (the file
 * `facebook/hubert-base-ls960` ships, or any `HubertConfig.save_pretrained` output), plus the two
 * configurations this project builds itself: `hubertBaseConfig()` (the released base model's
 * shape, for random-weight timing and for fine-tuning a fetched checkpoint) and `hubertTinyConfig()`
 * (small enough to pretrain from scratch on 2 CPU cores in the ci profile).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EmolabError } from '../errors';

export interface HubertConfig {
  /** Output channels of each feature-encoder convolution (7 for every released model). */
  convDim: number[];
  convKernel: number[];
  convStride: number[];
  convBias: boolean;
  /** 'group': GroupNorm (one group per channel) after the first conv only (base); 'layer': LayerNorm after every conv (large). */
  featExtractNorm: 'group' | 'layer';
  featProjLayerNorm: boolean;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  layerNormEps: number;
  numConvPosEmbeddings: number;
  numConvPosEmbeddingGroups: number;
  convPosBatchNorm: boolean;
  /** false: post-LN encoder (base); true: pre-LN encoder with a final layer norm (large). */
  doStableLayerNorm: boolean;
  /** Dropout rates used when a forward pass runs with `training: true`. */
  hiddenDropout: number;
  attentionDropout: number;
  activationDropout: number;
  featProjDropout: number;
}

type Json = Record<string, unknown>;

function num(j: Json, key: string, file: string, fallback?: number): number {
  const v = j[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new EmolabError('models', `config key "${key}" must be a number, got ${JSON.stringify(j[key])}`, { file });
  return v;
}

function bool(j: Json, key: string, file: string, fallback: boolean): boolean {
  const v = j[key] ?? fallback;
  if (typeof v !== 'boolean') throw new EmolabError('models', `config key "${key}" must be true/false, got ${JSON.stringify(j[key])}`, { file });
  return v;
}

function intList(j: Json, key: string, file: string): number[] {
  const v = j[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x > 0)) {
    throw new EmolabError('models', `config key "${key}" must be a list of positive integers`, { file });
  }
  return v as number[];
}

/** Parse a transformers HubertConfig JSON object. Pure; `file` only names the source in errors. */
export function parseHubertConfig(j: Json, file = '<config>'): HubertConfig {
  const act = [j.feat_extract_activation ?? 'gelu', j.hidden_act ?? 'gelu'];
  if (act.some((a) => a !== 'gelu')) throw new EmolabError('models', `only gelu activations are implemented, got ${JSON.stringify(act)}`, { file });
  const norm = j.feat_extract_norm ?? 'group';
  if (norm !== 'group' && norm !== 'layer') throw new EmolabError('models', `feat_extract_norm must be "group" or "layer", got ${JSON.stringify(norm)}`, { file });
  const cfg: HubertConfig = {
    convDim: intList(j, 'conv_dim', file),
    convKernel: intList(j, 'conv_kernel', file),
    convStride: intList(j, 'conv_stride', file),
    convBias: bool(j, 'conv_bias', file, false),
    featExtractNorm: norm,
    featProjLayerNorm: bool(j, 'feat_proj_layer_norm', file, true),
    hiddenSize: num(j, 'hidden_size', file),
    numHiddenLayers: num(j, 'num_hidden_layers', file),
    numAttentionHeads: num(j, 'num_attention_heads', file),
    intermediateSize: num(j, 'intermediate_size', file),
    layerNormEps: num(j, 'layer_norm_eps', file, 1e-5),
    numConvPosEmbeddings: num(j, 'num_conv_pos_embeddings', file, 128),
    numConvPosEmbeddingGroups: num(j, 'num_conv_pos_embedding_groups', file, 16),
    convPosBatchNorm: bool(j, 'conv_pos_batch_norm', file, false),
    doStableLayerNorm: bool(j, 'do_stable_layer_norm', file, false),
    hiddenDropout: num(j, 'hidden_dropout', file, 0.1),
    attentionDropout: num(j, 'attention_dropout', file, 0.1),
    activationDropout: num(j, 'activation_dropout', file, 0.1),
    featProjDropout: num(j, 'feat_proj_dropout', file, 0.0),
  };
  validateHubertConfig(cfg, file);
  return cfg;
}

export function validateHubertConfig(c: HubertConfig, file = '<config>'): void {
  const bad = (m: string): never => { throw new EmolabError('models', `bad HuBERT config: ${m}`, { file }); };
  const sizes = { hidden_size: c.hiddenSize, num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads, intermediate_size: c.intermediateSize, num_conv_pos_embeddings: c.numConvPosEmbeddings, num_conv_pos_embedding_groups: c.numConvPosEmbeddingGroups };
  for (const [k, v] of Object.entries(sizes)) if (!(Number.isInteger(v) && v > 0)) bad(`${k} must be a positive integer, got ${v}`);
  if (c.convDim.length !== c.convKernel.length || c.convDim.length !== c.convStride.length) bad('conv_dim, conv_kernel and conv_stride must have the same length');
  if (c.hiddenSize % c.numAttentionHeads !== 0) bad(`hidden_size ${c.hiddenSize} is not divisible by num_attention_heads ${c.numAttentionHeads}`);
  if (c.hiddenSize % c.numConvPosEmbeddingGroups !== 0) bad(`hidden_size ${c.hiddenSize} is not divisible by num_conv_pos_embedding_groups ${c.numConvPosEmbeddingGroups}`);
  if (c.convPosBatchNorm) bad('conv_pos_batch_norm=true is not implemented (no released HuBERT checkpoint uses it)');
}

/** The transformers JSON for a config (so a trained model directory loads in transformers too). */
export function hubertConfigJson(c: HubertConfig): Json {
  return {
    architectures: ['HubertModel'], model_type: 'hubert',
    conv_dim: c.convDim, conv_kernel: c.convKernel, conv_stride: c.convStride, conv_bias: c.convBias,
    feat_extract_norm: c.featExtractNorm, feat_extract_activation: 'gelu', feat_proj_layer_norm: c.featProjLayerNorm,
    num_feat_extract_layers: c.convDim.length,
    hidden_size: c.hiddenSize, num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize, hidden_act: 'gelu', layer_norm_eps: c.layerNormEps,
    num_conv_pos_embeddings: c.numConvPosEmbeddings, num_conv_pos_embedding_groups: c.numConvPosEmbeddingGroups,
    conv_pos_batch_norm: c.convPosBatchNorm, do_stable_layer_norm: c.doStableLayerNorm,
    hidden_dropout: c.hiddenDropout, attention_dropout: c.attentionDropout, activation_dropout: c.activationDropout,
    feat_proj_dropout: c.featProjDropout,
  };
}

/** Read `<dir>/config.json` (or a config file path). */
export function loadHubertConfig(dirOrFile: string): HubertConfig {
  const file = existsSync(dirOrFile) && statSync(dirOrFile).isDirectory() ? join(dirOrFile, 'config.json') : dirOrFile;
  if (!existsSync(file)) throw new EmolabError('models', 'HuBERT config.json not found', { file, hint: 'pass the model folder holding config.json and model.safetensors' });
  let j: unknown;
  try { j = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new EmolabError('models', `config.json is not JSON (${(e as Error).message})`, { file }); }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new EmolabError('models', 'config.json must hold a JSON object', { file });
  return parseHubertConfig(j as Json, file);
}

const BASE_CONV = { convDim: [512, 512, 512, 512, 512, 512, 512], convKernel: [10, 3, 3, 3, 3, 2, 2], convStride: [5, 2, 2, 2, 2, 2, 2] };

/** facebook/hubert-base-ls960: 12 post-LN layers, hidden 768, 94.4 M parameters, 20 ms frames. */
export function hubertBaseConfig(): HubertConfig {
  return {
    ...BASE_CONV, convBias: false, featExtractNorm: 'group', featProjLayerNorm: true,
    hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, intermediateSize: 3072, layerNormEps: 1e-5,
    numConvPosEmbeddings: 128, numConvPosEmbeddingGroups: 16, convPosBatchNorm: false, doStableLayerNorm: false,
    hiddenDropout: 0.1, attentionDropout: 0.1, activationDropout: 0.0, featProjDropout: 0.0,
  };
}

/**
 * A HuBERT-shaped model small enough to pretrain from scratch on CPU: the base model's conv strides
 * (same 20 ms frame rate, 400-sample receptive field), 32 conv channels, 4 post-LN layers of width 64.
 */
export function hubertTinyConfig(): HubertConfig {
  return {
    convDim: [32, 32, 32, 32, 32, 32, 32], convKernel: BASE_CONV.convKernel, convStride: BASE_CONV.convStride,
    convBias: false, featExtractNorm: 'group', featProjLayerNorm: true,
    hiddenSize: 64, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 128, layerNormEps: 1e-5,
    numConvPosEmbeddings: 16, numConvPosEmbeddingGroups: 4, convPosBatchNorm: false, doStableLayerNorm: false,
    hiddenDropout: 0.1, attentionDropout: 0.1, activationDropout: 0.0, featProjDropout: 0.0,
  };
}

/** Number of feature frames the conv encoder makes from `samples` input samples (0 when too short). */
export function hubertFrameCount(c: HubertConfig, samples: number): number {
  let n = samples;
  for (let i = 0; i < c.convKernel.length; i++) {
    n = Math.floor((n - c.convKernel[i]) / c.convStride[i]) + 1;
    if (n <= 0) return 0;
  }
  return n;
}

/** Samples between two frames (320 for every released HuBERT: 20 ms at 16 kHz). */
export function hubertHop(c: HubertConfig): number {
  return c.convStride.reduce((a, b) => a * b, 1);
}
