/**
 * The training engine: length-bucketed batches with padding masks, AdamW, warm-up + decay
 * schedule, global-norm gradient clipping, early stopping on a dev metric, checkpoints and exact
 * resume, progress in the terminal and an `onEpoch` hook for live plots in notebooks.
 *
 * Exactness: every random choice is derived from (seed, epoch) (batch plan) or (seed, step)
 * (dropout masks), the learning rate is a function of the step, and a checkpoint stores weights,
 * optimizer moments, step, position inside the epoch and the running sums of the epoch. So a run
 * resumed from its last checkpoint computes the same updates, bit for bit on the same backend, as
 * one that was never interrupted (tested). Same seed + same backend -> same metrics.
 *
 * Memory: each step runs inside tf.tidy / explicit disposal; tf.memory().numTensors is the same
 * after every step (tested).
 *
 * Workers: with more than one replica (TrainOptions.workers, EMOLAB_WORKERS; lib/accel/workers) each
 * step's gradients come from lib/train/dataParallel (the batch split over worker threads, gradients
 * summed, then the same clip and AdamW here). Results are reproducible for a given replica count; with
 * one replica the step is the single-thread code below.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { forward, type SpeechModel } from '../models/heads';
import { deriveSeed } from '../random';
import { AdamW, clipByGlobalNorm } from './adamw';
import { makeBatch, planBatches, validateExample, type Example } from './batches';
import { loadParams, readCheckpoint, saveCheckpoint } from './checkpoint';
import { batchLoss, countPredictions, emptyCounts, finishCounts, headLoss, headTargets, type HeadCounts, type HeadMetrics } from './losses';
import { learningRate, type DecayKind } from './schedule';
import { DataParallel } from './dataParallel';
import { trainingWorkers } from '../accel/workers';
import { progress } from '../show/progress';
import { EmolabError } from '../errors';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Cap on padded frames per batch (rows x longest clip). */
  maxFrames?: number;
  /** Peak learning rate. */
  lr: number;
  weightDecay?: number;
  /** Warm-up steps (>= 1) or fraction of all steps (< 1). Default 0.1. */
  warmup?: number;
  decay?: DecayKind;
  minLrRatio?: number;
  /** Global-norm clip (0 = off). Default 1. */
  clipNorm?: number;
  /** Stop after this many epochs without dev improvement (0 = never). Default 0. */
  patience?: number;
  /**
   * Dev metric for early stopping and the best epoch, averaged over heads: accuracy (default),
   * `ua` (unweighted accuracy, mean per-class recall), `f1` (macro F1), or `loss` (lower is better).
   */
  monitor?: DevMonitor;
  /** Loss weight per head (default 1 each). */
  headWeights?: Record<string, number>;
  seed: number;
  /** Where `last.safetensors` and `best.safetensors` go; without it nothing is written. */
  checkpointDir?: string;
  /** Also checkpoint every this many steps (default: at epoch ends only). */
  checkpointEverySteps?: number;
  /** Continue from checkpointDir/last.safetensors when it exists (default true). */
  resume?: boolean;
  /**
   * Replicas that compute each step's gradients (lib/train/dataParallel; main thread included).
   * Default: EMOLAB_WORKERS, else one per free core (lib/accel/workers). 1 = no worker threads.
   */
  workers?: number;
  /** Stop (as if killed) after this many steps in total, after writing a checkpoint. For tests. */
  stopAfterSteps?: number;
  /** Load the best dev weights into the model at the end (default true when there is dev data). */
  restoreBest?: boolean;
  /** Called after every epoch with its record and the history so far (live plots). */
  onEpoch?: (record: EpochRecord, history: EpochRecord[]) => void;
  /** No progress output. */
  quiet?: boolean;
  label?: string;
}

export type DevMonitor = 'accuracy' | 'ua' | 'f1' | 'loss';

export interface EpochRecord {
  epoch: number;
  /** Updates done at the end of this epoch. */
  step: number;
  /** Learning rate of the last update. */
  lr: number;
  trainLoss: number;
  trainHeadLoss: Record<string, number>;
  dev?: Record<string, HeadMetrics>;
  devMetric?: number;
  /** Seconds since training started in this process (0 for epochs restored from a checkpoint: wall times are kept out of checkpoints so they are byte-identical between runs). */
  wallS: number;
}

