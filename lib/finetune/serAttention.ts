/**
 * Where an SER model's attention pooling looks: the weights α_t of eq. (1) in notebook 08 (the head
 * of `serHeadSpec`, `attentionPool` in lib/models/layers) over the encoder frames of a few test clips,
 * for ONE model of the grid — one (arm, mode, seed, fold).
 *
 * The grid keeps one record per model (test predictions, configuration), not the model itself. So
 * the model is trained once more here, from its record, through the grid's own code path
 * (`runFinetuneJob`: the same clips in the same order, normalisation, initial encoder,
 * hyper-parameters, seed and replica count), and saved under `$EMOLAB_RUNS/ser-attention/` — outside
 * `runs/ser/`, so the tables never see it. Later calls load the saved model. The retrained model is
 * checked against the grid's record before its weights are used: same test clips, same training-set
 * CMVN statistics (the same training frames), and its test predictions are compared one by one
 * (`reproduced`; identical on one machine and backend, since training is seeded).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EmolabError } from '../errors';
import { runsRoot } from '../paths';
import type { Clip } from '../data/types';
import { runInfo } from '../runinfo';
import { subsampling } from '../models/encoder';
import { forward, type SpeechModel } from '../models/heads';
import { disposeParams } from '../models/layers';
import { openFeatureStore, type FeatureStore } from '../store/featureStore';
import { readSafetensors } from '../store/safetensors';
import { makeBatch, normalizeUtterance, normalizeWithStats, type FeatureStats, type FeatureNormalization } from '../train/batches';
import { loadModel, saveCheckpoint } from '../train/checkpoint';
import { experimentFolds, type SerExperimentSettings } from './experiment';
import type { SerFold, SerProtocolData } from './protocols';
import { SER_HEAD } from './finetuneFold';
import { runFinetuneJob, type FinetuneJob, type JobClip } from './jobWorker';
import { foldResultPath, readFoldResult, type FinetuneMode, type FoldResult } from './results';

/** Models retrained for their attention weights: $EMOLAB_RUNS/ser-attention/<experiment>/ (not under runs/ser). */
export const serAttentionRoot = (experiment: string, root: string = runsRoot()): string => join(root, 'ser-attention', experiment);

/** One model of the grid. */
export interface SerModelPick { arm: string; mode?: FinetuneMode; seed: number; fold: string }

export interface SerAttentionClip {
  id: string;
  speaker: string;
  truth: string;
  predicted: string;
  /** Class probabilities of this model (softmax), in the record's class order. */
  probs: number[];
  /** The clip's log-mel filterbank as stored (before CMVN): frames x dims, 10 ms hop. */
  fbank: { data: Float32Array; frames: number; dims: number };
  /** α_t over the encoder frames (sums to 1). */
  attention: Float32Array;
  /** Input (10 ms) frames per encoder frame. */
  subsampling: number;
}

export interface SerAttentionResult {
  /** The grid's record of this model. */
  record: FoldResult;
  /** The record written by the retraining (beside the saved model). */
  retrained: FoldResult;
  /** The saved model (emolab checkpoint). */
  checkpoint: string;
  /** True when this call trained the model; false when a saved one was loaded. */
  trained: boolean;
  seconds: number;
  /** Test predictions of the retrained model against the grid's record. */
  reproduced: { samePredictions: number; n: number; maxProbDiff: number };
  clips: SerAttentionClip[];
}

const normStats = (r: FoldResult): { mode: FeatureNormalization; stats: FeatureStats | null } => {
  const n = (r.config as { normalization?: { mode: FeatureNormalization; stats: FeatureStats | null } }).normalization;
  if (!n) throw new EmolabError('report', `the record of ${r.arm}/${r.mode} seed ${r.seed} ${r.fold} states no feature normalisation`, { hint: 'records written before the normalisation was recorded cannot be retrained exactly; rerun the grid' });
  return n;
};

/** Agreement of two records' test predictions (same clips required). Pure. */
export function comparePredictions(a: FoldResult, b: FoldResult): { samePredictions: number; n: number; maxProbDiff: number } {
  if (JSON.stringify(a.test.ids) !== JSON.stringify(b.test.ids)) throw new EmolabError('report', `records of ${a.arm} seed ${a.seed} ${a.fold} hold different test clips`);
  let same = 0, maxDiff = 0;
  a.test.pred.forEach((p, i) => {
    if (p === b.test.pred[i]) same++;
    a.test.probs[i].forEach((q, c) => { maxDiff = Math.max(maxDiff, Math.abs(q - b.test.probs[i][c])); });
  });
  return { samePredictions: same, n: a.test.ids.length, maxProbDiff: maxDiff };
}

