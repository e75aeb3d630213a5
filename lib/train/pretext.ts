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
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { withLock } from '../store/lock';
import * as tf from '@tensorflow/tfjs';
import type { Clip, Manifest, QuarantinedItem, Split } from '../data/types';
import { resolveCorpus } from '../data/corpora';
import { speakerIndependentSplit, speakersOf } from '../data/splits';
import { clipFeatures, type ClipAudio } from '../audio/clipFeatures';
import { buildActivationLabelSet, buildAuLabelSet, buildEnergyLabelSet, type EnergySetOptions } from '../pseudo/build';
import { clipTensors, labelSetFiles, readLabelSet, writeLabelSet, type LabelSetSummary } from '../pseudo/labelsets';
import { defaultLabelDir } from '../pseudo/labelDir';
import { faceTracks, storedFaceFromTrack } from '../pseudo/sources';
import { activationOnAudioGrid } from '../pseudo/activationSource';
import { auEvidenceFromTrack } from '../pseudo/face';
import { createModel, forward, type HeadSpec, type SpeechModel } from '../models/heads';
import { encoderConfig, type EncoderConfig, type EncoderPreset } from '../models/encoder';
import { maskedMeanPool, disposeParams } from '../models/layers';
import { featureNormalizer, makeBatch, planBatches, type Example, type FeatureNormalization, type LabelledSegment } from './batches';
export type { FeatureNormalization } from './batches';
import { evaluate, train, type DevMonitor, type EpochRecord, type TrainOptions, type TrainResult } from './trainer';
import { saveCheckpoint } from './checkpoint';
import type { HeadMetrics } from './losses';
import { progress } from '../show/progress';
import { writeJsonAtomic } from '../atomic';
import type { TensorMap, TypedArray } from '../store/safetensors';
import { featureStoreExists, openFeatureStore, type FeatureStore } from '../store/featureStore';
import { runInfo } from '../runinfo';
import { hashOutputs } from '../verify/hashes';
import { backendReport, describeBackend, initBackend } from '../backend';
import { assertWritable, dataRoot, runsRoot } from '../paths';
import { EmolabError, errorMessage } from '../errors';

export type PretextTaskName = 'energy' | 'activation' | 'au';
export type PretextTask = PretextTaskName | 'all';
export const PRETEXT_TASKS: readonly PretextTaskName[] = ['energy', 'activation', 'au'];

/** The head each pretext task trains. `au` classes come from its label set. */
export function pretextHead(task: PretextTaskName, auClasses = 8): HeadSpec {
  if (task === 'au') return { kind: 'utterance', name: 'au', classes: auClasses, pooling: 'mean' };
  return { kind: 'segment', name: task };
}

// ---------------------------------------------------------------------------------------------
// Targets

export interface TaskLabels {
  task: PretextTaskName;
  summary: LabelSetSummary;
  tensors: Record<string, { data: TypedArray; shape: number[] }>;
}

/** Task 1 targets computed here from the energy curves (lib/pseudo buildEnergyLabelSet). */
export function energyLabels(items: ClipAudio[], opts: EnergySetOptions = {}): TaskLabels {
  const built = buildEnergyLabelSet(items.map((i) => ({ clip: i.clip, energyDb: i.energyDb })), opts);
  return { task: 'energy', summary: built.summary, tensors: built.tensors };
}

/** Task 2/3 targets from a label set written by lib/pseudo (`<dir>/pseudo/<task>.safetensors`). */
export function labelsFromDisk(dir: string, task: PretextTaskName): TaskLabels {
  const { summary, tensors } = readLabelSet(dir, task);
  return { task, summary, tensors };
}

function perClip(labels: TaskLabels, clipId: string): Record<string, { data: TypedArray; shape: number[] }> {
  return clipTensors(labels.tensors as TensorMap, clipId);
}

