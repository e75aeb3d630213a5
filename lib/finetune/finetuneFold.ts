/**
 * SER fine-tuning: the speech encoder of lib/models with an attention-pooling + linear head on the
 * six emotions, trained from random initialisation (the baseline) or from a pretrained encoder
 * (pretext task 1, 2, 3 or all), with the same architecture, budget, data and seeds for every arm.
 *
 * - `full`: encoder and head are trained. `frozen`: only the head is trained; the encoder is used as
 *   a fixed feature extractor (its dropout is still active while training, as in the full mode).
 * - Class-balanced sampling (option): minority classes of the training set are oversampled (seeded)
 *   until every class has as many clips as the largest, so the loss weighs classes equally.
 * - Early stopping / best epoch on the dev speakers' `hyper.monitor` (UA by default: the metric the
 *   tables report; never on test speakers).
 *
 * One call of `finetuneFold` trains one model and returns its test predictions as a FoldResult.
 */
import * as tf from '@tensorflow/tfjs';
import { EmolabError } from '../errors';
import { classificationMetrics } from '../eval/metrics';
import { createModel, forward, type HeadSpec, type SpeechModel } from '../models/heads';
import type { EncoderConfig } from '../models/encoder';
import { deriveSeed, Rng } from '../random';
import { disposeParams, type Params } from '../models/layers';
import { makeBatch, planBatches, type Example } from '../train/batches';
import { loadParams, readCheckpoint } from '../train/checkpoint';
import { train, type DevMonitor, type EpochRecord as TrainEpoch } from '../train/trainer';
import { FOLD_RESULT_SCHEMA, type EpochRecord, type FinetuneMode, type FoldResult, type Protocol } from './results';

export const SER_HEAD = 'ser';

/** Where an arm's encoder comes from. */
export type ArmInit =
  | { kind: 'scratch' }
  | { kind: 'pretrained'; run: string; checkpoint: string; task: string };

export interface FinetuneHyper {
  epochs: number;
  batchSize: number;
  maxFrames?: number;
  lr: number;
  weightDecay: number;
  /** Stop after this many epochs without dev gain (0 = never). */
  patience: number;
  warmup: number;
  classBalanced: boolean;
  /** Hidden size of the attention-pooling scorer (default dModel). */
  attentionDim?: number;
  /** Dev-speaker metric for early stopping and the best epoch: the tables' metric (ua or f1), not accuracy. */
  monitor: DevMonitor;
}

export interface FoldData {
  name: string;
  train: Example[];
  dev: Example[];
  test: Example[];
}

export interface FinetuneFoldArgs {
  experiment: string;
  protocol: Protocol;
  arm: string;
  init: ArmInit;
  mode: FinetuneMode;
  seed: number;
  fold: FoldData;
  classes: readonly string[];
  encoder: EncoderConfig;
  /** Recorded in the result (preset name, feature kind, ...). */
  configNote?: Record<string, unknown>;
  hyper: FinetuneHyper;
  runInfo: Record<string, unknown>;
  quiet?: boolean;
  onEpoch?: (record: TrainEpoch, history: TrainEpoch[]) => void;
  /** Called with the trained model after the test predictions, before it is freed (e.g. to look at its attention). */
  onModel?: (model: SpeechModel) => void;
  /** Data-parallel training replicas (lib/train TrainOptions.workers); default as there. */
  workers?: number;
}

/** The SER head: attention pooling over valid frames, then a linear layer to the classes. */
export function serHeadSpec(classes: number, attentionDim?: number): HeadSpec {
  return { kind: 'utterance', name: SER_HEAD, classes, pooling: 'attention', ...(attentionDim ? { attentionDim } : {}) };
}

/**
 * Oversample minority classes (seeded) so every class has as many training clips as the largest.
 * Clips without a label are kept once. Copies get ids `<id>#<k>`.
 */
export function classBalanced(examples: Example[], seed: number, head = SER_HEAD): Example[] {
  const byClass = new Map<number, Example[]>();
  const unlabelled: Example[] = [];
  for (const e of examples) {
    const y = e.labels?.[head] ?? -1;
    if (y < 0) unlabelled.push(e);
    else byClass.set(y, [...(byClass.get(y) ?? []), e]);
  }
  const target = Math.max(0, ...[...byClass.values()].map((v) => v.length));
  const rng = new Rng(deriveSeed(seed, 0xba1a));
  const out: Example[] = [...unlabelled];
  for (const [, items] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    out.push(...items);
    for (let k = items.length; k < target; k++) {
      const src = items[Math.floor(rng.next() * items.length)];
      out.push({ ...src, id: `${src.id}#${k}` });
    }
  }
  return out;
}

/** Build the SER model for an arm: pretrained encoder weights loaded (all of them, or an error). */
export function buildSerModel(encoder: EncoderConfig, classes: number, init: ArmInit, seed: number, attentionDim?: number): SpeechModel {
  const model = createModel({ encoder, heads: [serHeadSpec(classes, attentionDim)] }, seed);
  if (init.kind === 'pretrained') {
    const ck = readCheckpoint(init.checkpoint);
    const same = JSON.stringify(ck.config.encoder) === JSON.stringify(encoder);
    if (!same) {
      disposeParams(model.params);
      throw new EmolabError('train', `pretrained encoder of "${init.run}" has a different configuration than the fine-tuning encoder`, {
        file: init.checkpoint, hint: 'every arm must share one encoder configuration: fine-tune with the preset the encoders were pretrained with',
      });
    }
    const encoderNames = Object.keys(model.params).filter((k) => k.startsWith('encoder.'));
    const loaded = loadParams(model.params, ck.params, { prefix: 'encoder.', file: init.checkpoint });
    if (loaded.length !== encoderNames.length) {
      disposeParams(model.params);
      const missing = encoderNames.filter((n) => !loaded.includes(n));
      throw new EmolabError('train', `pretrained checkpoint lacks encoder weights: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`, { file: init.checkpoint });
    }
  }
  return model;
}

