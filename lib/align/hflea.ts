/**
 * HFLEA — HuBERT-based frame-level emotional state alignment (Li et al., ICASSP 2024), five stages
 * (named as in the paper; the code's letters (a)-(d) of earlier versions are kept in field names):
 *
 *  (1) TAPT, task-adaptive pretraining: HuBERT's masked-prediction pretraining continued on the task
 *      audio, targets = k-means of a layer of the model at hand (./tapt; HFLEA: layer 9, k 500, 20k
 *      updates). `config.tapt: null` skips it;
 *  (2) FT, fine-tuning for SER (utterance head on pooled frames) — the "fine-tuned HuBERT" (a);
 *  (3) frame-level pseudo-emotion labels: layer-`clusterLayer` frame embeddings (9 for Base) of the
 *      fine-tuned model, clustered with k-means (k = 50; lib/pseudo kmeansFit) (b);
 *  (4) frame-level emotional state alignment pretraining: continued masked prediction on those labels
 *      (span masking, cosine logits against learned label embeddings after a 256-d projection, tau
 *      0.1, loss on masked frames; lib/align/pretrain) (c);
 *  (5) fine-tuning with an attention layer: soft-attention pooling head for SER (d).
 *
 * Protocol (stricter than the public HFLEA script, which pretrains on each fold's test audio and
 * reports (validation + test) / 2 at the best validation epoch): only training speakers' audio is
 * used in stages (1)-(4); the dev speakers select the best epoch of (2) and (5); test speakers are touched
 * only by the final evaluation, and the test score is reported alone.
 *
 * Everything trains on every tfjs backend (HuBERT's convolutions are im2col) with AdamW, a warm-up +
 * cosine schedule and global-norm clipping from lib/train.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm } from '../train/adamw';
import { learningRate } from '../train/schedule';
import { classificationMetrics, type ClassificationMetrics } from '../eval/metrics';
import { kmeansFit, assignClusters, type KMeansFit } from '../pseudo/kmeans';
import { createHead, type Head } from '../models/heads';
import { applyDense, attentionPool, maskedMeanPool, type Params } from '../models/layers';
import { deriveSeed, Rng } from '../models/random';
import { hubertForward, type HubertModel } from '../models/hubert';
import { hubertFrameCount, hubertHop, type HubertConfig } from '../models/hubertConfig';
import { progress } from '../show/progress';
import { EmolabError } from '../errors';
import { HUBERT_BASE_MASK, spanMask, type SpanMaskOptions } from './masking';
import { createMaskedPredictionHead, maskedPredictionLogits, maskedPredictionLoss, type MaskedPredictionHead } from './pretrain';
import { runTapt, type TaptOptions, type TaptResult } from './tapt';
import { layerEmbeddings, makeAudioBatch, splitIds, utteranceEmbeddings, type AlignClip, type AudioBatch } from './batches';
export * from './batches';

export interface StageOptions {
  epochs: number;
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

export interface HfleaConfig {
  /** Stage (1), task-adaptive pretraining before fine-tuning; null: none (fine-tune the encoder as it comes). */
  tapt: TaptOptions | null;
  /** Which hidden state is clustered: hidden_states[clusterLayer] (9 for Base, as HFLEA). */
  clusterLayer: number;
  /** k-means clusters (50). */
  k: number;
  /** Masked prediction: projection size (256), cosine temperature (0.1), span masking (p 0.08, l 10). */
  projDim: number;
  temperature: number;
  mask: SpanMaskOptions;
  /** Keep the conv feature encoder frozen in (a), (c), (d) (true for a pretrained checkpoint). */
  freezeFeatureEncoder: boolean;
  /** Step (c) starts from the step-(a) encoder ('finetuned', HFLEA) or the original weights. */
  pretrainFrom: 'finetuned' | 'original';
  /** Step (a) pooling: 'attention' (default) or 'mean'. Step (d) always uses attention pooling. */
  poolingA: 'attention' | 'mean';
  finetune: StageOptions;
  pretrain: StageOptions;
  finetuneAttention: StageOptions;
  /** Longest clip evaluated / embedded, seconds (longer clips are truncated). */
  maxEvalSeconds: number;
  seed: number;
}

