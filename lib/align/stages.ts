/**
 * Training one HFLEA stage on the tfjs HuBERT, through lib/train/loop (AdamW, warm-up + cosine
 * schedule, global-norm clipping, checkpoints and resume): the SER model of stages (2) and (5)
 * (encoder + utterance head, best dev-UA epoch kept) and the masked prediction of stage (4) on the
 * frame pseudo-labels. The parameter selection and weight-decay rule are shared with stage (1),
 * ./tapt.
 *
 * Randomness: each stage draws its batch orders, crops and masks from one seeded stream (as before
 * checkpoints existed, so results are unchanged); its position is checkpointed (ResumableRng), so a
 * stage resumed after a kill takes exactly the updates an uninterrupted one would.
 */
import * as tf from '@tensorflow/tfjs';
import { classificationMetrics, type ClassificationMetrics } from '../eval/metrics';
import { hubertForward, type HubertModel } from '../models/hubert';
import { createHead, type Head } from '../models/heads';
import { applyDense, attentionPool, maskedMeanPool, type Params } from '../models/layers';
import { deriveSeed, type Rng } from '../random';
import { ResumableRng, runStepLoop, type StepLoopResult, type StepLoopSpec } from '../train/loop';
import { learningRate } from '../train/schedule';
import { makeAudioBatch, type AlignClip, type AudioBatch } from './hubertBatches';
import { maskedPredictionStep, type MaskedPredictionHead } from './maskedPrediction';
import type { SpanMaskOptions } from './masking';

/** The optimisation settings every stage shares (stage (1) TAPT counts steps, the others epochs). */
export interface StepOptions {
  batchSize: number;
  /** Peak learning rate (linear warm-up over `warmupFraction` of the steps, then cosine decay). */
  lr: number;
  warmupFraction: number;
  weightDecay: number;
  /** Global gradient-norm clip (0 = none). */
  clipNorm: number;
  /** Training crops: at most this many seconds per clip (random offset on the 20 ms frame grid). */
  cropSeconds: number;
}

export interface StageOptions extends StepOptions {
  epochs: number;
}

/** Where a stage checkpoints (lib/train/loop): folder, interval in steps, and the run it belongs to. */
export interface StageCheckpoint { dir: string; every: number; fingerprint: string }

/** Resume options of a stage: its checkpoint and (tests, an interrupted run) a step to stop after. */
export interface StageRun { checkpoint?: StageCheckpoint; stopAfter?: number; quiet?: boolean }

/** The encoder's trained parameters: all, or all but the conv feature encoder. */
export function encoderTrainable(enc: HubertModel, freezeFeatureEncoder: boolean): Params {
  return Object.fromEntries(Object.entries(enc.params).filter(([n]) => !(freezeFeatureEncoder && n.startsWith('feature_extractor.'))));
}

/** No weight decay on biases, norms, weight-norm gains, the mask embedding and label embeddings. */
export const hubertDecay = (name: string): boolean => !/(bias|\.b|norm\.weight|weight_g|masked_spec_embed|label_embs)$/.test(name);

/** The loop settings of a stage of `steps` updates with options `o` (schedule over all the steps). */
export function stageLoop(params: Params, steps: number, o: Pick<StepOptions, 'lr' | 'warmupFraction' | 'weightDecay' | 'clipNorm'>, label: string, run: StageRun = {}): Pick<StepLoopSpec, 'params' | 'steps' | 'weightDecay' | 'decay' | 'lr' | 'clipNorm' | 'label' | 'checkpoint' | 'stopAfter' | 'quiet'> {
  const sched = { peak: o.lr, warmupSteps: Math.round(o.warmupFraction * steps), totalSteps: steps, decay: 'cosine' } as const;
  return { params, steps, weightDecay: o.weightDecay, decay: hubertDecay, lr: (step) => learningRate(step, sched), clipNorm: o.clipNorm, label, checkpoint: run.checkpoint, stopAfter: run.stopAfter, quiet: run.quiet };
}

function epochBatches(n: number, batchSize: number, rng: Rng): number[][] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

// ---------------------------------------------------------------------------------------------
// SER model = HuBERT encoder + utterance head (lib/models/heads, attention or mean pooling)

export interface SerModel {
  encoder: HubertModel;
  head: Head;
  headParams: Params;
}

export function createSerModel(encoder: HubertModel, classes: number, pooling: 'attention' | 'mean', seed: number): SerModel {
  // attentionDim 1: e_t = c * tanh(w . h_t + b), the soft attention of Li et al. (tanh(Hw)) with a learned scale.
  const { head, params } = createHead({ kind: 'utterance', name: 'ser', classes, pooling, attentionDim: 1 }, encoder.config.hiddenSize, seed);
  return { encoder, head, headParams: params };
}

/** Logits [B, C] (and attention weights [B, T] for attention heads). Call inside tf.tidy. */
export function serForward(m: SerModel, batch: AudioBatch, training: boolean, seed = 0): { logits: tf.Tensor2D; attention?: tf.Tensor2D } {
  const o = hubertForward(m.encoder, batch.audio, { frameLengths: batch.frameLengths, training, seed });
  if (m.head.pool) {
    const { pooled, weights } = attentionPool(o.lastHiddenState, o.frameMask, m.head.pool);
    return { logits: applyDense(pooled, m.head.out), attention: weights };
  }
  return { logits: applyDense(maskedMeanPool(o.lastHiddenState, o.frameMask), m.head.out) };
}

export interface SerEvaluation {
  metrics: ClassificationMetrics;
  truth: number[];
  pred: number[];
  /** Per clip: attention weights over frames (attention heads). */
  attention: Float32Array[];
}

