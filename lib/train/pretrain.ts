/**
 * Pretraining the speech encoder on the pretext tasks of Goncalves & Busso (Interspeech 2022):
 *
 * - `energy`: is a segment of speech high or low in energy variation? (segment head; targets from
 *   the audio itself, lib/pseudo buildEnergyLabelSet, so any speech corpus works — EmoDB by default);
 * - `activation`: is the face high or low in activation during the segment? (segment head; targets
 *   from the video, lib/pseudo label set `activation`, computed by `emolab pseudo activation`);
 * - `au`: which emotion do the facial action-unit combinations show over the utterance?
 *   (utterance head over 8 classes; lib/pseudo label set `au`);
 * - `all`: one encoder, the three heads, loss = sum of weighted head losses (clips contribute to the
 *   heads they have targets for).
 *
 * `pretrain()` is what `emolab pretrain` and notebooks 05-07 run: corpus -> speaker-independent
 * split -> log-mel features -> targets -> encoder + heads -> train (checkpoints, early stopping on
 * the held-out dev speakers) -> accuracy on held-out test speakers next to the majority-class rate
 * -> runs/<name>/run.json and model.safetensors (the encoder that lib/finetune starts from).
 *
 * Its settings, their fingerprint and run.json (schema, writer, reader, reuse) are in ./pretrainRun;
 * the targets, clip selection and examples in ./pretextExamples; features come from lib/audio's
 * loader (clipFeatures).
 */
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { backendReport, describeBackend, initBackend } from '../backend';
import { clipFeatures } from '../audio/clipFeatures';
import { resolveCorpus } from '../data/corpora';
import { speakerIndependentSplit, speakersOf } from '../data/splits';
import type { Split } from '../data/types';
import { EmolabError } from '../errors';
import { createModel, type SpeechModel } from '../models/heads';
import { disposeParams } from '../models/layers';
import { assertWritable } from '../paths';
import { defaultLabelDir } from '../pseudo/labelDir';
import { runInfo } from '../runinfo';
import { featureStoreExists, openFeatureStore } from '../store/featureStore';
import { withLock } from '../store/lock';
import { featureNormalizer, type Example } from './batches';
import { saveCheckpoint } from './checkpoint';
import { pretrainConfigFingerprint, resumeAllowed, writePretrainRun, DEFAULT_RUNTIME, type PretrainRuntime, type PretrainSettings } from './pretrainRun';
import {
  buildExamples, dominantSpeakers, energyLabels, labelsFromDisk, pretextHead, spreadOverSpeakers, withTrainMajority, PRETEXT_TASKS,
  type PretextTask, type PretextTaskName, type PretextTestMetrics, type TaskLabels,
} from './pretextExamples';
import { evaluate, train, type TrainOptions, type TrainResult } from './trainer';

export interface PretrainResult {
  runDir: string;
  task: PretextTask;
  model: SpeechModel;
  split: Split;
  examples: { train: Example[]; dev: Example[]; test: Example[] };
  labels: TaskLabels[];
  training: TrainResult;
  /** Held-out test speakers: accuracy and majority-class rate (of the training targets) per head. */
  test: Record<string, PretextTestMetrics>;
  manifestFile: string;
  modelFile: string;
}

/**
 * Run (or resume) one pretraining. The run folder is locked while it runs (lib/store/lock): a second
 * process on the same folder is refused with the holder's PID; a lock left by a killed run is taken over.
 */
export async function pretrain(o: PretrainSettings, rt: PretrainRuntime = DEFAULT_RUNTIME): Promise<PretrainResult> {
  const runDir = resolve(o.out);
  assertWritable(runDir, 'pretraining run (--out, or EMOLAB_RUNS)');
  return withLock(runDir, { what: `pretraining run ${basename(runDir)}` }, () => pretrainUnlocked(o, rt));
}

