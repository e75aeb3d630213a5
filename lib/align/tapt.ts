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
 * encoder, head and AdamW state (lib/train/loop's last.safetensors; tapt.json sums the run up) are written; a call with the same
 * fingerprint continues from the last checkpoint, and a finished run is loaded, not retrained. The
 * batch order of epoch e and the crops/masks of step s come from seeds derived from (seed, e) and
 * (seed, s), so a resumed run takes exactly the steps an uninterrupted one would.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EmolabError } from '../errors';
import type { HubertModel } from '../models/hubert';
import type { Params } from '../models/layers';
import { deriveSeed, Rng } from '../random';
import { assignClusters, kmeansFit } from '../pseudo/kmeans';
import { writeJsonAtomic } from '../atomic';
import { readSafetensors, writeSafetensors } from '../store/safetensors';
import { shortHash } from '../hash';
import { readLoopState, runStepLoop } from '../train/loop';
import { layerEmbeddings, splitIds, type AlignClip } from './hubertBatches';
import type { SpanMaskOptions } from './masking';
import { createMaskedPredictionHead, maskedPredictionStep } from './maskedPrediction';
import { encoderTrainable, stageLoop, type StepOptions } from './stages';

/** Settings of the TAPT stage (lib/experiments/li2024 sizes them per profile). */
export interface TaptOptions extends StepOptions {
  /** hidden_states[layer] of the model at hand is clustered into the targets (HFLEA: 9 of hubert-base). */
  layer: number;
  /** k-means clusters (HFLEA: 500). */
  k: number;
  /** At most this many frames (seeded sample) fit the k-means; every frame is then assigned (0: all). */
  kmeansMaxFrames: number;
  /** Parameter updates (HFLEA: 20,000); batchSize, lr, warmupFraction, weightDecay, clipNorm, cropSeconds as every stage (./stages StepOptions). */
  steps: number;
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

/** tapt.json: a summary of the run in its folder (resume reads the loop checkpoint, last.safetensors). */
const TAPT_SCHEMA = 'emolab.tapt.v2';

/** What identifies a TAPT run: its settings, the training clips and where the starting weights came from. */
export function taptFingerprint(o: TaptOptions, clips: AlignClip[], source: string, maxEvalSeconds: number): string {
  const { checkpointEvery: _c, ...rest } = o;
  return shortHash({ rest, source, maxEvalSeconds, clips: clips.map((c) => [c.id, c.audio.length]) });
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
 * Run (or resume, or load) TAPT on `enc` in place over `clips` (training speakers only), through
 * lib/train/loop. `source` names the starting weights for the fingerprint ("tiny-init-seed0", a
 * checkpoint folder). `stopAfter` (tests, and an interrupted run) ends the call after that many total steps.
 */
export async function runTapt(enc: HubertModel, clips: AlignClip[], o: TaptOptions, opts: { dir?: string; source: string; maxEvalSeconds: number; stopAfter?: number; label?: string; quiet?: boolean }): Promise<TaptResult> {
  validateOptions(o, enc);
  if (clips.length === 0) throw new EmolabError('train', 'TAPT needs training audio: no clips');
  const fp = taptFingerprint(o, clips, opts.source, opts.maxEvalSeconds);
  const dir = opts.dir;
  const targetsFile = dir ? join(dir, 'targets.safetensors') : undefined;
  const head = createMaskedPredictionHead(enc.config.hiddenSize, o.k, deriveSeed(o.seed, 3), o.projDim, o.temperature);
  try {
    // targets: from the model as it was before TAPT (saved, so a resumed run uses the same ones)
    let ids: Int32Array[];
    let info: TaptResult['targets'];
    const resuming = dir !== undefined && readLoopState(dir, fp) !== undefined && existsSync(targetsFile!);
    const savedTargets = resuming ? readSafetensors(targetsFile!) : undefined;
    if (savedTargets && savedTargets.metadata.fingerprint === fp && savedTargets.metadata.info) {
      ids = splitIds(savedTargets.tensors.ids.data as Int32Array, Array.from(savedTargets.tensors.lengths.data as Int32Array));
      info = JSON.parse(savedTargets.metadata.info) as TaptResult['targets'];
    } else {
      const t = taptTargets(enc, clips, o, opts.maxEvalSeconds);
      ids = t.ids;
      info = t.info;
      if (targetsFile) {
        mkdirSync(dir!, { recursive: true });
        const flat = new Int32Array(ids.reduce((a, x) => a + x.length, 0));
        let off = 0;
        for (const x of ids) { flat.set(x, off); off += x.length; }
        writeSafetensors(targetsFile, { ids: { data: flat, shape: [flat.length], dtype: 'I32' }, lengths: { data: Int32Array.from(ids.map((x) => x.length)), shape: [ids.length], dtype: 'I32' }, centroids: { data: t.centroids, shape: [info.k, enc.config.hiddenSize] } }, { fingerprint: fp, layer: String(o.layer), info: JSON.stringify(info) });
      }
    }
    let acc: number[] = [];
    let masked = 0, valid = 0;
    const perEpoch = Math.ceil(clips.length / o.batchSize);
    const cropSamples = Math.round(o.cropSeconds * 16000);
    let order: number[] = [];
    let orderEpoch = -1;
    const params: Params = { ...encoderTrainable(enc, o.freezeFeatureEncoder), ...head.params };
    const r = await runStepLoop({
      ...stageLoop(params, o.steps, o, opts.label ?? '(1) TAPT masked prediction', { checkpoint: dir ? { dir, every: o.checkpointEvery, fingerprint: fp } : undefined, stopAfter: opts.stopAfter, quiet: opts.quiet }),
      loss: (step) => {
        // batch order of epoch e and crops/masks of step s from seeds of (seed, e) and (seed, s): nothing carried between steps
        const epoch = Math.floor(step / perEpoch);
        if (epoch !== orderEpoch) { order = new Rng(deriveSeed(o.seed, 32, epoch)).shuffle(Array.from({ length: clips.length }, (_, i) => i)); orderEpoch = epoch; }
        const within = step % perEpoch;
        const idx = order.slice(within * o.batchSize, (within + 1) * o.batchSize);
        const s = maskedPredictionStep(enc, head, idx.map((i) => clips[i]), idx.map((i) => ids[i]), { cropSamples, mask: o.mask, dropoutSeed: deriveSeed(o.seed, 5, step) }, new Rng(deriveSeed(o.seed, 31, step)));
        acc.push(s.accuracy);
        masked += s.masked;
        valid += s.valid;
        return s.loss;
      },
      note: (_step, loss) => `loss ${loss.toFixed(3)} acc ${acc[acc.length - 1].toFixed(2)}`,
      state: {
        save: () => ({ acc, masked, valid }),
        load: (v) => { ({ acc, masked, valid } = v as { acc: number[]; masked: number; valid: number }); },
      },
    });
    const done = !r.interrupted;
    if (dir) writeJsonAtomic(join(dir, 'tapt.json'), { schema: TAPT_SCHEMA, fingerprint: fp, step: r.steps, done, maskedFraction: valid ? masked / valid : 0, targets: info, options: o, source: opts.source, files: { checkpoint: 'last.safetensors', targets: 'targets.safetensors' } });
    return { losses: r.losses, maskedAccuracy: acc, maskedFraction: valid ? masked / valid : 0, steps: r.steps, targets: info, resumedFrom: r.resumedFrom, seconds: r.seconds, fingerprint: fp };
  } finally {
    tf.dispose(Object.values(head.params));
  }
}