/** HFLEA's settings for HuBERT Base (fine-tuning rates for a pretrained 94 M model). */
export function hfleaBaseDefaults(): HfleaConfig {
  const ft: StageOptions = { epochs: 20, batchSize: 8, lr: 5e-5, warmupFraction: 0.1, weightDecay: 0.01, clipNorm: 1, cropSeconds: 6 };
  return {
    // TAPT as in the HFLEA code: hubert-base layer-9 k-means with k = 500, 20k updates; fairseq's HuBERT
    // pretraining crops (250,000 samples = 15.6 s) and clip norm (10); the conv encoder stays frozen, as in the other stages.
    tapt: { layer: 9, k: 500, kmeansMaxFrames: 250_000, steps: 20_000, batchSize: 8, lr: 5e-5, warmupFraction: 0.08, weightDecay: 0.01, clipNorm: 10, cropSeconds: 15.6, mask: HUBERT_BASE_MASK, projDim: 256, temperature: 0.1, freezeFeatureEncoder: true, checkpointEvery: 1000, seed: 0 },
    clusterLayer: 9, k: 50, projDim: 256, temperature: 0.1, mask: HUBERT_BASE_MASK,
    freezeFeatureEncoder: true, pretrainFrom: 'finetuned', poolingA: 'attention',
    finetune: ft, pretrain: { ...ft, epochs: 20, lr: 5e-5 }, finetuneAttention: ft,
    maxEvalSeconds: 15, seed: 0,
  };
}

/**
 * The same four steps for the tiny HuBERT trained from scratch (hubertTinyConfig): layer 3 of 4,
 * k = 8, spans of 5 frames (clips are short), larger rates, the feature encoder trained too.
 */