/**
 * Training examples: normalised fbank (`opts.normalize`, see featureNormalizer) plus the targets each label set has for the
 * clip. Clips longer than `maxFrames` are cut into consecutive pieces (segments that fall inside a
 * piece go with it; an utterance label goes with every piece). Clips without any target are left out.
 */
export function buildExamples(items: ClipAudio[], labels: TaskLabels[], opts: { maxFrames: number; normalize: (fbank: Float32Array, frames: number) => Float32Array }): Example[] {
  const maxFrames = opts.maxFrames;
  const out: Example[] = [];
  for (const it of items) {
    const segments: Record<string, LabelledSegment[]> = {};
    const utt: Record<string, number> = {};
    for (const l of labels) {
      const t = perClip(l, it.clip.id);
      if (l.task === 'au') {
        if (t.label && t.label.data.length) utt.au = Number(t.label.data[0]);
      } else if (t.segments && t.labels) {
        const segs: LabelledSegment[] = [];
        for (let s = 0; s < t.labels.data.length; s++) {
          const start = Number(t.segments.data[2 * s]), end = Math.min(Number(t.segments.data[2 * s + 1]), it.frames);
          const label = Number(t.labels.data[s]);
          if (label >= 0 && end > start) segs.push({ start, end, label });
        }
        if (segs.length) segments[l.task] = segs;
      }
    }
    if (Object.keys(segments).length === 0 && Object.keys(utt).length === 0) continue;
    const features = opts.normalize(it.fbank, it.frames);
    const meta: Record<string, string> = { clip: it.clip.id, ...(it.clip.emotion ? { emotion: it.clip.emotion } : {}) };
    for (let start = 0, piece = 0; start < it.frames; start += maxFrames, piece++) {
      const end = Math.min(it.frames, start + maxFrames);
      if (end - start < 20 && start > 0) break;
      const segs: Record<string, LabelledSegment[]> = {};
      for (const [h, list] of Object.entries(segments)) {
        const inside = list.filter((s) => s.start >= start && s.end <= end).map((s) => ({ start: s.start - start, end: s.end - start, label: s.label }));
        if (inside.length) segs[h] = inside;
      }
      if (Object.keys(segs).length === 0 && Object.keys(utt).length === 0) continue;
      out.push({
        id: it.frames > maxFrames ? `${it.clip.id}#${piece}` : it.clip.id, speaker: it.clip.speaker,
        features: features.slice(start * 80, end * 80), frames: end - start, dim: 80,
        segments: segs, labels: { ...utt }, meta,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Embeddings

/** Utterance embeddings: mean of the encoder's output frames over each clip, in example order. */
export function utteranceEmbeddings(model: SpeechModel, examples: Example[], batchSize = 16): number[][] {
  const out: number[][] = new Array(examples.length);
  for (const idx of planBatches(examples.map((e) => e.frames), { batchSize, shuffle: false, seed: 0, epoch: 0 })) {
    const batch = makeBatch(idx.map((i) => examples[i]));
    const emb = tf.tidy(() => {
      const { encoded } = forward(model, batch.x, batch.lengths, {}, { heads: [] });
      return maskedMeanPool(encoded.hidden, encoded.mask).arraySync();
    });
    idx.forEach((i, k) => { out[i] = emb[k]; });
    batch.x.dispose();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The runner

/** The optimisation budget of one training run (pretext or SER), complete. */
export interface TrainBudget {
  epochs: number;
  batchSize: number;
  /** Cap on padded frames per batch (rows x longest clip). */
  maxFrames: number;
  lr: number;
  weightDecay: number;
  /** Warm-up steps (>= 1) or fraction of all steps (< 1). */
  warmup: number;
  /** Stop after this many epochs without dev gain (0 = never). */
  patience: number;
  monitor: DevMonitor;
  /** Also checkpoint every N steps (null: at epoch ends only). */
  checkpointEverySteps: number | null;
}

/**
 * Everything that decides what `pretrain()` learns — complete, no defaults: built by the settings
 * module of the experiment (lib/experiments/goncalves2022 `pretrainSettingsFor`), overridden by
 * CLI flags or a notebook's parameter cell, fingerprinted as it is, recorded in run.json.
 */
export interface PretrainSettings {
  task: PretextTask;
  /** Corpus name (emodb, av-speech-unlabeled, grid, "+"-joined names) or folder. */
  data: string;
  /** Run folder. */
  out: string;
  encoder: EncoderConfig;
  seed: number;
  /** At most this many clips (spread over speakers), null = all. */
  maxClips: number | null;
  budget: TrainBudget;
  /** Loss weight per head (used by `all`). */
  taskWeights: Record<PretextTaskName, number>;
  /** Folder holding lib/pseudo label sets for activation / au (null for energy: computed here). */
  labelsDir: string | null;
  /** Feature store folder (lib/store) to read fbank / energy_db from; clips it lacks are computed. Not fingerprinted (a cache). */
  featureStore: string | null;
  /** Dev / test speakers of the run's own split (count, or fraction of its speakers). */
  split: { devSpeakers: number; testSpeakers: number };
  /** Task 1 targets. */
  energy: Required<EnergySetOptions>;
  normalization: FeatureNormalization;
  /** Longest training piece, frames (longer clips are cut into pieces). */
  maxPieceFrames: number;
  /**
   * Speakers whose audio must not be used at all (not for training, early stopping or the pretext
   * test): e.g. the test speakers of an SER fold, so that the encoder never hears them. Their clips
   * are removed before anything else; run.json records the list and the speakers actually used.
   */
  excludeSpeakers: string[];
  /** The SER fold this encoder is pretrained for (recorded in run.json; lib/finetune matches on it), or null. */
  fold: string | null;
}

/** How a run is carried out, without changing what it learns. */
export interface PretrainRuntime {
  /** Resume from <out>/checkpoints/last.safetensors when present. */
  resume: boolean;
  quiet: boolean;
  onEpoch?: (record: EpochRecord, history: EpochRecord[]) => void;
}

export const DEFAULT_RUNTIME: PretrainRuntime = { resume: true, quiet: false };

export interface PretrainResult {
  runDir: string;
  task: PretextTask;
  model: SpeechModel;
  split: Split;
  examples: { train: Example[]; dev: Example[]; test: Example[] };
  labels: TaskLabels[];
  training: TrainResult;
  /** Held-out test speakers: accuracy and majority-class rate per head. */
  test: Record<string, HeadMetrics>;
  manifestFile: string;
  modelFile: string;
}

/** Take up to `n` clips, round-robin over speakers (sorted), so every speaker is represented. */
export function spreadOverSpeakers(clips: Clip[], n: number): Clip[] {
  if (clips.length <= n) return clips;
  const by = new Map<string, Clip[]>();
  for (const c of [...clips].sort((a, b) => a.id.localeCompare(b.id))) (by.get(c.speaker) ?? by.set(c.speaker, []).get(c.speaker)!).push(c);
  const lists = [...by.keys()].sort().map((s) => by.get(s)!);
  const out: Clip[] = [];
  for (let i = 0; out.length < n; i++) {
    let any = false;
    for (const l of lists) if (i < l.length && out.length < n) { out.push(l[i]); any = true; }
    if (!any) break;
  }
  return out;
}

/**
 * A short hash of every setting that decides what `pretrain(s)` learns: the complete settings object
 * minus where things are written (`out`), the feature cache (`featureStore`, which only holds the
 * same lib/audio features) and the label folder's path — replaced by the SHA-256 of the label sets
 * it holds (tasks 2 and 3), so a run is reused wherever the runs folder lives, and redone when its
 * targets changed. Recorded in run.json as `configFingerprint` (see `finishedPretrainRun`).
 */
export function pretrainConfigFingerprint(s: PretrainSettings): string {
  const { out: _out, featureStore: _fs, labelsDir, ...semantic } = s;
  const tasks: PretextTaskName[] = s.task === 'all' ? [...PRETEXT_TASKS] : [s.task];
  const labels = tasks.filter((t) => t !== 'energy').map((t) => {
    const f = labelsDir ? labelSetFiles(labelsDir, t).summary : '';
    if (!f || !existsSync(f)) return `${t}:missing`;
    try {
      return `${t}:${(JSON.parse(readFileSync(f, 'utf8')) as { tensorsSha256?: string }).tensorsSha256 ?? 'unhashed'}`;
    } catch {
      return `${t}:unreadable`;
    }
  });
  const canonical = { ...semantic, excludeSpeakers: [...new Set(s.excludeSpeakers)].sort(), labels };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

/** What `finishedPretrainRun` reads back from a run folder. */
export interface FinishedPretrainRun {
  runDir: string;
  manifestFile: string;
  modelFile: string;
  manifest: Record<string, unknown>;
}

/**
 * The run in `runDir` when it finished with the same settings as `o` (run.json present with the
 * same `configFingerprint`, model file on disk), else undefined. Lets callers (lib/finetune,
 * notebooks, `npm start`) reuse a pretraining instead of repeating it.
 */
export function finishedPretrainRun(runDir: string, o: PretrainSettings): FinishedPretrainRun | undefined {
  const manifestFile = join(runDir, 'run.json');
  if (!existsSync(manifestFile)) return undefined;
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new EmolabError('train', `cannot read pretraining run manifest: ${errorMessage(e)}`, { file: manifestFile });
  }
  const files = manifest.files as { model?: string } | undefined;
  const modelFile = join(runDir, files?.model ?? 'model.safetensors');
  if (manifest.configFingerprint !== pretrainConfigFingerprint(o) || !existsSync(modelFile)) return undefined;
  return { runDir, manifestFile, modelFile, manifest };
}

/**
 * Speakers that hold more than `share` of a corpus's clips: they always train (a split that drew
 * GRID's s1, 1,000 of 1,040 clips, into dev or test would leave almost nothing to learn from).
 */
export function dominantSpeakers(clips: Clip[], share: number): string[] {
  const n = new Map<string, number>();
  for (const c of clips) n.set(c.speaker, (n.get(c.speaker) ?? 0) + 1);
  return [...n].filter(([, k]) => k > share * clips.length).map(([s]) => s).sort();
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
  // A run folder last used with other settings starts over (its checkpoints belong to that run);
  // the same settings resume from the last checkpoint.
  const fingerprint = pretrainConfigFingerprint(o);
  const started = join(runDir, 'started-with.json');
  let resume = rt.resume;
  if (existsSync(started)) {
    let prev: string | undefined;
    try { prev = (JSON.parse(readFileSync(started, 'utf8')) as { configFingerprint?: string }).configFingerprint; } catch { prev = undefined; }
    if (prev !== fingerprint) resume = false;
  } else if (existsSync(join(runDir, 'run.json'))) resume = false;
  writeJsonAtomic(started, { configFingerprint: fingerprint, startedAt: new Date().toISOString() });
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
  // The majority-class rate a pretext accuracy must beat comes from the TRAINING targets (the test
  // set's own majority would be an oracle that knows the test labels).
  const trainCounts = (h: string): number[] => {
    const c: number[] = [];
    for (const e of sets.train) {
      for (const seg of e.segments?.[h] ?? []) if (seg.label >= 0) c[seg.label] = (c[seg.label] ?? 0) + 1;
      const y = e.labels?.[h];
      if (y !== undefined && y >= 0) c[y] = (c[y] ?? 0) + 1;
    }
    return Array.from(c, (v) => v ?? 0);
  };
  const testWithTrainMajority = Object.fromEntries(Object.entries(test).map(([h, m]) => {
    const tc = trainCounts(h);
    const major = tc.reduce((best, v, i) => (v > (tc[best] ?? -1) ? i : best), 0);
    const rate = m.n ? (m.classCounts[major] ?? 0) / m.n : NaN;
    return [h, { ...m, testMajorityRate: m.majorityRate, majorityRate: rate, majorityClassFromTrain: major }];
  })) as Record<string, HeadMetrics & { testMajorityRate: number; majorityClassFromTrain: number }>;
  const modelFile = join(runDir, 'model.safetensors');
  saveCheckpoint(modelFile, model, { step: training.steps, extra: { task: o.task, corpus: manifest.corpus } });

  const manifestFile = join(runDir, 'run.json');
  writeJsonAtomic(manifestFile, {
    command: 'pretrain',
    task: o.task,
    tasks,
    configFingerprint: fingerprint,
    // The complete settings this run was made with (what the fingerprint hashes, plus out and the feature cache).
    settings: o,
    // Speakers kept out of every step of this run (their audio was never read), and the SER fold it serves.
    excludeSpeakers: [...excluded].sort(),
    fold: o.fold,
    dataset: {
      corpus: manifest.corpus, root: manifest.root, data: o.data, clipsInCorpus: manifest.clips.length, clipsUsed: items.length,
      // every speaker whose audio this run read (train, dev and test of its own split)
      excludedClips, speakers: [...speakersOf(clips)].sort(),
      quarantine: [...manifest.quarantine, ...quarantine], examples: { train: sets.train.length, dev: sets.dev.length, test: sets.test.length },
      labelsDir: diskLabels.length ? labelsDir : undefined,
    },
    split: {
      name: split.name, alwaysTrain,
      heldOut,
      rule: heldOut
        ? `speakers shuffled with the seed; the first ${o.split.testSpeakers < 1 ? `${100 * o.split.testSpeakers}%` : o.split.testSpeakers} test, the next ${o.split.devSpeakers < 1 ? `${100 * o.split.devSpeakers}%` : o.split.devSpeakers} dev, the rest train; speakers holding > 25% of the clips always train`
        : 'no held-out speakers (split.devSpeakers = split.testSpeakers = 0): every clip trains for the fixed epoch budget; no held-out accuracy',
      speakers: { train: speakersOf(clips.filter((c) => split.train.includes(c.id))), dev: speakersOf(clips.filter((c) => split.dev.includes(c.id))), test: speakersOf(clips.filter((c) => split.test.includes(c.id))) },
      train: split.train, dev: split.dev, test: split.test,
    },
    normalization: { mode: o.normalization, stats: norm.stats },
    targets: labels.map((l) => ({ task: l.task, classes: l.summary.classes, balance: l.summary.balance, params: l.summary.params })),
    seed,
    config: { model: model.config, train: { ...trainOpts, onEpoch: undefined, checkpointDir: 'checkpoints' } },
    backend: describeBackend(backend),
    run: runInfo(),
    metrics: { perEpoch: training.history, best: training.best, test: testWithTrainMajority, stoppedEarly: training.stoppedEarly, steps: training.steps, resumedFromStep: training.resumedFromStep },
    wallS: (Date.now() - t0) / 1000,
    stepS: training.stepS,
    files: { model: 'model.safetensors', last: 'checkpoints/last.safetensors', best: 'checkpoints/best.safetensors' },
    // SHA-256 and size of each output, re-checked by `emolab verify <runDir>`.
    outputs: hashOutputs(runDir, ['model.safetensors', 'checkpoints/last.safetensors', 'checkpoints/best.safetensors']),
  });
  return { runDir, task: o.task, model, split, examples: sets, labels, training, test: testWithTrainMajority, manifestFile, modelFile };
}

/** Free the model of a pretrain result. */
export function disposePretrain(r: PretrainResult): void {
  disposeParams(r.model.params);
}
