/**
 * Output heads on top of the speech encoder, and the model that bundles an encoder with heads.
 *
 * - `segment`: binary, one logit per segment (pretext tasks 1 and 2): encoder frames inside the
 *   segment's frame span are mean-pooled (`poolSpans`), then a linear layer gives the logit.
 *   Segment spans are given on the input (10 ms) frame grid and mapped to encoder frames.
 * - `utterance`: multi-class, one distribution per clip (pretext task 3; SER): masked mean
 *   pooling or soft attention pooling (`pooling: 'attention'`, Li et al.'s / the SER head) over
 *   valid frames, then a linear layer.
 * - `frame`: multi-class per encoder frame (k-means cluster targets of Li et al.).
 *
 * Each head's initial weights come from their own seed stream (seed, head name), so adding or
 * changing one head never changes another's initialisation, nor the encoder's.
 */
import * as tf from '@tensorflow/tfjs';
import {
  ParamFactory, applyDense, attentionPool, maskedMeanPool, poolSpans,
  type AttentionPoolWeights, type DenseWeights, type FrameSpan, type Params,
} from './layers';
import { createEncoder, encode, subsampling, type EncodeOptions, type Encoded, type Encoder, type EncoderConfig } from './encoder';
import { deriveSeed } from '../random';
import { EmolabError } from '../errors';

export type HeadSpec =
  | { kind: 'segment'; name: string }
  | { kind: 'utterance'; name: string; classes: number; pooling?: 'mean' | 'attention'; attentionDim?: number }
  | { kind: 'frame'; name: string; classes: number };

export interface Head {
  spec: HeadSpec;
  out: DenseWeights;
  pool?: AttentionPoolWeights;
}

export interface ModelConfig {
  encoder: EncoderConfig;
  heads: HeadSpec[];
}

export interface SpeechModel {
  config: ModelConfig;
  encoder: Encoder;
  heads: Record<string, Head>;
  /** Every variable: `encoder.*` and `head.<name>.*`. */
  params: Params;
}

/** A stable 32-bit hash of a string (FNV-1a), for per-head seed streams. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** Create one head's weights (under `head.<name>.*`) for an encoder of width `dModel`. */
export function createHead(spec: HeadSpec, dModel: number, seed: number): { head: Head; params: Params } {
  if (!/^[A-Za-z0-9_-]+$/.test(spec.name)) throw new EmolabError('models', `head name "${spec.name}" must use letters, digits, "_" or "-"`);
  const f = new ParamFactory(deriveSeed(seed, 2, hashString(spec.name))).scope(`head.${spec.name}`);
  let head: Head;
  if (spec.kind === 'segment') head = { spec, out: f.dense('out', dModel, 1) };
  else if (spec.kind === 'frame') head = { spec, out: f.dense('out', dModel, spec.classes) };
  else {
    const pool = spec.pooling === 'attention'
      ? { hidden: f.dense('att.hidden', dModel, spec.attentionDim ?? dModel), score: f.dense('att.score', spec.attentionDim ?? dModel, 1, false) }
      : undefined;
    head = { spec, pool, out: f.dense('out', dModel, spec.classes) };
  }
  return { head, params: f.params };
}

/** An encoder plus heads, all seeded from `seed`. */
export function createModel(config: ModelConfig, seed: number): SpeechModel {
  const names = new Set<string>();
  for (const h of config.heads) {
    if (names.has(h.name)) throw new EmolabError('models', `two heads are named "${h.name}"`);
    names.add(h.name);
  }
  const encoder = createEncoder(config.encoder, seed);
  const heads: Record<string, Head> = {};
  const params: Params = { ...encoder.params };
  for (const spec of config.heads) {
    const { head, params: p } = createHead(spec, config.encoder.dModel, seed);
    heads[spec.name] = head;
    Object.assign(params, p);
  }
  return { config, encoder, heads, params };
}

/** Add a head to an existing model (e.g. an SER head on a pretrained encoder). */
export function addHead(model: SpeechModel, spec: HeadSpec, seed: number): SpeechModel {
  if (model.heads[spec.name]) throw new EmolabError('models', `the model already has a head "${spec.name}"`);
  const { head, params } = createHead(spec, model.config.encoder.dModel, seed);
  return {
    config: { ...model.config, heads: [...model.config.heads, spec] },
    encoder: model.encoder,
    heads: { ...model.heads, [spec.name]: head },
    params: { ...model.params, ...params },
  };
}

/** A segment of one clip of the batch on the input frame grid, [start, end) in 10 ms frames. */
export interface SegmentRef { row: number; start: number; end: number }

/** Map input-frame segments to encoder-frame spans (at least one frame, inside the clip). */
export function segmentSpans(segments: SegmentRef[], factor: number, encLengths: number[]): FrameSpan[] {
  return segments.map((s) => {
    const len = encLengths[s.row];
    const start = Math.min(Math.floor(s.start / factor), Math.max(0, len - 1));
    const end = Math.min(len, Math.max(start + 1, Math.ceil(s.end / factor)));
    return { row: s.row, start, end };
  });
}

export interface HeadInputs {
  /** Segments for `segment` heads, keyed by head name. */
  segments?: Record<string, SegmentRef[]>;
}

export interface HeadOutput {
  /** segment: [S]; utterance: [B, C]; frame: [B, T', C]. */
  logits: tf.Tensor;
  /** utterance heads: the pooled embedding [B, D]; attention heads also their weights [B, T']. */
  pooled?: tf.Tensor2D;
  attention?: tf.Tensor2D;
}

/** Apply one head to encoder output. */
export function applyHead(model: SpeechModel, head: Head, enc: Encoded, inputs: HeadInputs = {}): HeadOutput {
  const spec = head.spec;
  if (spec.kind === 'segment') {
    const segs = inputs.segments?.[spec.name] ?? [];
    if (segs.length === 0) return { logits: tf.zeros([0]) };
    const spans = segmentSpans(segs, subsampling(model.config.encoder), enc.lengths);
    const pooled = poolSpans(enc.hidden, spans);
    return { logits: applyDense(pooled, head.out).reshape([segs.length]), pooled };
  }
  if (spec.kind === 'frame') return { logits: applyDense(enc.hidden, head.out) };
  if (head.pool) {
    const { pooled, weights } = attentionPool(enc.hidden, enc.mask, head.pool);
    return { logits: applyDense(pooled, head.out), pooled, attention: weights };
  }
  const pooled = maskedMeanPool(enc.hidden, enc.mask);
  return { logits: applyDense(pooled, head.out), pooled };
}

/** Encode a batch and apply every head (or the named ones). Call inside tf.tidy. */
export function forward(
  model: SpeechModel, x: tf.Tensor3D, lengths: number[], inputs: HeadInputs = {}, opts: EncodeOptions & { heads?: string[] } = {},
): { encoded: Encoded; outputs: Record<string, HeadOutput> } {
  const encoded = encode(model.encoder, x, lengths, opts);
  const outputs: Record<string, HeadOutput> = {};
  for (const name of opts.heads ?? Object.keys(model.heads)) {
    const head = model.heads[name];
    if (!head) throw new EmolabError('models', `the model has no head "${name}"`);
    outputs[name] = applyHead(model, head, encoded, inputs);
  }
  return { encoded, outputs };
}