export function hfleaTinyDefaults(): HfleaConfig {
  const ft: StageOptions = { epochs: 3, batchSize: 8, lr: 2e-3, warmupFraction: 0.1, weightDecay: 0.01, clipNorm: 1, cropSeconds: 1.5 };
  return {
    // TAPT targets from layer 3 of 4 (HFLEA's 9 of 12 is at the same relative depth), k = 50 (500 for
    // ~100 h of IEMOCAP-size audio; EmoDB's training speakers have ~28k frames); steps per profile.
    tapt: { layer: 3, k: 50, kmeansMaxFrames: 0, steps: 300, batchSize: 8, lr: 1e-3, warmupFraction: 0.1, weightDecay: 0.01, clipNorm: 1, cropSeconds: 1.5, mask: { startProb: 0.08, length: 5, minSpans: 2 }, projDim: 256, temperature: 0.1, freezeFeatureEncoder: false, checkpointEvery: 50, seed: 0 },
    clusterLayer: 3, k: 8, projDim: 256, temperature: 0.1, mask: { startProb: 0.08, length: 5, minSpans: 2 },
    freezeFeatureEncoder: false, pretrainFrom: 'finetuned', poolingA: 'attention',
    finetune: ft, pretrain: { ...ft, epochs: 3, lr: 1e-3 }, finetuneAttention: ft,
    maxEvalSeconds: 4, seed: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Batches

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

function encoderTrainable(enc: HubertModel, freezeFeatureEncoder: boolean): Params {
  return Object.fromEntries(Object.entries(enc.params).filter(([n]) => !(freezeFeatureEncoder && n.startsWith('feature_extractor.'))));
}

const decayOf = (name: string): boolean => !/(bias|\.b|norm\.weight|weight_g|masked_spec_embed|label_embs)$/.test(name);

interface LoopResult { losses: number[]; seconds: number }

/** Generic loop: AdamW + warm-up/cosine + clipping over `steps` calls of `lossFn(step)`. */
async function optimise(params: Params, steps: number, o: StageOptions, label: string, lossFn: (step: number) => tf.Scalar, onEpochEnd?: (step: number) => void, stepsPerEpoch = steps): Promise<LoopResult> {
  const opt = new AdamW(params, { weightDecay: o.weightDecay, decay: decayOf });
  const names = Object.keys(params);
  const vars = names.map((n) => params[n]);
  const byVarName = new Map(names.map((n) => [params[n].name, n]));
  const bar = progress(label, steps, { unit: 'steps' });
  const losses: number[] = [];
  const t0 = Date.now();
  for (let step = 0; step < steps; step++) {
    const { value, grads } = tf.variableGrads(() => lossFn(step), vars);
    const named: Record<string, tf.Tensor> = {};
    for (const [id, g] of Object.entries(grads)) named[byVarName.get(id)!] = g;
    const clipped = clipByGlobalNorm(named, o.clipNorm);
    opt.apply(clipped.grads, learningRate(step, { peak: o.lr, warmupSteps: Math.round(o.warmupFraction * steps), totalSteps: steps, decay: 'cosine' }));
    const loss = value.dataSync()[0];
    losses.push(loss);
    tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
    bar.tick(1, `loss ${loss.toFixed(3)}`);
    if (onEpochEnd && (step + 1) % stepsPerEpoch === 0) onEpochEnd(step);
    await new Promise((r) => setImmediate(r));
  }
  bar.done();
  opt.dispose();
  return { losses, seconds: (Date.now() - t0) / 1000 };
}

function snapshot(params: Params): Map<string, tf.Tensor> {
  return new Map(Object.entries(params).map(([n, v]) => [n, tf.clone(v)]));
}

function restore(params: Params, snap: Map<string, tf.Tensor>): void {
  for (const [n, t] of snap) params[n].assign(t);
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
}

/** Fine-tune encoder + head for SER (steps a and d); keeps the best dev-UA epoch's weights. */
export async function trainSer(m: SerModel, train: AlignClip[], dev: AlignClip[], classes: number, o: StageOptions, freezeFeatureEncoder: boolean, seed: number, label: string, maxEvalSeconds: number): Promise<SerTrainResult> {
  const rng = new Rng(deriveSeed(seed, 11));
  const perEpoch = Math.ceil(train.length / o.batchSize);
  const steps = perEpoch * o.epochs;
  let batches: number[][] = [];
  const params: Params = { ...encoderTrainable(m.encoder, freezeFeatureEncoder), ...m.headParams };
  const crop = Math.round(o.cropSeconds * 16000);
  const devUA: number[] = [];
  let best = -1, bestEpoch = -1;
  let snap: Map<string, tf.Tensor> | undefined;
  const result = await optimise(params, steps, o, label, (step) => {
    if (step % perEpoch === 0) batches = epochBatches(train.length, o.batchSize, rng);
    const idx = batches[step % perEpoch];
    return tf.tidy(() => {
      const b = makeAudioBatch(m.encoder.config, idx.map((i) => train[i]), crop, rng);
      const { logits } = serForward(m, b, true, deriveSeed(seed, step));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(b.labels, 'int32'), classes), logits) as tf.Scalar;
    });
  }, () => {
    const ua = dev.length ? evaluateSer(m, dev, classes, maxEvalSeconds).metrics.ua : 0;
    devUA.push(ua);
    if (ua > best || !dev.length) {
      best = ua; bestEpoch = devUA.length - 1;
      if (snap) tf.dispose([...snap.values()]);
      snap = snapshot(params);
    }
  }, perEpoch);
  if (snap) { restore(params, snap); tf.dispose([...snap.values()]); }
  return { losses: result.losses, devUA, bestEpoch, seconds: result.seconds };
}

// ---------------------------------------------------------------------------------------------
// (b) frame embeddings and clusters

// ---------------------------------------------------------------------------------------------
// (c) masked prediction on the frame pseudo-labels

export interface PretrainResult { losses: number[]; maskedAccuracy: number[]; maskedFraction: number; seconds: number }