/** The parameters a mode trains. */
export function trainableParams(model: SpeechModel, mode: FinetuneMode): Params {
  if (mode === 'full') return model.params;
  return Object.fromEntries(Object.entries(model.params).filter(([k]) => k.startsWith(`head.${SER_HEAD}.`)));
}

/** Class probabilities [n][classes] for examples, in the given order (no dropout). */
export function predictProbs(model: SpeechModel, examples: Example[], batchSize = 16, maxFrames?: number): number[][] {
  const out: number[][] = new Array(examples.length);
  const plan = planBatches(examples.map((e) => e.frames), { batchSize, maxFrames, shuffle: false, seed: 0, epoch: 0 });
  for (const idx of plan) {
    const batch = makeBatch(idx.map((i) => examples[i]));
    const probs = tf.tidy(() => {
      const { outputs } = forward(model, batch.x, batch.lengths, {}, { heads: [SER_HEAD] });
      return tf.softmax(outputs[SER_HEAD].logits as tf.Tensor2D);
    });
    const rows = probs.arraySync() as number[][];
    probs.dispose();
    batch.x.dispose();
    idx.forEach((i, r) => { out[i] = rows[r].map((p) => +p.toFixed(6)); });
  }
  return out;
}

const argmax = (xs: number[]): number => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

function checkFold(f: FoldData, classes: number): void {
  const bad = (m: string): never => { throw new EmolabError('train', `fold ${f.name}: ${m}`); };
  if (f.train.length === 0) bad('no training clips');
  if (f.test.length === 0) bad('no test clips');
  const spk = (xs: Example[]) => new Set(xs.map((e) => e.speaker));
  const test = spk(f.test);
  for (const s of [...spk(f.train), ...spk(f.dev)]) if (test.has(s)) bad(`speaker ${s} is in the test set and in training/dev (not speaker-independent)`);
  for (const e of [...f.train, ...f.dev, ...f.test]) {
    const y = e.labels?.[SER_HEAD];
    if (y === undefined || !Number.isInteger(y) || y < 0 || y >= classes) bad(`clip ${e.id} has no valid ${SER_HEAD} label (got ${y})`);
  }
}

/** Train one model (one arm, mode, seed, fold) and score it on the fold's test speakers. */
export async function finetuneFold(a: FinetuneFoldArgs): Promise<FoldResult> {
  const k = a.classes.length;
  checkFold(a.fold, k);
  const t0 = Date.now();
  const model = buildSerModel(a.encoder, k, a.init, a.seed, a.hyper.attentionDim);
  try {
    const trainSet = a.hyper.classBalanced ? classBalanced(a.fold.train, a.seed) : a.fold.train;
    const view: SpeechModel = { ...model, params: trainableParams(model, a.mode) };
    const result = await train(view, { train: trainSet, dev: a.fold.dev.length ? a.fold.dev : undefined }, {
      epochs: a.hyper.epochs, batchSize: a.hyper.batchSize, maxFrames: a.hyper.maxFrames, lr: a.hyper.lr,
      weightDecay: a.hyper.weightDecay, warmup: a.hyper.warmup, patience: a.hyper.patience, monitor: a.hyper.monitor, seed: deriveSeed(a.seed, 0x5e7),
      quiet: a.quiet, label: `finetune ${a.arm}/${a.mode} seed ${a.seed} ${a.fold.name}`, onEpoch: a.onEpoch,
      ...(a.workers !== undefined ? { workers: a.workers } : {}),
    });
    const probs = predictProbs(model, a.fold.test, a.hyper.batchSize, a.hyper.maxFrames);
    a.onModel?.(model);
    const truth = a.fold.test.map((e) => e.labels![SER_HEAD]);
    const pred = probs.map(argmax);
    const history: EpochRecord[] = result.history.map((h) => ({
      epoch: h.epoch, trainLoss: h.trainLoss, devLoss: h.dev?.[SER_HEAD]?.loss ?? NaN, devAccuracy: h.dev?.[SER_HEAD]?.accuracy ?? NaN, seconds: h.wallS,
    }));
    const speakers = (xs: Example[]) => [...new Set(xs.map((e) => e.speaker))].sort();
    return {
      schema: FOLD_RESULT_SCHEMA,
      experiment: a.experiment, protocol: a.protocol, arm: a.arm, mode: a.mode, seed: a.seed, fold: a.fold.name,
      classes: [...a.classes], init: a.init,
      test: { ids: a.fold.test.map((e) => e.id), truth, pred, probs },
      metrics: classificationMetrics(truth, pred, k),
      history, bestEpoch: result.best?.epoch ?? result.history.length,
      config: { ...a.configNote, encoder: a.encoder, hyper: a.hyper, epochs: a.hyper.epochs, classBalanced: a.hyper.classBalanced, stoppedEarly: result.stoppedEarly },
      speakers: { train: speakers(a.fold.train), dev: speakers(a.fold.dev), test: speakers(a.fold.test) },
      clips: { train: a.fold.train.length, dev: a.fold.dev.length, test: a.fold.test.length },
      wallSeconds: (Date.now() - t0) / 1000,
      runInfo: a.runInfo,
      createdAt: new Date().toISOString(),
    };
  } finally {
    disposeParams(model.params);
  }
}