/**
 * Test clips to show: `ids` as given, or for each class in `classes` (default: all) the test clip
 * this model predicts correctly with the highest probability (else the class's first clip). Pure.
 */
export function pickClips(r: FoldResult, opts: { ids?: string[]; classes?: string[] } = {}): string[] {
  if (opts.ids) {
    const missing = opts.ids.filter((id) => !r.test.ids.includes(id));
    if (missing.length) throw new EmolabError('report', `not test clips of fold ${r.fold}: ${missing.join(', ')}`, { hint: `the fold's test speakers are ${r.speakers.test.join(', ')}` });
    return opts.ids;
  }
  const out: string[] = [];
  for (const name of opts.classes ?? r.classes) {
    const c = r.classes.indexOf(name);
    if (c < 0) throw new EmolabError('report', `class "${name}" is not one of the record's classes (${r.classes.join(', ')})`);
    const of = r.test.ids.map((id, i) => ({ id, i })).filter(({ i }) => r.test.truth[i] === c);
    if (of.length === 0) continue;
    const right = of.filter(({ i }) => r.test.pred[i] === c).sort((x, y) => r.test.probs[y.i][c] - r.test.probs[x.i][c]);
    out.push((right[0] ?? of[0]).id);
  }
  return out;
}

/** The grid job that trained `record`, rebuilt from the experiment settings; checked against the record. */
function jobFor(s: SerExperimentSettings, record: FoldResult, store: FeatureStore, root: string, data: SerProtocolData, fold: SerFold): FinetuneJob {
  const clip = (c: Clip): JobClip => ({ id: c.id, speaker: c.speaker, label: data.label(c), emotion: c.emotion ?? c.perceived?.majority ?? '' });
  const has = (c: { id: string }) => store.has(c.id, 'fbank');
  const job: FinetuneJob = {
    experiment: record.experiment, protocol: record.protocol, arm: record.arm, init: record.init, mode: record.mode, seed: record.seed,
    fold: { name: fold.name, train: fold.train.filter(has).map(clip), dev: fold.dev.filter(has).map(clip), test: fold.test.filter(has).map(clip) },
    classes: [...record.classes], encoder: record.config.encoder as FinetuneJob['encoder'], hyper: record.config.hyper as FinetuneJob['hyper'],
    normalization: normStats(record).mode, featureStore: s.featureStore,
    configNote: { retrainOf: `${record.experiment}/${record.mode}/${record.arm}/seed-${record.seed}/${record.fold}`, gridFingerprint: String((record.config as { fingerprint?: string }).fingerprint ?? '') },
    runInfo: runInfo() as unknown as Record<string, unknown>, root,
    workers: (record.runInfo as { workers?: { workers?: number } }).workers?.workers ?? 1,
  };
  const ids = job.fold.test.map((c) => c.id);
  if (JSON.stringify(ids) !== JSON.stringify(record.test.ids)) {
    throw new EmolabError('report', `the settings of ${s.experiment} give fold ${record.fold} other test clips than its record (${ids.length} vs ${record.test.ids.length})`, { hint: 'pass the settings the grid ran with (goncalves2022Settings() at the same profile and overrides)' });
  }
  const counts = { train: job.fold.train.length, dev: job.fold.dev.length, test: ids.length };
  if (JSON.stringify(counts) !== JSON.stringify(record.clips)) throw new EmolabError('report', `fold ${record.fold}: the settings give ${JSON.stringify(counts)} clips, the record ${JSON.stringify(record.clips)}`);
  if (record.init.kind === 'pretrained' && !existsSync(record.init.checkpoint)) throw new EmolabError('report', `the encoder this model started from is missing`, { file: record.init.checkpoint, hint: 'run the grid (npm start) so the pretraining runs are there' });
  return job;
}

/**
 * The attention weights of one grid model over a few of its test clips (see the file comment).
 * Trains the model once (one SER model: minutes at the cpu profile) unless a saved one that belongs
 * to the same grid record exists.
 */