export async function pretrainMasked(enc: HubertModel, head: MaskedPredictionHead, clips: AlignClip[], frameIds: Int32Array[], cfg: HfleaConfig, label = '(c) masked prediction'): Promise<PretrainResult> {
  const o = cfg.pretrain;
  const rng = new Rng(deriveSeed(cfg.seed, 21));
  const perEpoch = Math.ceil(clips.length / o.batchSize);
  const steps = perEpoch * o.epochs;
  const params: Params = { ...encoderTrainable(enc, cfg.freezeFeatureEncoder), ...head.params };
  const crop = Math.round(o.cropSeconds * 16000);
  let batches: number[][] = [];
  const acc: number[] = [];
  let maskedSum = 0, validSum = 0;
  const result = await optimise(params, steps, o, label, (step) => {
    if (step % perEpoch === 0) batches = epochBatches(clips.length, o.batchSize, rng);
    const idx = batches[step % perEpoch];
    return tf.tidy(() => {
      const b = makeAudioBatch(enc.config, idx.map((i) => clips[i]), crop, rng);
      const t = b.frames;
      const mask = spanMask(b.frameLengths, t, cfg.mask, rng);
      const targets = new Int32Array(idx.length * t).fill(-1);
      const weight = new Float32Array(idx.length * t);
      idx.forEach((ci, r) => {
        const ids = frameIds[ci];
        for (let f = 0; f < b.frameLengths[r]; f++) {
          const id = ids[b.frameOffsets[r] + f];
          if (id === undefined) continue; // beyond the embedded part of a truncated clip
          targets[r * t + f] = id;
          weight[r * t + f] = mask[r * t + f];
          validSum++;
        }
      });
      maskedSum += weight.reduce((a, x) => a + x, 0);
      const out = hubertForward(enc, b.audio, { frameLengths: b.frameLengths, maskTimeIndices: tf.tensor2d(mask, [idx.length, t]), training: true, seed: deriveSeed(cfg.seed, 5, step) });
      const logits = maskedPredictionLogits(head, out.lastHiddenState);
      const { loss, correct, count } = maskedPredictionLoss(logits, targets, weight);
      acc.push(count ? correct.dataSync()[0] / count : 0);
      return loss;
    });
  });
  return { losses: result.losses, maskedAccuracy: acc, maskedFraction: validSum ? maskedSum / validSum : 0, seconds: result.seconds };
}

// ---------------------------------------------------------------------------------------------
// The four steps end to end

export interface HfleaData {
  train: AlignClip[];
  dev: AlignClip[];
  test: AlignClip[];
  classes: string[];
}

export interface HfleaResult {
  config: HfleaConfig;
  /** Stage (1), TAPT (absent when config.tapt is null). */
  tapt?: TaptResult;
  /** Stage (2) FT: the fine-tuned model (after TAPT when config.tapt is set) with its head, on test. */
  finetune: SerTrainResult & { test: SerEvaluation };
  /** Stage (3): frame pseudo-emotion labels. */
  clusters: { k: number; layer: number; inertia: number; frames: number; clusterSizes: number[] };
  /** Stage (4): alignment pretraining on the pseudo-labels. */
  pretrain: PretrainResult;
  /** Stage (5): attention-pooling fine-tune of the re-pretrained encoder, on test. */
  aligned: SerTrainResult & { test: SerEvaluation };
  /** Utterance embeddings (mean of the last layer) of `opts.embedClips` after each stage, when asked for. */
  embeddings?: { stage: string; vectors: number[][] }[];
  /** Frame pseudo-labels of each training clip (step b). */
  trainFrameIds: Int32Array[];
  /** Test frame cluster ids (step-(a) model, layer clusterLayer, assigned to the step-(b) centroids). */
  testFrameIds: Int32Array[];
  kmeans: KMeansFit;
  /** The final models (caller disposes). */
  models: { finetuned: SerModel; aligned: SerModel };
}

function assertSpeakerIndependent(d: HfleaData): void {
  const test = new Set(d.test.map((c) => c.speaker));
  const leak = [...d.train, ...d.dev].filter((c) => test.has(c.speaker));
  if (leak.length) throw new EmolabError('train', `test speakers appear in training/dev data (${[...new Set(leak.map((c) => c.speaker))].join(', ')}): the protocol is speaker-independent`);
}

function cloneHubert(m: HubertModel): HubertModel {
  return { config: m.config, params: Object.fromEntries(Object.entries(m.params).map(([n, v]) => [n, tf.variable(v.clone(), true)])) };
}

/**
 * Run stages (1)-(5). `makeEncoder` returns the starting encoder (a loaded checkpoint, or initHubert for
 * the tiny model trained from scratch); it is called twice when pretrainFrom = 'original'.
 * `opts.taptDir` makes stage (1) resumable there; `opts.source` names the starting weights.
 */