async function pretrainUnlocked(o: PretrainSettings, rt: PretrainRuntime): Promise<PretrainResult> {
  const t0 = Date.now();
  if (!['energy', 'activation', 'au', 'all'].includes(o.task)) throw new EmolabError('train', `unknown pretext task "${o.task}"`, { hint: 'use energy, activation, au or all' });
  const backend = backendReport() ?? (await initBackend());
  const tasks: PretextTaskName[] = o.task === 'all' ? [...PRETEXT_TASKS] : [o.task];
  const runDir = resolve(o.out);
  const seed = o.seed;
  // A corpus argument as lib/data resolveCorpus takes it; emotion labels are not needed for pretraining.
  const manifest = resolveCorpus(o.data);
  const labelsDir = o.labelsDir ?? defaultLabelDir(o.data);
  const excluded = new Set(o.excludeSpeakers);

  // Targets from disk first (they decide which clips are usable), then features.
  const diskLabels = tasks.filter((t) => t !== 'energy').map((t) => labelsFromDisk(labelsDir, t));
  mkdirSync(runDir, { recursive: true });
  // A run folder last used with other settings starts over; the same settings resume from the last checkpoint.
  const fingerprint = pretrainConfigFingerprint(o);
  const resume = resumeAllowed(runDir, fingerprint, rt.resume);
  // Excluded speakers (e.g. an SER fold's test speakers) go first: nothing below ever sees their audio.
  const withMedia = manifest.clips.filter((c) => c.audioPath || c.videoPath);
  let clips = withMedia.filter((c) => !excluded.has(c.speaker));
  const excludedClips = withMedia.length - clips.length;
  if (diskLabels.length) {
    // Face-derived targets exist only for the clips that were face-tracked: train on those.
    const labelled = new Set(diskLabels.flatMap((l) => l.summary.perClip.map((p) => p.id)));
    clips = clips.filter((c) => labelled.has(c.id));
  }
  clips = spreadOverSpeakers(clips, o.maxClips ?? Infinity);
  // split.devSpeakers = split.testSpeakers = 0: no held-out speakers (every clip trains, fixed epoch
  // budget, no held-out accuracy); run.json says so.
  const heldOut = o.split.devSpeakers > 0 || o.split.testSpeakers > 0;
  if (clips.length === 0) throw new EmolabError('train', `no clips with ${o.task === 'energy' ? 'audio' : `${tasks.join('+')} targets`} in corpus ${manifest.corpus}${excludedClips ? ` after leaving out ${excludedClips} clips of the excluded speakers` : ''}`, { file: manifest.root });
  if (heldOut && speakersOf(clips).length < 3) {
    throw new EmolabError('train', `${clips.length} clips from ${speakersOf(clips).length} speaker(s): this corpus cannot hold out speakers for dev and test (a held-out split by speaker needs at least 3)`, {
      file: manifest.root, hint: 'pretrain without held-out speakers: emolab pretrain --no-held-out ... (settings: split.devSpeakers = split.testSpeakers = 0; every clip trains for the fixed epoch budget, run.json records it and no held-out accuracy is reported)',
    });
  }
  const alwaysTrain = dominantSpeakers(clips, 0.25);
  const split = speakerIndependentSplit(clips, { seed, dev: o.split.devSpeakers, test: o.split.testSpeakers, alwaysTrain, name: `${manifest.corpus}-speakers-seed${seed}` });
  // The feature store is a cache: without one (a fresh runs folder) the features are computed here.
  const store = o.featureStore && featureStoreExists(o.featureStore) ? openFeatureStore(o.featureStore) : undefined;
  const { items, quarantine } = await clipFeatures(clips, { quiet: rt.quiet, store });
  const labels: TaskLabels[] = [...(tasks.includes('energy') ? [energyLabels(items, o.energy)] : []), ...diskLabels];
  const trainIds = new Set(split.train);
  const norm = featureNormalizer(o.normalization, items.filter((it) => trainIds.has(it.clip.id)).map((it) => ({ features: it.fbank, frames: it.frames })), 80);
  const examples = buildExamples(items, labels, { maxFrames: o.maxPieceFrames, normalize: norm.normalize });
  const inSet = (ids: string[]) => { const s = new Set(ids); return examples.filter((e) => s.has(e.meta?.clip ?? e.id)); };
  const sets = { train: inSet(split.train), dev: inSet(split.dev), test: inSet(split.test) };
  if (sets.train.length === 0) throw new EmolabError('train', `no training examples with ${tasks.join('+')} targets`, { file: manifest.root });

  const auClasses = labels.find((l) => l.task === 'au')?.summary.classes.length ?? 8;
  const encoder = o.encoder;
  const model = createModel({ encoder, heads: tasks.map((t) => pretextHead(t, auClasses)) }, seed);
  const b = o.budget;
  const trainOpts: TrainOptions = {
    epochs: b.epochs, batchSize: b.batchSize, maxFrames: b.maxFrames, lr: b.lr, weightDecay: b.weightDecay, warmup: b.warmup,
    decay: 'cosine', clipNorm: 1, patience: b.patience, monitor: b.monitor,
    headWeights: Object.fromEntries(tasks.map((t) => [t, o.taskWeights[t]])),
    seed,
    checkpointDir: join(runDir, 'checkpoints'),
    checkpointEverySteps: b.checkpointEverySteps ?? undefined,
    resume,
    quiet: rt.quiet,
    label: `pretrain ${o.task}${o.fold ? ` ${o.fold}` : ''}`,
    onEpoch: rt.onEpoch,
  };
  const training = await train(model, { train: sets.train, dev: sets.dev.length ? sets.dev : undefined }, trainOpts);
  const test = sets.test.length ? evaluate(model, sets.test, { batchSize: trainOpts.batchSize }).heads : {};
  const testWithTrainMajority = withTrainMajority(test, sets.train);
  const modelFile = join(runDir, 'model.safetensors');
  saveCheckpoint(modelFile, model, { step: training.steps, extra: { task: o.task, corpus: manifest.corpus } });

  const manifestFile = writePretrainRun(runDir, {
    settings: o, tasks, fingerprint, manifest, clips, clipsUsed: items.length, excludedClips, quarantine,
    examples: { train: sets.train.length, dev: sets.dev.length, test: sets.test.length }, labelsDir: diskLabels.length ? labelsDir : undefined,
    split, alwaysTrain, heldOut, normStats: norm.stats, labels, model: model.config, train: trainOpts,
    backend: describeBackend(backend), runInfo: runInfo(), training, test: testWithTrainMajority, wallS: (Date.now() - t0) / 1000,
  });
  return { runDir, task: o.task, model, split, examples: sets, labels, training, test: testWithTrainMajority, manifestFile, modelFile };
}

/** Free the model of a pretrain result. */
export function disposePretrain(r: PretrainResult): void {
  disposeParams(r.model.params);
}
