/**
 * Stage 1 of Li et al.'s HFLEA: **task-adaptive pretraining (TAPT)** — HuBERT's own masked-prediction
 * pretraining, continued on the task's audio before any emotion label is used. In the HFLEA code this
 * is fairseq HuBERT pretraining on the IEMOCAP audio with the official HuBERT-Base targets (k-means
 * with k = 500 on layer-9 features of the released model), 20k updates, before fine-tuning.
 *
 * Here the targets are drawn from **the model at hand**: k-means (lib/pseudo/kmeans, k-means++ +
 * Lloyd) on hidden_states[`layer`] of the encoder as it is before TAPT, over the training speakers'
 * audio only (the test speakers are never heard; the public script's audio lists include them); then
 * `steps` updates of span-masked prediction of those cluster ids (the loss and head of
 * ./pretrain: cosine logits against learned cluster embeddings, temperature tau, masked frames only).
 *
 * Resumable: with `dir`, the targets (targets.safetensors) and, every `checkpointEvery` steps, the
 * encoder, head and AdamW state (checkpoint.safetensors + tapt.json) are written; a call with the same
 * fingerprint continues from the last checkpoint, and a finished run is loaded, not retrained. The
 * batch order of epoch e and the crops/masks of step s come from seeds derived from (seed, e) and
 * (seed, s), so a resumed run takes exactly the steps an uninterrupted one would.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EmolabError } from '../errors';
import { hubertForward, paramsToArrays, type HubertModel } from '../models/hubert';
import type { Params } from '../models/layers';
import { deriveSeed, Rng } from '../models/random';
import { assignClusters, kmeansFit } from '../pseudo/kmeans';
import { progress } from '../show/progress';
import { writeJsonAtomic } from '../atomic';
import { readSafetensors, writeSafetensors } from '../store/safetensors';
import { AdamW, clipByGlobalNorm } from '../train/adamw';
import { learningRate } from '../train/schedule';
import { layerEmbeddings, makeAudioBatch, splitIds, type AlignClip } from './batches';
import { spanMask, type SpanMaskOptions } from './masking';
import { createMaskedPredictionHead, maskedPredictionLogits, maskedPredictionLoss } from './pretrain';

/** Settings of the TAPT stage (lib/experiments/li2024 sizes them per profile). */
export interface TaptOptions {
  /** hidden_states[layer] of the model at hand is clustered into the targets (HFLEA: 9 of hubert-base). */
  layer: number;
  /** k-means clusters (HFLEA: 500). */
  k: number;
  /** At most this many frames (seeded sample) fit the k-means; every frame is then assigned (0: all). */
  kmeansMaxFrames: number;
  /** Parameter updates (HFLEA: 20,000). */
  steps: number;
  batchSize: number;
  lr: number;
  warmupFraction: number;
  weightDecay: number;
  clipNorm: number;
  /** Training crops: at most this many seconds per clip, on the 20 ms frame grid. */
  cropSeconds: number;
  mask: SpanMaskOptions;
  projDim: number;
  temperature: number;
  /** Keep the conv feature encoder frozen (true for a pretrained checkpoint). */
  freezeFeatureEncoder: boolean;
  /** Write a resumable checkpoint every this many steps (and at the end). */
  checkpointEvery: number;
  seed: number;
}

export interface TaptResult {
  /** Loss and masked-frame accuracy per update. */
  losses: number[];
  maskedAccuracy: number[];
  /** Fraction of valid frames that were masked. */
  maskedFraction: number;
  steps: number;
  targets: { layer: number; k: number; frames: number; fitFrames: number; inertia: number; clusterSizes: number[] };
  /** Step the run continued from (0: from the start); `steps` when a finished run was loaded. */
  resumedFrom: number;
  /** Seconds of training in this call. */
  seconds: number;
  fingerprint: string;
}

const TAPT_SCHEMA = 'emolab.tapt.v1';