/** What a checkpoint stores besides tensors. */
export interface TrainerState {
  seed: number;
  epoch: number;
  batchInEpoch: number;
  step: number;
  lossSum: number;
  lossN: number;
  headSums: Record<string, [number, number]>;
  history: EpochRecord[];
  best: { epoch: number; metric: number } | null;
  badEpochs: number;
  finished: boolean;
  /** What must match for a checkpoint to be resumed: options, model config, training clip ids. */
  fingerprint?: string;
}

export interface TrainResult {
  history: EpochRecord[];
  best: { epoch: number; metric: number } | null;
  steps: number;
  totalSteps: number;
  stoppedEarly: boolean;
  /** True when stopAfterSteps ended the run before its end. */
  interrupted: boolean;
  resumedFromStep: number;
  wallS: number;
  /** Mean seconds per training step in this process. */
  stepS: number;
  /** Replicas that computed the gradients (1: the main thread alone; lib/train/dataParallel). */
  workers: number;
}

export interface EvalResult {
  heads: Record<string, HeadMetrics>;
  /** Mean over heads of accuracy (or loss), the early-stopping metric. */
  meanAccuracy: number;
  meanUa: number;
  meanF1: number;
  meanLoss: number;
}

/** Evaluate every head on `examples` (no dropout), batch by batch. */
export function evaluate(model: SpeechModel, examples: Example[], opts: { batchSize?: number; maxFrames?: number } = {}): EvalResult {
  const counts: Record<string, HeadCounts> = Object.fromEntries(Object.keys(model.heads).map((h) => [h, emptyCounts()]));
  const plan = planBatches(examples.map((e) => e.frames), { batchSize: opts.batchSize ?? 16, maxFrames: opts.maxFrames, shuffle: false, seed: 0, epoch: 0 });
  for (const idx of plan) {
    const batch = makeBatch(idx.map((i) => examples[i]));
    tf.tidy(() => {
      const { encoded, outputs } = forward(model, batch.x, batch.lengths, { segments: batch.segments });
      const tOut = encoded.hidden.shape[1];
      for (const [name, out] of Object.entries(outputs)) {
        const kind = model.heads[name].spec.kind;
        const targets = headTargets(model, name, batch, encoded.lengths, tOut);
        const loss = headLoss(kind, out.logits, targets);
        const c = counts[name];
        countPredictions(c, kind, out.logits, targets);
        if (loss) {
          let n = 0;
          for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) n++;
          c.lossSum += loss.dataSync()[0] * n;
          c.lossN += n;
        }
      }
    });
    batch.x.dispose();
  }
  const heads = Object.fromEntries(Object.entries(counts).map(([h, c]) => [h, finishCounts(c)]));
  const scored = Object.values(heads).filter((m) => m.n > 0);
  return {
    heads,
    meanAccuracy: scored.length ? scored.reduce((s, m) => s + m.accuracy, 0) / scored.length : NaN,
    meanUa: scored.length ? scored.reduce((s, m) => s + m.ua, 0) / scored.length : NaN,
    meanF1: scored.length ? scored.reduce((s, m) => s + m.f1, 0) / scored.length : NaN,
    meanLoss: scored.length ? scored.reduce((s, m) => s + m.loss, 0) / scored.length : NaN,
  };
}

/**
 * The RNG state in a checkpoint. Nothing random is carried from step to step: the batch plan of an
 * epoch draws from deriveSeed(seed, epoch, 0xba7c) and step k's dropout from
 * deriveSeed(seed, k, 0x57e9), so (seed, epoch, step) is the whole state.
 */
const RNG_STATE = (seed: number, st: TrainerState): string =>
  JSON.stringify({ seed, epoch: st.epoch, step: st.step, batchPlan: 'deriveSeed(seed, epoch, 0xba7c)', dropout: 'deriveSeed(seed, step, 0x57e9)' });

function snapshot(model: SpeechModel): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

function restore(model: SpeechModel, snap: Record<string, Float32Array>): void {
  for (const [k, v] of Object.entries(model.params)) tf.tidy(() => v.assign(tf.tensor(snap[k], v.shape, 'float32')));
}

