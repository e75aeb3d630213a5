/**
 * Checkpoints as safetensors: model weights (`param/<name>`), optimizer moments
 * (`adam.m/<name>`, `adam.v/<name>`), and in the metadata the format, the model config, the step
 * and the full training state (epoch, position in the epoch, history, best metric, patience,
 * seed — all randomness is derived from (seed, step), so the seed is the RNG state). Written
 * atomically (lib/store writeSafetensors: temp file + rename), so a kill never leaves a half file.
 * Files load in Python with safetensors.numpy.load_file.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { readSafetensors, writeSafetensors, type TensorInput } from '../store/safetensors';
import { createModel, type ModelConfig, type SpeechModel } from '../models/heads';
import type { Params } from '../models/layers';
import type { AdamW } from './adamw';
import { EmolabError } from '../errors';

export const CHECKPOINT_FORMAT = 'emolab-checkpoint/1';

export interface CheckpointContents {
  params: Record<string, { data: Float32Array; shape: number[] }>;
  optimizer: Record<string, { data: Float32Array; shape: number[] }>;
  config: ModelConfig;
  step: number;
  /** Trainer state (JSON). */
  state?: unknown;
  metadata: Record<string, string>;
}

function toInput(t: tf.Tensor): TensorInput {
  return { data: t.dataSync() as Float32Array, shape: t.shape, dtype: 'F32' };
}

/** Write weights (+ optimizer + state) to `file` atomically. */
export function saveCheckpoint(file: string, model: SpeechModel, opts: { optimizer?: AdamW; step?: number; state?: unknown; extra?: Record<string, string> } = {}): void {
  const tensors: Record<string, TensorInput> = {};
  for (const name of Object.keys(model.params).sort()) tensors[`param/${name}`] = toInput(model.params[name]);
  if (opts.optimizer) {
    const st = opts.optimizer.state();
    for (const name of Object.keys(st).sort()) tensors[name] = toInput(st[name]);
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    step: String(opts.step ?? opts.optimizer?.step ?? 0),
    ...(opts.state !== undefined ? { state: JSON.stringify(opts.state) } : {}),
    ...(opts.extra ?? {}),
  };
  writeSafetensors(file, tensors, metadata);
}

/** Read a checkpoint written by saveCheckpoint. */
export function readCheckpoint(file: string): CheckpointContents {
  if (!existsSync(file)) throw new EmolabError('train', 'checkpoint not found', { file });
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new EmolabError('train', `not an emolab checkpoint (format "${metadata.format ?? 'missing'}", expected ${CHECKPOINT_FORMAT})`, { file });
  }
  const params: CheckpointContents['params'] = {};
  const optimizer: CheckpointContents['optimizer'] = {};
  for (const [name, t] of Object.entries(tensors)) {
    const entry = { data: t.data as Float32Array, shape: t.shape };
    if (name.startsWith('param/')) params[name.slice(6)] = entry;
    else if (name.startsWith('adam.')) optimizer[name] = entry;
  }
  let config: ModelConfig;
  let state: unknown;
  try {
    config = JSON.parse(metadata.config) as ModelConfig;
    state = metadata.state ? JSON.parse(metadata.state) : undefined;
  } catch (e) {
    throw new EmolabError('train', `checkpoint metadata is not valid JSON: ${(e as Error).message}`, { file });
  }
  return { params, optimizer, config, step: Number(metadata.step), state, metadata };
}

/**
 * Copy checkpoint weights into `params` (by name). With `strict`, every parameter must be present;
 * otherwise parameters missing from the checkpoint keep their values (e.g. a new SER head).
 * Returns the names loaded.
 */
export function loadParams(params: Params, values: CheckpointContents['params'], opts: { strict?: boolean; file?: string; prefix?: string } = {}): string[] {
  const loaded: string[] = [];
  for (const [name, v] of Object.entries(params)) {
    if (opts.prefix && !name.startsWith(opts.prefix)) continue;
    const e = values[name];
    if (!e) {
      if (opts.strict) throw new EmolabError('train', `checkpoint has no weight "${name}"`, { file: opts.file });
      continue;
    }
    if (e.shape.join(',') !== v.shape.join(',')) {
      throw new EmolabError('train', `weight "${name}" has shape [${e.shape}] in the checkpoint, the model needs [${v.shape}]`, { file: opts.file });
    }
    tf.tidy(() => v.assign(tf.tensor(e.data, e.shape, 'float32')));
    loaded.push(name);
  }
  return loaded;
}

/** Build the model a checkpoint describes and load its weights. */
export function loadModel(file: string, seed = 0): SpeechModel {
  const ck = readCheckpoint(file);
  const model = createModel(ck.config, seed);
  loadParams(model.params, ck.params, { strict: true, file });
  return model;
}
