/**
 * Parity of the tfjs HuBERT against a transformers reference folder (config.json, a weights file,
 * input.f32 fed raw, outputs.safetensors with extract_features and hidden_states.i as [T, C]):
 * max absolute difference per tensor. Used by the parity test, notebook 09 and `emolab hubert`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readF32 } from '../audio/decode';
import { EmolabError } from '../errors';
import { readSafetensors } from '../store/safetensors';
import { disposeHubert, disposeHubertOutput, hubertForward, loadHubertWeights } from './hubert';
import { loadHubertConfig } from './hubertConfig';

export interface ParityReport {
  weights: string;
  /** Tensor name -> max |ours - reference|. */
  maxAbsDiff: Record<string, number>;
  /** Forward time, ms (after one untimed call when `warmup`; otherwise including kernel setup). */
  forwardMs: number;
  frames: number;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Run the model of `dir` (weights file `weights`) on `dir/input.f32` and compare with `dir/outputs.safetensors`. */
export function hubertParity(dir: string, weights = 'model.safetensors', opts: { warmup?: boolean } = {}): ParityReport {
  for (const f of ['config.json', weights, 'input.f32', 'outputs.safetensors']) {
    if (!existsSync(join(dir, f))) throw new EmolabError('models', `parity fixture incomplete: ${f} missing`, { file: join(dir, f), hint: 'set EMOLAB_FIXTURES to the folder holding hubert_tiny/' });
  }
  const { model } = loadHubertWeights(loadHubertConfig(dir), join(dir, weights));
  const ref = readSafetensors(join(dir, 'outputs.safetensors')).tensors;
  const signal = readF32(join(dir, 'input.f32'));
  const x = tf.tensor2d(signal, [1, signal.length]);
  if (opts.warmup) disposeHubertOutput(hubertForward(model, x));
  const t0 = performance.now();
  const o = hubertForward(model, x, { outputHiddenStates: true });
  const ours: Record<string, Float32Array> = { extract_features: o.extractFeatures.dataSync() as Float32Array };
  o.hiddenStates!.forEach((h, i) => { ours[`hidden_states.${i}`] = h.dataSync() as Float32Array; });
  ours.last_hidden_state = o.lastHiddenState.dataSync() as Float32Array;
  const forwardMs = performance.now() - t0;
  const diffs: Record<string, number> = {};
  for (const name of Object.keys(ref)) diffs[name] = name in ours ? maxAbsDiff(ours[name], ref[name].data as Float32Array) : Infinity;
  const frames = o.extractFeatures.shape[1];
  disposeHubertOutput(o);
  disposeHubert(model);
  x.dispose();
  return { weights, maxAbsDiff: diffs, forwardMs, frames };
}
