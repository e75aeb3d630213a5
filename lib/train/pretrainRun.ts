/**
 * A pretraining run on disk (runs/<name>/): the settings that decide what `pretrain()` learns, their
 * fingerprint, and run.json — its schema (`PretrainRunJson`), its one writer (`writePretrainRun`,
 * from the parts `pretrain()` hands it) and its one reader (`readPretrainRun`), used to reuse a
 * finished run (`finishedPretrainRun`), to resume or restart one (`resumeAllowed`), by lib/finetune
 * to find a pretrained encoder and by lib/report to summarise the runs.
 */
import { shortHash } from '../hash';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../atomic';
import type { Manifest, QuarantinedItem, Split } from '../data/types';
import { speakersOf } from '../data/splits';
import { EmolabError, errorMessage, type Stage } from '../errors';
import type { EncoderConfig } from '../models/encoder';
import type { ModelConfig } from '../models/heads';
import type { EnergySetOptions } from '../pseudo/build';
import { labelSetFiles, type LabelSetSummary } from '../pseudo/labelsets';
import type { RunInfo } from '../runinfo';
import { hashOutputs, type OutputHashes } from '../verify/hashes';
import type { FeatureNormalization, FeatureStats } from './batches';
import { PRETEXT_TASKS, type PretextTask, type PretextTaskName, type PretextTestMetrics, type TaskLabels } from './pretextExamples';
import type { DevMonitor, EpochRecord, TrainOptions, TrainResult } from './trainer';

export const PRETRAIN_RUN_FILE = 'run.json';
/** The layout version `writePretrainRun` writes; bump it when a field changes meaning or a required field is added. */
export const PRETRAIN_RUN_SCHEMA = 1;
const STARTED_WITH_FILE = 'started-with.json';
const OUTPUT_FILES = { model: 'model.safetensors', last: 'checkpoints/last.safetensors', best: 'checkpoints/best.safetensors' } as const;

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
  return shortHash(canonical, 16);
}

/**
 * run.json of a pretraining run, as `writePretrainRun` writes it. Runs written by earlier versions
 * may lack the fields marked optional; readers fall back as noted.
 */
export interface PretrainRunJson {
  command: 'pretrain';
  /** Version of this layout (PRETRAIN_RUN_SCHEMA). Older runs: absent (read as 1). A newer one is refused by `readPretrainRun`. */
  schemaVersion?: number;
  task: PretextTask;
  tasks: PretextTaskName[];
  configFingerprint: string;
  /** The complete settings this run was made with (what the fingerprint hashes, plus out and the feature cache). */
  settings: PretrainSettings;
  /** Speakers kept out of every step of this run (their audio was never read). Older runs: absent (none). */
  excludeSpeakers?: string[];
  /** The SER fold it serves. Older runs: absent (none). */
  fold?: string | null;
  dataset: {
    corpus: string; root: string; data: string; clipsInCorpus: number; clipsUsed: number;
    excludedClips?: number;
    /** Every speaker whose audio this run read (train, dev and test of its own split). Older runs: absent (the union of split.speakers). */
    speakers?: string[];
    quarantine: QuarantinedItem[];
    examples: { train: number; dev: number; test: number };
    labelsDir?: string;
  };
  split: {
    name: string; alwaysTrain: string[]; heldOut: boolean; rule: string;
    speakers: { train: string[]; dev: string[]; test: string[] };
    train: string[]; dev: string[]; test: string[];
  };
  normalization: { mode: FeatureNormalization; stats: FeatureStats | null };
  targets: { task: PretextTaskName; classes: LabelSetSummary['classes']; balance: LabelSetSummary['balance']; params: LabelSetSummary['params'] }[];
  seed: number;
  /** The model and the training options (without onEpoch; checkpointDir relative to the run folder). */
  config: { model: ModelConfig; train: TrainOptions };
  backend: string;
  run: RunInfo;
  metrics: {
    perEpoch: EpochRecord[]; best: TrainResult['best']; test: Record<string, PretextTestMetrics>;
    stoppedEarly: boolean; steps: number; resumedFromStep: number;
  };
  wallS: number;
  stepS: number;
  files: { model: string; last: string; best: string };
  /** SHA-256 and size of each output, re-checked by `emolab verify <runDir>`. */
  outputs: OutputHashes;
}