export async function runHflea(data: HfleaData, cfg: HfleaConfig, makeEncoder: () => HubertModel, opts: { taptDir?: string; source?: string; embedClips?: AlignClip[] } = {}): Promise<HfleaResult> {
  assertSpeakerIndependent(data);
  const nC = data.classes.length;
  const encA = makeEncoder();
  const embeddings: { stage: string; vectors: number[][] }[] = [];
  const embed = (stage: string, enc: HubertModel): void => { if (opts.embedClips?.length) embeddings.push({ stage, vectors: utteranceEmbeddings(enc, opts.embedClips, cfg.maxEvalSeconds) }); };
  embed(cfg.tapt ? 'before TAPT (starting model)' : 'starting model', encA);
  // (1) TAPT on the training speakers' audio
  const tapt = cfg.tapt ? await runTapt(encA, data.train, cfg.tapt, { dir: opts.taptDir, source: opts.source ?? `seed${cfg.seed}`, maxEvalSeconds: cfg.maxEvalSeconds }) : undefined;
  if (tapt) embed('after (1) TAPT', encA);
  // (2) FT (a)
  const a = createSerModel(encA, nC, cfg.poolingA, deriveSeed(cfg.seed, 1));
  const ftA = await trainSer(a, data.train, data.dev, nC, cfg.finetune, cfg.freezeFeatureEncoder, deriveSeed(cfg.seed, 2), '(2) FT fine-tune', cfg.maxEvalSeconds);
  const testA = evaluateSer(a, data.test, nC, cfg.maxEvalSeconds);
  embed('after (2) FT', encA);
  // (3) pseudo-emotion labels (b)
  const emb = layerEmbeddings(encA, data.train, cfg.clusterLayer, cfg.maxEvalSeconds);
  const km = kmeansFit(emb.data, emb.dim, cfg.k, { seed: cfg.seed });
  const trainIds = splitIds(km.ids, emb.lengths);
  const testEmb = layerEmbeddings(encA, data.test, cfg.clusterLayer, cfg.maxEvalSeconds);
  const testFrameIds = splitIds(assignClusters(testEmb.data, testEmb.dim, km.centroids, km.k).ids, testEmb.lengths);
  const sizes = new Array(km.k).fill(0);
  for (const id of km.ids) sizes[id]++;
  // (4) alignment pretraining (c)
  const encC = cfg.pretrainFrom === 'finetuned' ? cloneHubert(encA) : makeEncoder();
  const mp = createMaskedPredictionHead(encC.config.hiddenSize, cfg.k, deriveSeed(cfg.seed, 3), cfg.projDim, cfg.temperature);
  const pre = await pretrainMasked(encC, mp, data.train, trainIds, cfg, '(4) alignment pretraining');
  tf.dispose(Object.values(mp.params));
  embed('after (4) alignment pretraining', encC);
  // (5) attention fine-tune (d)
  const d = createSerModel(encC, nC, 'attention', deriveSeed(cfg.seed, 4));
  const ftD = await trainSer(d, data.train, data.dev, nC, cfg.finetuneAttention, cfg.freezeFeatureEncoder, deriveSeed(cfg.seed, 5), '(5) attention fine-tune', cfg.maxEvalSeconds);
  const testD = evaluateSer(d, data.test, nC, cfg.maxEvalSeconds);
  embed('after (5) attention FT', encC);
  return {
    config: cfg,
    ...(tapt ? { tapt } : {}),
    ...(embeddings.length ? { embeddings } : {}),
    finetune: { ...ftA, test: testA },
    clusters: { k: km.k, layer: cfg.clusterLayer, inertia: km.inertia, frames: km.ids.length, clusterSizes: sizes },
    pretrain: pre,
    aligned: { ...ftD, test: testD },
    trainFrameIds: trainIds,
    testFrameIds,
    kmeans: km,
    models: { finetuned: a, aligned: d },
  };
}

/** Dispose the models of a result. */
export function disposeHfleaModels(r: HfleaResult): void {
  for (const m of [r.models.finetuned, r.models.aligned]) tf.dispose([...Object.values(m.encoder.params), ...Object.values(m.headParams)]);
}

