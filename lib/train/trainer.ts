/**
 * The training engine of pretraining and SER fine-tuning: length-bucketed batches with padding masks,
 * multi-head losses, a warm-up + decay schedule, dev evaluation per epoch and an `onEpoch` hook for
 * live plots in notebooks. The updates themselves (AdamW, global-norm clipping, best epoch, early
 * stopping, checkpoints, resume, progress) run in lib/train/loop's runStepLoop, the one step loop that
 * HFLEA's stages share; this file gives it the gradients of each batch and keeps its checkpoints in
 * lib/train/checkpoint's format (`trainerCheckpointStore`).
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
import { forward, type SpeechModel } from '../models/heads';
import { deriveSeed } from '../random';
import { makeBatch, planBatches, validateExample, type Example } from './batches';
import { batchLoss, countPredictions, emptyCounts, finishCounts, headLoss, headTargets, type HeadCounts, type HeadMetrics } from './losses';
import { learningRate, type DecayKind } from './schedule';
import { DataParallel } from './dataParallel';
import { trainerCheckpointStore, type EpochRecord, type TrainerRunningState } from './trainerCheckpoint';
import { epochBoundaries, runStepLoop } from './loop';
import { trainingWorkers } from '../accel/workers';
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

export type { EpochRecord, TrainerState } from './trainerCheckpoint';

export type DevMonitor = 'accuracy' | 'ua' | 'f1' | 'loss';

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

/** One run of `train`: batches, losses and epoch records around lib/train/loop's runStepLoop. */
async function trainOn(model: SpeechModel, data: { train: Example[]; dev?: Example[] }, o: TrainOptions, workers: number, held: { parallel?: DataParallel }): Promise<TrainResult> {
  const t0 = Date.now();
  if (data.train.length === 0) throw new EmolabError('train', 'no training examples');
  data.train.forEach(validateExample);
  data.dev?.forEach(validateExample);
  const lengths = data.train.map((e) => e.frames);
  const planFor = (epoch: number) => planBatches(lengths, { batchSize: o.batchSize, maxFrames: o.maxFrames, shuffle: true, seed: o.seed, epoch });
  const epochSizes = Array.from({ length: o.epochs }, (_, e) => planFor(e).length);
  const totalSteps = epochSizes.reduce((a, b) => a + b, 0);
  const epochEndStep = epochSizes.map((_, e) => epochSizes.slice(0, e + 1).reduce((a, b) => a + b, 0));
  const warmupSteps = (o.warmup ?? 0.1) >= 1 ? Math.round(o.warmup!) : Math.round((o.warmup ?? 0.1) * totalSteps);
  const sched = { peak: o.lr, warmupSteps, totalSteps, decay: o.decay ?? 'cosine', minRatio: o.minLrRatio ?? 0.05 } as const;
  const { at } = epochBoundaries(totalSteps, { epochSteps: epochSizes }, o.label ?? 'train');
  const varNames = new Map(Object.entries(model.params).map(([k, v]) => [v.name, k]));
  const varList = Object.values(model.params);
  const fingerprint = trainingFingerprint(model, data, o);

  let run: TrainerRunningState = { lossSum: 0, lossN: 0, headSums: {}, history: [] };
  let parallel: DataParallel | undefined;
  let plan: number[][] = [];
  let planEpoch = -1;
  let headLosses: Record<string, number> = {};
  let dev: EvalResult | undefined;

  /** Gradients of update `step` (by parameter name): on this thread, or summed over the replicas. */
  const gradients = async (step: number): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> => {
    const { epoch, index } = at(step);
    if (epoch !== planEpoch) { plan = planFor(epoch); planEpoch = epoch; }
    const rows = plan[index].map((i) => data.train[i]);
    const stepSeed = deriveSeed(o.seed, step, 0x57e9);
    const named: Record<string, tf.Tensor> = {};
    headLosses = {};
    if (parallel) {
      const r = await parallel.step(rows, stepSeed, o.headWeights);
      for (const [vn, g] of Object.entries(r.grads)) named[varNames.get(vn)!] = g;
      Object.assign(headLosses, r.perHead);
      return { loss: r.value, grads: named };
    }
    const batch = makeBatch(rows);
    const kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const { encoded, outputs } = forward(model, batch.x, batch.lengths, { segments: batch.segments }, { training: true, seed: stepSeed });
      const { total, perHead } = batchLoss(model, batch, outputs, encoded.lengths, encoded.hidden.shape[1], o.headWeights);
      for (const [h, l] of Object.entries(perHead)) kept[h] = tf.keep(l);
      return total;
    }, varList);
    for (const [vn, g] of Object.entries(grads)) named[varNames.get(vn)!] = g;
    const loss = value.dataSync()[0];
    for (const [h, l] of Object.entries(kept)) headLosses[h] = l.dataSync()[0];
    tf.dispose([value, batch.x, ...Object.values(kept)]);
    return { loss, grads: named };
  };

  const r = await runStepLoop({
    params: model.params, steps: totalSteps, epochSteps: epochSizes,
    weightDecay: o.weightDecay ?? 0.01, lr: (step) => learningRate(step, sched), clipNorm: o.clipNorm ?? 1,
    gradients,
    onStep: (_step, loss) => {
      run.lossSum += loss;
      run.lossN += 1;
      for (const [h, l] of Object.entries(headLosses)) {
        const s = (run.headSums[h] ??= [0, 0]);
        s[0] += l;
        s[1] += 1;
      }
    },
    note: (step) => `epoch ${at(step).epoch + 1}/${o.epochs} loss ${(run.lossSum / run.lossN).toFixed(4)} lr ${learningRate(step, sched).toExponential(2)}`,
    evaluate: () => {
      if (!data.dev?.length) return null;
      dev = evaluate(model, data.dev, { batchSize: o.batchSize, maxFrames: o.maxFrames });
      const monitor = o.monitor ?? 'accuracy';
      return monitor === 'accuracy' ? dev.meanAccuracy : monitor === 'ua' ? dev.meanUa : monitor === 'f1' ? dev.meanF1 : -dev.meanLoss;
    },
    // End of epoch: its record in the history (saved with the epoch's checkpoint), the running sums reset.
    epochEnd: (epoch, { metric }) => {
      const step = epochEndStep[epoch];
      const record: EpochRecord = {
        epoch: epoch + 1, step, lr: learningRate(Math.max(0, step - 1), sched),
        trainLoss: run.lossN ? run.lossSum / run.lossN : NaN,
        trainHeadLoss: Object.fromEntries(Object.entries(run.headSums).map(([h, [s, n]]) => [h, s / n])),
        wallS: (Date.now() - t0) / 1000,
      };
      if (metric !== null && dev) {
        record.dev = dev.heads;
        record.devMetric = metric;
      }
      dev = undefined;
      run.history.push(record);
      run = { lossSum: 0, lossN: 0, headSums: {}, history: run.history };
      o.onEpoch?.(record, run.history);
    },
    patience: o.patience ?? 0,
    restoreBest: o.restoreBest ?? true,
    checkpoint: o.checkpointDir ? {
      store: trainerCheckpointStore(model, o.checkpointDir, { seed: o.seed, fingerprint, resume: o.resume ?? true, patience: o.patience ?? 0, epochs: o.epochs, totalSteps, at }),
      every: o.checkpointEverySteps, atEpochEnd: true,
    } : undefined,
    state: { save: () => run, load: (saved) => { run = saved as TrainerRunningState; } },
    // After the checkpoint load: the replicas start from the weights this run continues from.
    start: async () => { if (workers > 1) parallel = held.parallel = await DataParallel.start(model, workers); },
    stopAfter: o.stopAfterSteps,
    nanHint: 'lower --lr or check the features for NaN/Inf',
    label: o.label ?? 'train',
    quiet: o.quiet,
  });
  const best = r.best ? { epoch: r.best.epoch + 1, metric: r.best.metric } : null;
  return {
    history: run.history, best, steps: r.steps, totalSteps, stoppedEarly: r.interrupted ? false : r.stoppedEarly, interrupted: r.interrupted, resumedFromStep: r.resumedFrom,
    wallS: (Date.now() - t0) / 1000, stepS: r.updateSeconds / Math.max(1, r.updates), workers: parallel?.replicas ?? 1,
  };
}