/** What `pretrain()` hands the writer: the run's settings and what it made of them. */
export interface PretrainRunParts {
  settings: PretrainSettings;
  tasks: PretextTaskName[];
  fingerprint: string;
  manifest: Manifest;
  /** The clips the run read (after exclusion, label filtering and maxClips). */
  clips: Manifest['clips'];
  clipsUsed: number;
  excludedClips: number;
  quarantine: QuarantinedItem[];
  examples: { train: number; dev: number; test: number };
  labelsDir: string | undefined;
  split: Split;
  alwaysTrain: string[];
  heldOut: boolean;
  normStats: FeatureStats | null;
  labels: TaskLabels[];
  model: ModelConfig;
  train: TrainOptions;
  backend: string;
  runInfo: RunInfo;
  training: TrainResult;
  test: Record<string, PretextTestMetrics>;
  wallS: number;
}

const countOrShare = (n: number): string | number => (n < 1 ? `${100 * n}%` : n);

/** Write run.json of a finished run (atomically) from its parts; returns the file. */
export function writePretrainRun(runDir: string, p: PretrainRunParts): string {
  const o = p.settings, split = p.split;
  const speakersIn = (ids: string[]) => speakersOf(p.clips.filter((c) => ids.includes(c.id)));
  const run: PretrainRunJson = {
    command: 'pretrain',
    schemaVersion: PRETRAIN_RUN_SCHEMA,
    task: o.task,
    tasks: p.tasks,
    configFingerprint: p.fingerprint,
    settings: o,
    excludeSpeakers: [...new Set(o.excludeSpeakers)].sort(),
    fold: o.fold,
    dataset: {
      corpus: p.manifest.corpus, root: p.manifest.root, data: o.data, clipsInCorpus: p.manifest.clips.length, clipsUsed: p.clipsUsed,
      excludedClips: p.excludedClips, speakers: [...speakersOf(p.clips)].sort(),
      quarantine: [...p.manifest.quarantine, ...p.quarantine], examples: p.examples,
      labelsDir: p.labelsDir,
    },
    split: {
      name: split.name, alwaysTrain: p.alwaysTrain,
      heldOut: p.heldOut,
      rule: p.heldOut
        ? `speakers shuffled with the seed; the first ${countOrShare(o.split.testSpeakers)} test, the next ${countOrShare(o.split.devSpeakers)} dev, the rest train; speakers holding > 25% of the clips always train`
        : 'no held-out speakers (split.devSpeakers = split.testSpeakers = 0): every clip trains for the fixed epoch budget; no held-out accuracy',
      speakers: { train: speakersIn(split.train), dev: speakersIn(split.dev), test: speakersIn(split.test) },
      train: split.train, dev: split.dev, test: split.test,
    },
    normalization: { mode: o.normalization, stats: p.normStats },
    targets: p.labels.map((l) => ({ task: l.task, classes: l.summary.classes, balance: l.summary.balance, params: l.summary.params })),
    seed: o.seed,
    config: { model: p.model, train: { ...p.train, onEpoch: undefined, checkpointDir: 'checkpoints' } },
    backend: p.backend,
    run: p.runInfo,
    metrics: { perEpoch: p.training.history, best: p.training.best, test: p.test, stoppedEarly: p.training.stoppedEarly, steps: p.training.steps, resumedFromStep: p.training.resumedFromStep },
    wallS: p.wallS,
    stepS: p.training.stepS,
    files: { ...OUTPUT_FILES },
    outputs: hashOutputs(runDir, Object.values(OUTPUT_FILES)),
  };
  const file = join(runDir, PRETRAIN_RUN_FILE);
  writeJsonAtomic(file, run);
  return file;
}

/**
 * The run.json of the run in `runDir`, or undefined when it has none (not finished). A file that
 * is not JSON is an EmolabError of `stage` naming it. Any command's run.json is returned as it
 * is: `isPretrainRun` tells a pretraining run's apart.
 */