function freshState(seed: number, fingerprint: string): TrainerState {
  return { seed, epoch: 0, batchInEpoch: 0, step: 0, lossSum: 0, lossN: 0, headSums: {}, history: [], best: null, badEpochs: 0, finished: false, fingerprint };
}

/** A short hash of everything that shapes the updates (so a checkpoint is only resumed by the same run). */
export function trainingFingerprint(model: SpeechModel, data: { train: Example[]; dev?: Example[] }, o: TrainOptions): string {
  const keys = { epochs: o.epochs, batchSize: o.batchSize, maxFrames: o.maxFrames, lr: o.lr, weightDecay: o.weightDecay, warmup: o.warmup, decay: o.decay, minLrRatio: o.minLrRatio, clipNorm: o.clipNorm, patience: o.patience, monitor: o.monitor, headWeights: o.headWeights, seed: o.seed };
  const text = JSON.stringify([keys, model.config, data.train.map((e) => `${e.id}:${e.frames}`), (data.dev ?? []).map((e) => `${e.id}:${e.frames}`)]);
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ text.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/**
 * Replicas for one training run: `requested` (TrainOptions.workers) when given, else EMOLAB_WORKERS,
 * else `auto` (lib/accel/workers). `auto` stays at 1 for a model with dropout > 0: each shard draws its
 * own dropout masks, so replicas would give another result than one process (same distribution, other
 * draws) rather than the same result up to float summation order. An explicit count is obeyed.
 */
export function replicasFor(model: Pick<SpeechModel, 'config'>, requested?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (requested !== undefined) return requested;
  const w = trainingWorkers(env);
  return w.source === 'auto' && w.workers > 1 && model.config.encoder.dropout > 0 ? 1 : w.workers;
}

/**
 * Train `model` on `data.train`, checking `data.dev` after every epoch. With more than one worker
 * (TrainOptions.workers, EMOLAB_WORKERS) each step's gradients come from lib/train/dataParallel.
 */
export async function train(model: SpeechModel, data: { train: Example[]; dev?: Example[] }, o: TrainOptions): Promise<TrainResult> {
  const workers = replicasFor(model, o.workers);
  if (!(Number.isInteger(workers) && workers >= 1)) throw new EmolabError('train', `workers must be an integer >= 1, got ${workers}`);
  const held: { parallel?: DataParallel } = {};
  try {
    return await trainOn(model, data, o, workers, held);
  } finally {
    await held.parallel?.release();
  }
}

async function trainOn(model: SpeechModel, data: { train: Example[]; dev?: Example[] }, o: TrainOptions, workers: number, held: { parallel?: DataParallel }): Promise<TrainResult> {
  const t0 = Date.now();
  if (data.train.length === 0) throw new EmolabError('train', 'no training examples');
  data.train.forEach(validateExample);
  data.dev?.forEach(validateExample);
  const lengths = data.train.map((e) => e.frames);
  const planFor = (epoch: number) => planBatches(lengths, { batchSize: o.batchSize, maxFrames: o.maxFrames, shuffle: true, seed: o.seed, epoch });
  const epochSizes = Array.from({ length: o.epochs }, (_, e) => planFor(e).length);
  const totalSteps = epochSizes.reduce((a, b) => a + b, 0);
  const warmupSteps = (o.warmup ?? 0.1) >= 1 ? Math.round(o.warmup!) : Math.round((o.warmup ?? 0.1) * totalSteps);
  const sched = { peak: o.lr, warmupSteps, totalSteps, decay: o.decay ?? 'cosine', minRatio: o.minLrRatio ?? 0.05 } as const;
  const optimizer = new AdamW(model.params, { weightDecay: o.weightDecay ?? 0.01 });
  const varNames = new Map(Object.entries(model.params).map(([k, v]) => [v.name, k]));
  const varList = Object.values(model.params);
  const lastFile = o.checkpointDir ? join(o.checkpointDir, 'last.safetensors') : undefined;
  const bestFile = o.checkpointDir ? join(o.checkpointDir, 'best.safetensors') : undefined;
  if (o.checkpointDir) {
    mkdirSync(o.checkpointDir, { recursive: true });
    // Temp files of a write killed midway (atomic writes) are garbage, as large as a checkpoint: remove them.
    for (const f of readdirSync(o.checkpointDir)) if (f.endsWith('.tmp')) rmSync(join(o.checkpointDir, f), { force: true });
  }

  const fingerprint = trainingFingerprint(model, data, o);
  let st = freshState(o.seed, fingerprint);
  let bestWeights: Record<string, Float32Array> | undefined;
  if (lastFile && (o.resume ?? true) && existsSync(lastFile)) {
    const ck = readCheckpoint(lastFile);
    const saved = ck.state as TrainerState | undefined;
    if (!saved || saved.seed !== o.seed) {
      throw new EmolabError('train', `checkpoint was written with seed ${saved?.seed}, this run has seed ${o.seed}`, { file: lastFile, hint: 'use the same seed, another --out, or delete the checkpoint' });
    }
    if (saved.fingerprint !== fingerprint) {
      throw new EmolabError('train', 'checkpoint belongs to a run with other settings or data (options, model config or training clips differ)', { file: lastFile, hint: 'rerun with the same settings to resume, or use another --out / resume: false to start over' });
    }
    loadParams(model.params, ck.params, { strict: true, file: lastFile });
    optimizer.loadState(ck.optimizer, ck.step, lastFile);
    st = saved;
    if (bestFile && existsSync(bestFile)) bestWeights = Object.fromEntries(Object.entries(readCheckpoint(bestFile).params).map(([k, v]) => [k, v.data]));
  }
  const resumedFromStep = st.step;
  // After the checkpoint load: the replicas start from the weights this run continues from.
  const parallel = workers > 1 ? (held.parallel = await DataParallel.start(model, workers)) : undefined;
  const replicas = parallel?.replicas ?? 1;
  const save = () => {
    // Wall times stay out of checkpoints, so the same run writes byte-identical files every time.
    const state: TrainerState = { ...st, history: st.history.map((h) => ({ ...h, wallS: 0 })) };
    if (lastFile) saveCheckpoint(lastFile, model, { optimizer, step: st.step, state, extra: { rng: RNG_STATE(o.seed, st) } });
  };

  const bar = progress(o.label ?? 'train', Math.max(0, totalSteps - st.step), { unit: 'steps', quiet: o.quiet });
  let stepTime = 0, stepsHere = 0;
  let stoppedEarly = false;
  let lr = 0;
  const interrupted = (): TrainResult => {
    bar.done('interrupted');
    optimizer.dispose();
    return { history: st.history, best: st.best, steps: st.step, totalSteps, stoppedEarly: false, interrupted: true, resumedFromStep, wallS: (Date.now() - t0) / 1000, stepS: stepTime / Math.max(1, stepsHere), workers: replicas };
  };
  while (!st.finished && st.epoch < o.epochs) {
    const plan = planFor(st.epoch);
    for (let bi = st.batchInEpoch; bi < plan.length; bi++) {
      const ts = Date.now();
      const rows = plan[bi].map((i) => data.train[i]);
      lr = learningRate(st.step, sched);
      const stepSeed = deriveSeed(o.seed, st.step, 0x57e9);
      let loss: number;
      const headLosses: Record<string, number> = {};
      if (!parallel) {
        const batch = makeBatch(rows);
        const kept: Record<string, tf.Scalar> = {};
        const { value, grads } = tf.variableGrads(() => {
          const { encoded, outputs } = forward(model, batch.x, batch.lengths, { segments: batch.segments }, { training: true, seed: stepSeed });
          const { total, perHead } = batchLoss(model, batch, outputs, encoded.lengths, encoded.hidden.shape[1], o.headWeights);
          for (const [h, l] of Object.entries(perHead)) kept[h] = tf.keep(l);
          return total;
        }, varList);
        const named: Record<string, tf.Tensor> = {};
        for (const [vn, g] of Object.entries(grads)) named[varNames.get(vn)!] = g;
        const clipped = clipByGlobalNorm(named, o.clipNorm ?? 1);
        optimizer.apply(clipped.grads, lr);
        loss = value.dataSync()[0];
        for (const [h, l] of Object.entries(kept)) headLosses[h] = l.dataSync()[0];
        tf.dispose([value, batch.x, ...Object.values(grads), ...Object.values(clipped.grads), ...Object.values(kept)]);
      } else {
        const r = await parallel.step(rows, stepSeed, o.headWeights);
        const named: Record<string, tf.Tensor> = {};
        for (const [vn, g] of Object.entries(r.grads)) named[varNames.get(vn)!] = g;
        const clipped = clipByGlobalNorm(named, o.clipNorm ?? 1);
        optimizer.apply(clipped.grads, lr);
        loss = r.value;
        Object.assign(headLosses, r.perHead);
        tf.dispose([...Object.values(r.grads), ...Object.values(clipped.grads)]);
      }
      if (!Number.isFinite(loss)) throw new EmolabError('train', `loss became ${loss} at step ${st.step} (lr ${lr.toExponential(2)})`, { hint: 'lower --lr or check the features for NaN/Inf' });
      st.lossSum += loss;
      st.lossN += 1;
      for (const [h, l] of Object.entries(headLosses)) {
        const s = (st.headSums[h] ??= [0, 0]);
        s[0] += l;
        s[1] += 1;
      }
      st.step += 1;
      st.batchInEpoch = bi + 1;
      stepTime += (Date.now() - ts) / 1000;
      stepsHere += 1;
      bar.tick(1, `epoch ${st.epoch + 1}/${o.epochs} loss ${(st.lossSum / st.lossN).toFixed(4)} lr ${lr.toExponential(2)}`);
      if (o.checkpointEverySteps && st.step % o.checkpointEverySteps === 0 && bi + 1 < plan.length) save();
      if (o.stopAfterSteps !== undefined && st.step >= o.stopAfterSteps && bi + 1 < plan.length) {
        save();
        return interrupted();
      }
    }
    // End of epoch: dev evaluation, history, early stopping, checkpoints.
    const record: EpochRecord = {
      epoch: st.epoch + 1, step: st.step, lr: learningRate(Math.max(0, st.step - 1), sched),
      trainLoss: st.lossN ? st.lossSum / st.lossN : NaN,
      trainHeadLoss: Object.fromEntries(Object.entries(st.headSums).map(([h, [s, n]]) => [h, s / n])),
      wallS: (Date.now() - t0) / 1000,
    };
    if (data.dev && data.dev.length) {
      const ev = evaluate(model, data.dev, { batchSize: o.batchSize, maxFrames: o.maxFrames });
      record.dev = ev.heads;
      const monitor = o.monitor ?? 'accuracy';
      record.devMetric = monitor === 'accuracy' ? ev.meanAccuracy : monitor === 'ua' ? ev.meanUa : monitor === 'f1' ? ev.meanF1 : -ev.meanLoss;
      if (st.best === null || record.devMetric > st.best.metric) {
        st.best = { epoch: record.epoch, metric: record.devMetric };
        st.badEpochs = 0;
        bestWeights = snapshot(model);
        if (bestFile) saveCheckpoint(bestFile, model, { step: st.step, extra: { epoch: String(record.epoch), devMetric: String(record.devMetric) } });
      } else {
        st.badEpochs += 1;
      }
    }
    st.history.push(record);
    st.epoch += 1;
    st.batchInEpoch = 0;
    st.lossSum = 0;
    st.lossN = 0;
    st.headSums = {};
    if (o.patience && st.badEpochs >= o.patience) {
      stoppedEarly = true;
      st.finished = true;
    }
    if (st.epoch >= o.epochs) st.finished = true;
    save();
    o.onEpoch?.(record, st.history);
    if (o.stopAfterSteps !== undefined && st.step >= o.stopAfterSteps && !st.finished) {
      return interrupted();
    }
  }
  bar.done(stoppedEarly ? `early stop (no dev gain for ${o.patience} epochs)` : undefined);
  if ((o.restoreBest ?? true) && bestWeights) restore(model, bestWeights);
  optimizer.dispose();
  stoppedEarly = stoppedEarly || (o.patience ? st.badEpochs >= o.patience && st.history.length < o.epochs : false);
  return { history: st.history, best: st.best, steps: st.step, totalSteps, stoppedEarly, interrupted: false, resumedFromStep, wallS: (Date.now() - t0) / 1000, stepS: stepTime / Math.max(1, stepsHere), workers: replicas };
}