export async function serModelAttention(
  s: SerExperimentSettings, pick: SerModelPick,
  opts: { root?: string; ids?: string[]; classes?: string[]; onEpoch?: (r: unknown) => void } = {},
): Promise<SerAttentionResult> {
  const t0 = Date.now();
  const root = opts.root ?? runsRoot();
  const mode = pick.mode ?? 'full';
  const file = foldResultPath({ experiment: s.experiment, mode, arm: pick.arm, seed: pick.seed, fold: pick.fold }, root);
  if (!existsSync(file)) throw new EmolabError('report', `no fine-tuning record for ${pick.arm}/${mode} seed ${pick.seed} ${pick.fold} in experiment ${s.experiment}`, { file, hint: 'run the grid first (notebook 08, npm start or npx emolab finetune)' });
  const record = readFoldResult(file);
  if (record.arm === 'functionals') throw new EmolabError('report', 'the functionals reference has no attention (it is a logistic regression on utterance statistics)');
  const cacheRoot = serAttentionRoot(s.experiment, root);
  const retrainedFile = foldResultPath(record, cacheRoot);
  const checkpoint = retrainedFile.replace(/\.json$/, '.model.safetensors');
  const gridFingerprint = String((record.config as { fingerprint?: string }).fingerprint ?? '');
  const saved = existsSync(checkpoint) && existsSync(retrainedFile) && readSafetensors(checkpoint).metadata.gridFingerprint === gridFingerprint;
  const store = openFeatureStore(s.featureStore);
  const { data, folds } = experimentFolds(s);
  const fold = folds.find((f) => f.name === record.fold);
  if (!fold) throw new EmolabError('report', `experiment ${s.experiment} has no fold "${record.fold}" (folds: ${folds.map((f) => f.name).join(', ')})`);
  const speakerOf = new Map(fold.test.map((c) => [c.id, c.speaker]));
  if (!saved) {
    const job = jobFor(s, record, store, cacheRoot, data, fold);
    await runFinetuneJob(job, opts.onEpoch, (model: SpeechModel) => saveCheckpoint(checkpoint, model, { extra: { gridFingerprint, gridRecord: relative(root, file) } }));
  }
  const retrained = readFoldResult(retrainedFile);
  const norm = normStats(record);
  if (JSON.stringify(normStats(retrained).stats) !== JSON.stringify(norm.stats)) {
    throw new EmolabError('report', `the retrained ${record.arm} seed ${record.seed} ${record.fold} saw other training frames than the grid's model (CMVN statistics differ)`, { file: retrainedFile, hint: 'the feature store changed since the grid ran; rerun the grid' });
  }
  const reproduced = comparePredictions(record, retrained);
  const model = loadModel(checkpoint);
  try {
    const factor = subsampling(model.config.encoder);
    const clips = pickClips(record, opts).map((id): SerAttentionClip => {
      const i = record.test.ids.indexOf(id);
      const m = store.get(id, 'fbank');
      const x = norm.stats ? normalizeWithStats(m.data, m.frames, m.dims, norm.stats) : normalizeUtterance(m.data, m.frames, m.dims);
      const batch = makeBatch([{ id, speaker: '', features: x, frames: m.frames, dim: m.dims }]);
      const [att, probs] = tf.tidy((): [tf.Tensor1D, tf.Tensor1D] => {
        const out = forward(model, batch.x, batch.lengths, {}, { heads: [SER_HEAD] }).outputs[SER_HEAD];
        return [out.attention!.squeeze([0]) as tf.Tensor1D, tf.softmax(out.logits as tf.Tensor2D).squeeze([0]) as tf.Tensor1D];
      });
      batch.x.dispose();
      const attention = Float32Array.from(att.dataSync());
      const p = Array.from(probs.dataSync(), (v) => +v.toFixed(6));
      tf.dispose([att, probs]);
      const predicted = p.indexOf(Math.max(...p));
      return { id, speaker: speakerOf.get(id) ?? '', truth: record.classes[record.test.truth[i]], predicted: record.classes[predicted], probs: p, fbank: { data: m.data, frames: m.frames, dims: m.dims }, attention, subsampling: factor };
    });
    return { record, retrained, checkpoint, trained: !saved, seconds: (Date.now() - t0) / 1000, reproduced, clips };
  } finally {
    disposeParams(model.params);
  }
}