export function readPretrainRun(runDir: string, stage: Stage = 'train'): PretrainRunJson | undefined {
  const file = join(runDir, PRETRAIN_RUN_FILE);
  if (!existsSync(file)) return undefined;
  let run: PretrainRunJson;
  try {
    run = JSON.parse(readFileSync(file, 'utf8')) as PretrainRunJson;
  } catch (e) {
    throw new EmolabError(stage, `cannot read ${stage === 'train' ? 'pretraining ' : ''}run manifest: ${errorMessage(e)}`, { file });
  }
  const version = run && typeof run === 'object' ? run.schemaVersion : undefined;
  if (version !== undefined && !(Number.isInteger(version) && version >= 1 && version <= PRETRAIN_RUN_SCHEMA)) {
    throw new EmolabError(stage, `run manifest has schemaVersion ${JSON.stringify(version)}; this emolab reads versions 1 to ${PRETRAIN_RUN_SCHEMA}`, { file, hint: 'it was written by a newer emolab: update this checkout, or rerun the pretraining into another folder' });
  }
  return run;
}

/** Whether a run.json was written by `pretrain()`. */
export const isPretrainRun = (r: { command?: unknown; task?: unknown }): r is PretrainRunJson => r.command === 'pretrain' && typeof r.task === 'string' && r.task !== '';

/** The model file a run.json names (default model.safetensors), in `runDir`. */
export const pretrainModelFile = (runDir: string, r: Pick<PretrainRunJson, 'files'>): string => join(runDir, r.files?.model ?? OUTPUT_FILES.model);

/** Speakers whose audio a run read: run.json dataset.speakers, else (older runs) the union of its split. */
export function pretrainRunSpeakers(r: Pick<PretrainRunJson, 'dataset' | 'split'>): string[] {
  if (r.dataset?.speakers) return [...r.dataset.speakers].sort();
  const sp = r.split?.speakers;
  return [...new Set([...(sp?.train ?? []), ...(sp?.dev ?? []), ...(sp?.test ?? [])])].sort();
}

/**
 * Whether a run may resume from its checkpoints (when the caller asks to): only if the folder was
 * last started with the same settings (started-with.json holds their fingerprint). A folder last
 * used with other settings, or holding a finished run from before started-with.json, starts over
 * (its checkpoints belong to that run). Records this start.
 */
export function resumeAllowed(runDir: string, fingerprint: string, resume: boolean): boolean {
  const started = join(runDir, STARTED_WITH_FILE);
  let ok = resume;
  if (existsSync(started)) {
    let prev: string | undefined;
    try { prev = (JSON.parse(readFileSync(started, 'utf8')) as { configFingerprint?: string }).configFingerprint; } catch { prev = undefined; }
    if (prev !== fingerprint) ok = false;
  } else if (existsSync(join(runDir, PRETRAIN_RUN_FILE))) ok = false;
  writeJsonAtomic(started, { configFingerprint: fingerprint, startedAt: new Date().toISOString() });
  return ok;
}

/** What `finishedPretrainRun` reads back from a run folder. */
export interface FinishedPretrainRun {
  runDir: string;
  manifestFile: string;
  modelFile: string;
  manifest: PretrainRunJson;
}

/**
 * The run in `runDir` when it finished with the same settings as `o` (run.json present with the
 * same `configFingerprint`, model file on disk), else undefined. Lets callers (lib/finetune,
 * notebooks, `npm start`) reuse a pretraining instead of repeating it.
 */
export function finishedPretrainRun(runDir: string, o: PretrainSettings): FinishedPretrainRun | undefined {
  const manifest = readPretrainRun(runDir);
  if (!manifest) return undefined;
  const modelFile = pretrainModelFile(runDir, manifest);
  if (manifest.configFingerprint !== pretrainConfigFingerprint(o) || !existsSync(modelFile)) return undefined;
  return { runDir, manifestFile: join(runDir, PRETRAIN_RUN_FILE), modelFile, manifest };
}
