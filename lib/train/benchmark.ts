/**
 * Training-step timing on synthetic input (for reports, not tests): one encoder preset with a
 * segment head, `batch` clips of `frames` frames, `steps` timed steps after `warmup` untimed ones.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../models/heads';
import { countParams, disposeParams } from '../models/layers';
import { encoderConfig, type EncoderPreset } from '../models/encoder';
import { Rng } from '../random';
import { AdamW, clipByGlobalNorm } from './adamw';
import { makeBatch, type Example } from './batches';
import { batchLoss } from './losses';
import { forward } from '../models/heads';

export interface StepTiming {
  preset: string; backend: string; batch: number; frames: number; params: number;
  /** Wall-clock ms per training step (forward + backward + clip + AdamW). */
  msPerStep: number;
  /** CPU ms this process used per step: on a shared, loaded machine this is the better estimate of the unloaded wall time (all backends here are single-threaded). */
  cpuMsPerStep: number;
  forwardMs: number;
}

export function benchmarkTrainStep(preset: EncoderPreset, batch = 8, frames = 300, steps = 3, warmup = 1): StepTiming {
  const rng = new Rng(1);
  const examples: Example[] = Array.from({ length: batch }, (_, i) => {
    const f = new Float32Array(frames * 80).map(() => rng.normal());
    const segs = Array.from({ length: Math.floor(frames / 50) - 1 }, (_, k) => ({ start: k * 50, end: k * 50 + 100, label: rng.int(2) }));
    return { id: `b${i}`, speaker: 's', features: f, frames, dim: 80, segments: { energy: segs } };
  });
  const model = createModel({ encoder: encoderConfig(preset), heads: [{ kind: 'segment', name: 'energy' }] }, 1);
  const opt = new AdamW(model.params);
  const names = new Map(Object.entries(model.params).map(([k, v]) => [v.name, k]));
  const b = makeBatch(examples);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const { encoded, outputs } = forward(model, b.x, b.lengths, { segments: b.segments }, { training: true, seed: 1 });
      return batchLoss(model, b, outputs, encoded.lengths, encoded.hidden.shape[1]).total;
    }, Object.values(model.params));
    const named = Object.fromEntries(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
    const c = clipByGlobalNorm(named, 1);
    opt.apply(c.grads, 1e-4);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads), ...Object.values(c.grads)]);
  };
  for (let i = 0; i < warmup; i++) step();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) step();
  const msPerStep = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(c0);
  const cpuMsPerStep = (cpu.user + cpu.system) / 1000 / steps;
  const t1 = performance.now();
  tf.tidy(() => { forward(model, b.x, b.lengths, { segments: b.segments }).outputs.energy.logits.dataSync(); });
  const forwardMs = performance.now() - t1;
  const params = countParams(model.params);
  b.x.dispose(); opt.dispose(); disposeParams(model.params);
  return { preset, backend: tf.getBackend(), batch, frames, params, msPerStep, cpuMsPerStep, forwardMs };
}