/** Evaluate clip by clip (batch of one: no padding reaches the group norm), truncating long clips. */
export function evaluateSer(m: SerModel, clips: AlignClip[], classes: number, maxSeconds: number): SerEvaluation {
  const truth: number[] = [], pred: number[] = [], attention: Float32Array[] = [];
  for (const c of clips) {
    const r = tf.tidy(() => {
      const b = makeAudioBatch(m.encoder.config, [c], Math.round(maxSeconds * 16000));
      const o = serForward(m, b, false);
      return { p: tf.argMax(o.logits, -1), a: o.attention ?? tf.zeros([1, 0]) };
    });
    pred.push(r.p.dataSync()[0]);
    attention.push(r.a.dataSync() as Float32Array);
    truth.push(c.label);
    tf.dispose([r.p, r.a]);
  }
  return { metrics: classificationMetrics(truth, pred, classes), truth, pred, attention };
}

export interface SerTrainResult {
  losses: number[];
  /** Dev UA after each epoch; the parameters of the best epoch are kept. */
  devUA: number[];
  bestEpoch: number;
  seconds: number;
  /** Step this call continued from (0: the start; all steps when a finished stage was loaded). */
  resumedFrom: number;
  interrupted: boolean;
}

/** Fine-tune encoder + head for SER (stages 2 and 5); keeps the best dev-UA epoch's weights. */
export async function trainSer(m: SerModel, train: AlignClip[], dev: AlignClip[], classes: number, o: StageOptions, freezeFeatureEncoder: boolean, seed: number, label: string, maxEvalSeconds: number, run: StageRun = {}): Promise<SerTrainResult> {
  const rng = new ResumableRng(deriveSeed(seed, 11));
  const perEpoch = Math.ceil(train.length / o.batchSize);
  let batches: number[][] = [];
  const params: Params = { ...encoderTrainable(m.encoder, freezeFeatureEncoder), ...m.headParams };
  const crop = Math.round(o.cropSeconds * 16000);
  const r: StepLoopResult = await runStepLoop({
    ...stageLoop(params, perEpoch * o.epochs, o, label, run),
    stepsPerEpoch: perEpoch,
    loss: (step) => {
      if (step % perEpoch === 0) batches = epochBatches(train.length, o.batchSize, rng);
      const idx = batches[step % perEpoch];
      return tf.tidy(() => {
        const b = makeAudioBatch(m.encoder.config, idx.map((i) => train[i]), crop, rng);
        const { logits } = serForward(m, b, true, deriveSeed(seed, step));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(b.labels, 'int32'), classes), logits) as tf.Scalar;
      });
    },
    evaluate: () => (dev.length ? evaluateSer(m, dev, classes, maxEvalSeconds).metrics.ua : null),
    state: {
      save: () => ({ draws: rng.draws, batches }),
      load: (s) => { const v = s as { draws: number; batches: number[][] }; rng.seek(v.draws); batches = v.batches; },
    },
  });
  // Without dev speakers every epoch counts as the best so far: the last one is kept (dev UA 0).
  const epochsDone = Math.floor(r.steps / perEpoch);
  return {
    losses: r.losses, devUA: dev.length ? r.dev : new Array(epochsDone).fill(0), bestEpoch: dev.length ? (r.best?.epoch ?? -1) : epochsDone - 1,
    seconds: r.seconds, resumedFrom: r.resumedFrom, interrupted: r.interrupted,
  };
}

// ---------------------------------------------------------------------------------------------
// Stage (4): masked prediction on the frame pseudo-labels

export interface PretrainResult { losses: number[]; maskedAccuracy: number[]; maskedFraction: number; seconds: number; resumedFrom: number; interrupted: boolean }

/** Masked prediction of `frameIds` (one id per frame of each clip) by `enc` + `head`, trained in place. */
export async function pretrainMasked(enc: HubertModel, head: MaskedPredictionHead, clips: AlignClip[], frameIds: Int32Array[], o: StageOptions, cfg: { mask: SpanMaskOptions; freezeFeatureEncoder: boolean; seed: number }, label = '(4) alignment pretraining', run: StageRun = {}): Promise<PretrainResult> {
  const rng = new ResumableRng(deriveSeed(cfg.seed, 21));
  const perEpoch = Math.ceil(clips.length / o.batchSize);
  const params: Params = { ...encoderTrainable(enc, cfg.freezeFeatureEncoder), ...head.params };
  const cropSamples = Math.round(o.cropSeconds * 16000);
  let batches: number[][] = [];
  let acc: number[] = [];
  let maskedSum = 0, validSum = 0;
  const r = await runStepLoop({
    ...stageLoop(params, perEpoch * o.epochs, o, label, run),
    loss: (step) => {
      if (step % perEpoch === 0) batches = epochBatches(clips.length, o.batchSize, rng);
      const idx = batches[step % perEpoch];
      const s = maskedPredictionStep(enc, head, idx.map((i) => clips[i]), idx.map((i) => frameIds[i]), { cropSamples, mask: cfg.mask, dropoutSeed: deriveSeed(cfg.seed, 5, step) }, rng);
      acc.push(s.accuracy);
      maskedSum += s.masked;
      validSum += s.valid;
      return s.loss;
    },
    state: {
      save: () => ({ draws: rng.draws, batches, acc, maskedSum, validSum }),
      load: (s) => {
        const v = s as { draws: number; batches: number[][]; acc: number[]; maskedSum: number; validSum: number };
        rng.seek(v.draws); batches = v.batches; acc = v.acc; maskedSum = v.maskedSum; validSum = v.validSum;
      },
    },
  });
  return { losses: r.losses, maskedAccuracy: acc, maskedFraction: validSum ? maskedSum / validSum : 0, seconds: r.seconds, resumedFrom: r.resumedFrom, interrupted: r.interrupted };
}