/** What identifies a TAPT run: its settings, the training clips and where the starting weights came from. */
export function taptFingerprint(o: TaptOptions, clips: AlignClip[], source: string, maxEvalSeconds: number): string {
  const h = createHash('sha256');
  const { checkpointEvery: _c, ...rest } = o;
  h.update(JSON.stringify({ rest, source, maxEvalSeconds, clips: clips.map((c) => [c.id, c.audio.length]) }));
  return h.digest('hex').slice(0, 16);
}

function trainable(enc: HubertModel, freeze: boolean): Params {
  return Object.fromEntries(Object.entries(enc.params).filter(([n]) => !(freeze && n.startsWith('feature_extractor.'))));
}

const decayOf = (name: string): boolean => !/(bias|\.b|norm\.weight|weight_g|masked_spec_embed|label_embs)$/.test(name);

interface TaptState {
  schema: typeof TAPT_SCHEMA;
  fingerprint: string;
  step: number;
  done: boolean;
  losses: number[];
  maskedAccuracy: number[];
  masked: number;
  valid: number;
  targets: TaptResult['targets'];
  options: TaptOptions;
  source: string;
}

function validateOptions(o: TaptOptions, enc: HubertModel): void {
  const bad = (what: string): never => { throw new EmolabError('settings', `TAPT ${what}`, { hint: 'see lib/experiments/li2024.ts (config.tapt)' }); };
  if (!Number.isInteger(o.layer) || o.layer < 0 || o.layer > enc.config.numHiddenLayers) bad(`layer ${o.layer} does not exist (the model has hidden_states 0..${enc.config.numHiddenLayers})`);
  if (!Number.isInteger(o.k) || o.k < 2) bad(`k must be an integer >= 2, got ${o.k}`);
  if (!Number.isInteger(o.steps) || o.steps < 1) bad(`steps must be a positive integer, got ${o.steps}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) bad(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 1) bad(`checkpointEvery must be a positive integer, got ${o.checkpointEvery}`);
  if (!(o.lr > 0)) bad(`lr must be > 0, got ${o.lr}`);
}

/** k-means targets from hidden_states[layer] of `enc` (the model at hand), one Int32Array per clip. */
export function taptTargets(enc: HubertModel, clips: AlignClip[], o: Pick<TaptOptions, 'layer' | 'k' | 'kmeansMaxFrames' | 'seed'>, maxEvalSeconds: number): { ids: Int32Array[]; centroids: Float32Array; info: TaptResult['targets'] } {
  const emb = layerEmbeddings(enc, clips, o.layer, maxEvalSeconds);
  const n = emb.lengths.reduce((a, b) => a + b, 0);
  if (n < o.k) throw new EmolabError('train', `TAPT: ${n} frames cannot make ${o.k} clusters`, { hint: 'use more clips or a smaller k' });
  let fitData = emb.data;
  let fitFrames = n;
  if (o.kmeansMaxFrames > 0 && n > o.kmeansMaxFrames) {
    const rows = new Rng(deriveSeed(o.seed, 41)).shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, o.kmeansMaxFrames).sort((a, b) => a - b);
    fitData = new Float32Array(rows.length * emb.dim);
    rows.forEach((r, i) => fitData.set(emb.data.subarray(r * emb.dim, (r + 1) * emb.dim), i * emb.dim));
    fitFrames = rows.length;
  }
  const km = kmeansFit(fitData, emb.dim, o.k, { seed: o.seed });
  const all = assignClusters(emb.data, emb.dim, km.centroids, km.k);
  const sizes = new Array(km.k).fill(0);
  for (const id of all.ids) sizes[id]++;
  return { ids: splitIds(all.ids, emb.lengths), centroids: km.centroids, info: { layer: o.layer, k: km.k, frames: n, fitFrames, inertia: all.inertia, clusterSizes: sizes } };
}

/**
 * Run (or resume, or load) TAPT on `enc` in place over `clips` (training speakers only).
 * `source` names the starting weights for the fingerprint ("tiny-init-seed0", a checkpoint folder).
 * `stopAfter` (tests, and an interrupted run) ends the call after that many total steps.
 */
export async function runTapt(enc: HubertModel, clips: AlignClip[], o: TaptOptions, opts: { dir?: string; source: string; maxEvalSeconds: number; stopAfter?: number; label?: string }): Promise<TaptResult> {
  validateOptions(o, enc);
  if (clips.length === 0) throw new EmolabError('train', 'TAPT needs training audio: no clips');
  const fp = taptFingerprint(o, clips, opts.source, opts.maxEvalSeconds);
  const dir = opts.dir;
  const stateFile = dir ? join(dir, 'tapt.json') : undefined;
  const ckptFile = dir ? join(dir, 'checkpoint.safetensors') : undefined;
  const targetsFile = dir ? join(dir, 'targets.safetensors') : undefined;
  let saved: TaptState | undefined;
  if (stateFile && existsSync(stateFile)) {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as TaptState;
    if (s.schema === TAPT_SCHEMA && s.fingerprint === fp && ckptFile && existsSync(ckptFile)) saved = s;
  }
  const head = createMaskedPredictionHead(enc.config.hiddenSize, o.k, deriveSeed(o.seed, 3), o.projDim, o.temperature);
  const params: Params = { ...trainable(enc, o.freezeFeatureEncoder), ...head.params };
  const opt = new AdamW(params, { weightDecay: o.weightDecay, decay: decayOf });
  try {
    // targets: from the model as it was before TAPT (saved, so a resumed run uses the same ones)
    let ids: Int32Array[];
    let info: TaptResult['targets'];
    if (saved && targetsFile && existsSync(targetsFile)) {
      const { tensors } = readSafetensors(targetsFile);
      const flat = tensors.ids.data as Int32Array;
      const lengths = Array.from(tensors.lengths.data as Int32Array);
      ids = splitIds(flat, lengths);
      info = saved.targets;
    } else {
      const t = taptTargets(enc, clips, o, opts.maxEvalSeconds);
      ids = t.ids;
      info = t.info;
      if (targetsFile) {
        mkdirSync(dir!, { recursive: true });
        const flat = new Int32Array(ids.reduce((a, x) => a + x.length, 0));
        let off = 0;
        for (const x of ids) { flat.set(x, off); off += x.length; }
        writeSafetensors(targetsFile, { ids: { data: flat, shape: [flat.length], dtype: 'I32' }, lengths: { data: Int32Array.from(ids.map((x) => x.length)), shape: [ids.length], dtype: 'I32' }, centroids: { data: t.centroids, shape: [info.k, enc.config.hiddenSize] } }, { fingerprint: fp, layer: String(o.layer) });
      }
    }
    const losses = saved ? [...saved.losses] : [];
    const acc = saved ? [...saved.maskedAccuracy] : [];
    let masked = saved?.masked ?? 0, valid = saved?.valid ?? 0;
    let start = 0;
    if (saved) {
      const { tensors } = readSafetensors(ckptFile!);
      for (const [n, v] of Object.entries(params)) {
        const t = tensors[`param/${n}`];
        if (!t) throw new EmolabError('train', `TAPT checkpoint lacks ${n}`, { file: ckptFile, hint: 'delete the folder to start TAPT again' });
        tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape, 'float32')));
      }
      const moments: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [n, t] of Object.entries(tensors)) if (n.startsWith('adam.')) moments[n] = { data: t.data as Float32Array, shape: t.shape };
      opt.loadState(moments, saved.step, ckptFile);
      start = saved.step;
    }
    const result = (seconds: number, steps: number): TaptResult => ({ losses, maskedAccuracy: acc, maskedFraction: valid ? masked / valid : 0, steps, targets: info, resumedFrom: start, seconds, fingerprint: fp });
    const save = (step: number, done: boolean): void => {
      if (!dir) return;
      const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [n, a] of Object.entries(paramsToArrays(params))) tensors[`param/${n}`] = a;
      for (const [n, a] of Object.entries(paramsToArrays(opt.state()))) tensors[n] = a;
      writeSafetensors(ckptFile!, tensors, { fingerprint: fp, step: String(step) });
      const st: TaptState = { schema: TAPT_SCHEMA, fingerprint: fp, step, done, losses, maskedAccuracy: acc, masked, valid, targets: info, options: o, source: opts.source };
      writeJsonAtomic(stateFile!, st);
    };
    if (saved?.done) return result(0, saved.step);
    const perEpoch = Math.ceil(clips.length / o.batchSize);
    const crop = Math.round(o.cropSeconds * 16000);
    const names = Object.keys(params);
    const vars = names.map((n) => params[n]);
    const byVarName = new Map(names.map((n) => [params[n].name, n]));
    const end = Math.min(o.steps, opts.stopAfter ?? o.steps);
    const bar = progress(opts.label ?? '(1) TAPT masked prediction', o.steps, { unit: 'steps' });
    if (start) bar.tick(start, 'resumed');
    const t0 = Date.now();
    let order: number[] = [];
    let orderEpoch = -1;
    for (let step = start; step < end; step++) {
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== orderEpoch) { order = new Rng(deriveSeed(o.seed, 32, epoch)).shuffle(Array.from({ length: clips.length }, (_, i) => i)); orderEpoch = epoch; }
      const within = step % perEpoch;
      const idx = order.slice(within * o.batchSize, (within + 1) * o.batchSize);
      const rng = new Rng(deriveSeed(o.seed, 31, step));
      let stepAcc = 0;
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
        const b = makeAudioBatch(enc.config, idx.map((i) => clips[i]), crop, rng);
        const t = b.frames;
        const mask = spanMask(b.frameLengths, t, o.mask, rng);
        const targets = new Int32Array(idx.length * t).fill(-1);
        const weight = new Float32Array(idx.length * t);
        idx.forEach((ci, r) => {
          for (let f = 0; f < b.frameLengths[r]; f++) {
            const id = ids[ci][b.frameOffsets[r] + f];
            if (id === undefined) continue;
            targets[r * t + f] = id;
            weight[r * t + f] = mask[r * t + f];
            valid++;
          }
        });
        masked += weight.reduce((a, x) => a + x, 0);
        const out = hubertForward(enc, b.audio, { frameLengths: b.frameLengths, maskTimeIndices: tf.tensor2d(mask, [idx.length, t]), training: true, seed: deriveSeed(o.seed, 5, step) });
        const logits = maskedPredictionLogits(head, out.lastHiddenState);
        const l = maskedPredictionLoss(logits, targets, weight);
        stepAcc = l.count ? l.correct.dataSync()[0] / l.count : 0;
        return l.loss;
      }), vars);
      const named: Record<string, tf.Tensor> = {};
      for (const [id, g] of Object.entries(grads)) named[byVarName.get(id)!] = g;
      const clipped = clipByGlobalNorm(named, o.clipNorm);
      opt.apply(clipped.grads, learningRate(step, { peak: o.lr, warmupSteps: Math.round(o.warmupFraction * o.steps), totalSteps: o.steps, decay: 'cosine' }));
      const loss = value.dataSync()[0];
      losses.push(loss);
      acc.push(stepAcc);
      tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
      bar.tick(1, `loss ${loss.toFixed(3)} acc ${stepAcc.toFixed(2)}`);
      if ((step + 1) % o.checkpointEvery === 0 && step + 1 < o.steps) save(step + 1, false);
      await new Promise((r) => setImmediate(r));
    }
    bar.done();
    const done = end >= o.steps;
    if (done || end % o.checkpointEvery !== 0) save(end, done);
    return result((Date.now() - t0) / 1000, end);
  } finally {
    opt.dispose();
    tf.dispose(Object.values(head.params));
  }
}
