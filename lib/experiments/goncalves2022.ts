/**
 * Every setting of the Goncalves & Busso (Interspeech 2022) reproduction, one typed object per
 * profile (SpeechBrain's "one hparams file per experiment"). Stage code (lib/train, lib/finetune,
 * lib/pseudo) takes the complete objects built here and never decides scale by itself; the CLI's
 * flags and the notebooks' parameter cells override them with `goncalves2022Settings(profile, over)`,
 * and the resolved object is what run.json records and what the run fingerprints hash.
 *
 * Profiles (see lib/profile.ts):
 *   ci    smoke test: tiny encoder, a few clips and epochs, minutes on 2 cores; numbers at chance.
 *   cpu   the default: the whole EmoDB experiment on a 2-core, 24 GiB machine (baseline + the four
 *         pretrained arms + the functionals reference, 5 folds x 3 seeds). Sizes were chosen on DEV
 *         speakers only (the notes beside each value say what was measured).
 *   paper the paper's scale (base encoder, 60 pretraining epochs, both fine-tuning modes), for a GPU;
 *         on the 4 GiB wasm heap its memory check refuses it before any work starts.
 */
import { shortHash } from '../hash';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { encoderConfig, type EncoderConfig, type EncoderPreset } from '../models/encoder';
import { runsRoot } from '../paths';
import { profileName, type ProfileName } from '../profile';
import type { FeatureNormalization } from '../train/batches';
import type { PretextTask, PretextTaskName } from '../train/pretextExamples';
import type { PretrainSettings, TrainBudget } from '../train/pretrainRun';
import type { EnergySetOptions, ActivationSetOptions } from '../pseudo/build';
import { EmolabError } from '../errors';
import { corpusRef } from '../data/corpora';
import { SER_CLASS_CHOICES, serProtocolName, type SerDataSpec } from '../finetune/protocols';
import type { FoldSpeakers } from '../finetune/encoderLookup';
import type { SerExperimentSettings } from '../finetune/experiment';
import type { ArmPretraining } from '../finetune/foldPretraining';
import type { FinetuneHyper } from '../finetune/finetuneFold';
import { checkTrainingFits, type MemoryBackend } from '../models/memory';

/** The corpora whose talking faces give tasks 2 and 3 their targets (folders under EMOLAB_DATA). */
export type AvCorpusName = 'av-speech-unlabeled' | 'grid';

export interface FaceTrackSettings {
  /** Video frames per second fed to MediaPipe (the targets live on the 10 ms audio grid either way). */
  fps: number;
  /**
   * Faces MediaPipe looks for per frame (the largest is kept). 1 lets MediaPipe track instead of
   * detecting on every frame (~25% faster); every clip of av-speech-unlabeled and GRID shows one person.
   */
  numFaces: number;
  /** Frames are scaled so their longer side is at most this many pixels. */
  maxSide: number;
}

export interface ClipSelection {
  /** At most this many clips (the shortest first when `shortestFirst`), null = all. */
  maxClips: number | null;
  /** Clips shorter than this are left out (seconds). */
  minDurationS: number;
  shortestFirst: boolean;
}

export interface AuRuleSettings {
  /** Minimum EMFACS prototype score for a frame to show that emotion. */
  matchThreshold: number;
  /** Winning frames must last this long (seconds) to count. */
  minSustainS: number;
  /** Subtract each speaker's median AU evidence first ('none': most AV speakers have one clip). */
  baseline: 'none' | 'speaker';
  /** AU evidence: binary presence per frame or the intensities. */
  evidence: 'presence' | 'intensity';
}

export interface PretextSettings {
  /** Task 1 pretrains on the SER corpus's own audio, once per SER fold without its test speakers. */
  energyCorpus: 'emodb';
  /** Tasks 2, 3 and all pretrain on these audio-visual corpora (joined into one manifest). */
  avCorpora: AvCorpusName[];
  faceTrack: FaceTrackSettings;
  clipSelection: ClipSelection;
  energyTargets: Required<EnergySetOptions>;
  activationTargets: Required<ActivationSetOptions>;
  auTargets: AuRuleSettings;
  /** Held-out speakers of each pretraining run's own split (fractions of its speakers). */
  split: { seed: number; devSpeakers: number; testSpeakers: number };
  /** Training budget per pretext run. */
  budget: Record<PretextTask, TrainBudget>;
  /** Loss weight per head in the `all` run. */
  taskWeights: Record<PretextTaskName, number>;
  /** Training pieces are at most this many frames (longer clips are cut). */
  maxPieceFrames: number;
  /** Each pretraining run uses at most this many clips (spread over speakers), null = all. */
  maxClips: number | null;
}

/** The SER part of the experiment: lib/finetune's SerExperimentSettings fields, plus which tasks pretrain per fold. */
export interface FinetuneSettings extends Pick<SerExperimentSettings, 'protocol' | 'partitions' | 'folds' | 'seeds' | 'arms' | 'modes' | 'maxClips' | 'classes'> {
  /**
   * The SER corpus (a lib/data corpus argument: emodb, crema-d, a folder with labels.csv, a manifest
   * CSV); with `testCorpus` the training corpus of a cross-corpus evaluation. Default emodb.
   */
  corpus: string;
  /** Cross-corpus: test on every labelled clip of this corpus (null: speaker-independent folds of `corpus`). */
  testCorpus: string | null;
  /** Equal for every arm; the cap on padded frames per batch is required here. */
  hyper: FinetuneHyper & { maxFrames: number };
  /** Tasks pretrained per SER fold on the protocol's corpus without that fold's test speakers. */
  pretrainPerFold: PretextTaskName[];
}

export interface StatisticsSettings {
  /** Cluster-bootstrap resamples (over test speakers) for CIs. */
  bootstrap: number;
  /** Randomisation-test assignments (exact enumeration when 2^speakers is at most this). */
  permutations: number;
  seed: number;
  level: number;
}

export interface Goncalves2022Settings {
  paper: 'goncalves2022';
  profile: ProfileName;
  /** runs/ser/<experiment>/ holds the per-model records; runs/<prefix>pretrain-* the encoders. */
  experiment: string;
  /** Run folders of this profile's pretraining live under runs/<runsPrefix>... so profiles never mix. */
  runsPrefix: string;
  features: { numMelBins: 80; normalization: FeatureNormalization };
  encoder: { preset: EncoderPreset | 'custom'; config: EncoderConfig };
  pretext: PretextSettings;
  finetune: FinetuneSettings;
  statistics: StatisticsSettings;
  /** Independent models (pretraining runs, arms x folds x seeds) trained at once, one process each. */
  compute: { workers: number };
}

/**
 * Worker processes for independent models: one per core (wasm is single-threaded), at most one per
 * 3 GiB of memory (a tiny-encoder SER worker peaks at about 2.2 GiB resident on EmoDB).
 */
export function defaultWorkers(cores = availableParallelism(), memBytes = totalmem()): number {
  return Math.max(1, Math.min(cores, Math.floor(memBytes / (3 * 1024 ** 3))));
}

const budget = (b: Partial<TrainBudget> & Pick<TrainBudget, 'epochs'>): TrainBudget => ({
  batchSize: 16, maxFrames: 16000, lr: 1e-3, weightDecay: 0.01, warmup: 0.1, patience: 0, monitor: 'accuracy', checkpointEverySteps: null, ...b,
});

const ENERGY_TARGETS: Required<EnergySetOptions> = {
  segmentation: { mode: 'fixed', lengthFrames: 100, hopFrames: 50, tail: 'align-end', minFrames: 20 },
  statistic: 'std', reference: 'utterance', floorDb: -80,
};
const ACTIVATION_TARGETS: Required<ActivationSetOptions> = {
  segmentation: { mode: 'fixed', lengthFrames: 100, hopFrames: 50, tail: 'align-end', minFrames: 20 },
  minFaceFraction: 0.5, statistic: 'mean',
};
const AU_TARGETS: AuRuleSettings = { matchThreshold: 0.3, minSustainS: 0.5, baseline: 'none', evidence: 'presence' };
/** Pretext data and targets shared by the cpu and paper profiles (they differ in face-track rate and budgets). */
const AV_PRETEXT: Omit<PretextSettings, 'faceTrack' | 'budget'> = {
  energyCorpus: 'emodb', avCorpora: ['av-speech-unlabeled', 'grid'],
  clipSelection: { maxClips: null, minDurationS: 0, shortestFirst: false },
  energyTargets: ENERGY_TARGETS, activationTargets: ACTIVATION_TARGETS, auTargets: AU_TARGETS,
  split: { seed: 0, devSpeakers: 0.2, testSpeakers: 0.2 },
  taskWeights: { energy: 1, activation: 1, au: 1 }, maxPieceFrames: 1000, maxClips: null,
};
const STATS: StatisticsSettings = { bootstrap: 2000, permutations: 4096, seed: 7, level: 0.95 };
const ARMS_ALL = ['functionals', 'baseline', 'energy', 'activation', 'au', 'all'];

function base(profile: ProfileName, preset: EncoderPreset): Pick<Goncalves2022Settings, 'paper' | 'profile' | 'experiment' | 'runsPrefix' | 'encoder'> {
  return { paper: 'goncalves2022', profile, experiment: `emodb-${profile}`, runsPrefix: profile === 'cpu' ? '' : `${profile}-`, encoder: { preset, config: encoderConfig(preset) } };
}

/** The settings of each profile, before overrides. */
export function goncalves2022Profile(profile: ProfileName): Goncalves2022Settings {
  if (profile === 'ci') {
    return {
      ...base('ci', 'tiny'),
      features: { numMelBins: 80, normalization: 'training-set' },
      pretext: {
        energyCorpus: 'emodb', avCorpora: ['av-speech-unlabeled'],
        faceTrack: { fps: 5, numFaces: 2, maxSide: 640 },
        clipSelection: { maxClips: 6, minDurationS: 2.5, shortestFirst: true },
        energyTargets: ENERGY_TARGETS, activationTargets: ACTIVATION_TARGETS, auTargets: AU_TARGETS,
        split: { seed: 0, devSpeakers: 0.2, testSpeakers: 0.2 },
        budget: { energy: budget({ epochs: 4, batchSize: 8 }), activation: budget({ epochs: 4, batchSize: 8 }), au: budget({ epochs: 8, batchSize: 8 }), all: budget({ epochs: 8, batchSize: 8 }) },
        taskWeights: { energy: 1, activation: 1, au: 1 }, maxPieceFrames: 1000, maxClips: 48,
      },
      finetune: {
        protocol: 'emodb', corpus: 'emodb', testCorpus: null, classes: 'six', partitions: [1, 2, 3, 4, 5], folds: 2, seeds: [1], arms: ARMS_ALL, modes: ['full'],
        hyper: { epochs: 3, batchSize: 16, maxFrames: 16000, lr: 2e-3, weightDecay: 0.01, patience: 0, warmup: 0.1, classBalanced: false, monitor: 'ua' },
        maxClips: { train: 32, dev: 16, test: 32 }, pretrainPerFold: ['energy'],
      },
      statistics: { ...STATS, bootstrap: 200, permutations: 1024 },
      compute: { workers: 2 },
    };
  }
  if (profile === 'cpu') {
    return {
      ...base('cpu', 'tiny'),
      // Training-set CMVN: per-utterance CMVN removes each clip's level and spectral tilt, which carry
      // arousal (measured on fold 1's dev speakers, tiny encoder, 20 epochs: see the README).
      features: { numMelBins: 80, normalization: 'training-set' },
      pretext: {
        ...AV_PRETEXT,
        // 10 fps: on 40 clips the activation statistic correlates with 25 fps at r = 0.99 and 80-85% of labels agree (README), at 39% of the tracking cost.
        faceTrack: { fps: 10, numFaces: 1, maxSide: 640 },
        budget: {
          energy: budget({ epochs: 10, patience: 4 }),
          activation: budget({ epochs: 8, patience: 4 }),
          au: budget({ epochs: 8, patience: 4 }),
          all: budget({ epochs: 8, patience: 4 }),
        },
      },
      finetune: {
        protocol: 'emodb', corpus: 'emodb', testCorpus: null, classes: 'six', partitions: [1, 2, 3, 4, 5], folds: 5, seeds: [1, 2, 3], arms: ARMS_ALL, modes: ['full'],
        hyper: { epochs: 15, batchSize: 16, maxFrames: 16000, lr: 1e-3, weightDecay: 0.01, patience: 5, warmup: 0.1, classBalanced: false, monitor: 'ua' },
        maxClips: { train: null, dev: null, test: null }, pretrainPerFold: ['energy'],
      },
      statistics: STATS,
      compute: { workers: defaultWorkers() },
    };
  }
  return {
    ...base('paper', 'base'),
    features: { numMelBins: 80, normalization: 'training-set' },
    pretext: {
      ...AV_PRETEXT,
      faceTrack: { fps: 25, numFaces: 1, maxSide: 640 },
      budget: {
        energy: budget({ epochs: 60, patience: 8, checkpointEverySteps: 100 }),
        activation: budget({ epochs: 60, patience: 8, checkpointEverySteps: 100 }),
        au: budget({ epochs: 60, patience: 8, checkpointEverySteps: 100 }),
        all: budget({ epochs: 60, patience: 8, checkpointEverySteps: 100 }),
      },
    },
    finetune: {
      protocol: 'emodb', corpus: 'emodb', testCorpus: null, classes: 'six', partitions: [1, 2, 3, 4, 5], folds: 5, seeds: [1, 2, 3], arms: ARMS_ALL, modes: ['full', 'frozen'],
      hyper: { epochs: 40, batchSize: 16, maxFrames: 16000, lr: 5e-4, weightDecay: 0.01, patience: 8, warmup: 0.1, classBalanced: false, monitor: 'ua' },
      maxClips: { train: null, dev: null, test: null }, pretrainPerFold: ['energy'],
    },
    statistics: STATS,
    compute: { workers: 1 },
  };
}

/** Deep partial, for overrides. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

function merge<T>(baseObj: T, over: DeepPartial<T> | undefined): T {
  if (!over) return baseObj;
  const out: Record<string, unknown> = { ...(baseObj as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? merge(cur, v as DeepPartial<typeof cur>) : v;
  }
  return out as T;
}

/**
 * The resolved settings: the profile's object (default EMOLAB_PROFILE) with `over` merged in.
 * `over.encoder.preset` alone re-derives the encoder config; everything is then validated, so a bad
 * value fails here, naming the setting, before any work starts.
 */
export function goncalves2022Settings(profile: ProfileName = profileName(), over?: DeepPartial<Goncalves2022Settings>): Goncalves2022Settings {
  const p = goncalves2022Profile(profile);
  const s = merge(p, over);
  if (over?.encoder?.preset && over.encoder.preset !== 'custom' && !over.encoder.config) s.encoder = { preset: over.encoder.preset, config: encoderConfig(over.encoder.preset) };
  // Changed settings get their own experiment name (unless `experiment` is given) and their own
  // pretraining folders, so an exploratory run never overwrites the profile's reference records.
  const { experiment: _e, runsPrefix: _r, compute: _c, statistics: _st, ...semantic } = (over ?? {}) as Record<string, unknown>;
  const changed = JSON.stringify(merge(p, semantic as DeepPartial<Goncalves2022Settings>)) !== JSON.stringify(p);
  // Another SER corpus (or a cross-corpus pair, or the corpus's own classes) names the experiment after
  // it: <corpus key>[-to-<test key>][-own-classes]-<profile>, plus the tag of any other changed setting.
  const data = serDataSpec(s);
  const otherCorpus = !(data.corpus === 'emodb' || data.corpus === 'crema-d') || data.testCorpus !== null || data.classes !== 'six';
  if (otherCorpus && over?.experiment === undefined) {
    const { finetune: ft, ...rest } = semantic as { finetune?: Record<string, unknown> };
    const { corpus: _c, testCorpus: _t, classes: _k, ...ftRest } = ft ?? {};
    const others = { ...rest, ...(Object.keys(ftRest).length ? { finetune: ftRest } : {}) };
    const othersChanged = JSON.stringify(merge(p, others as DeepPartial<Goncalves2022Settings>)) !== JSON.stringify(p);
    const name = `${corpusRef(data.corpus).key}${data.testCorpus !== null ? `-to-${corpusRef(data.testCorpus).key}` : ''}${data.classes === 'corpus' ? '-own-classes' : ''}-${profile}`;
    s.experiment = othersChanged ? `${name}-${shortHash(others, 8)}` : name;
  }
  if (changed) {
    const tag = shortHash(semantic, 8);
    if (over?.experiment === undefined && !otherCorpus) s.experiment = `${p.experiment}-${tag}`;
    // Pretraining folders follow the settings, not the name: a named experiment with other
    // pretext settings must not overwrite the profile's reference encoders.
    if (over?.runsPrefix === undefined) s.runsPrefix = `${p.runsPrefix}${tag}-`;
  }
  validateGoncalves2022(s);
  return s;
}

function positiveInt(name: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new EmolabError('settings', `${name} must be a positive integer, got ${JSON.stringify(v)}`);
}
function nonNegative(name: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new EmolabError('settings', `${name} must be a number >= 0, got ${JSON.stringify(v)}`);
}
function positive(name: string, v: unknown): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new EmolabError('settings', `${name} must be a number > 0, got ${JSON.stringify(v)}`);
}

export function validateBudget(name: string, b: TrainBudget): void {
  positiveInt(`${name}.epochs`, b.epochs);
  positiveInt(`${name}.batchSize`, b.batchSize);
  positiveInt(`${name}.maxFrames`, b.maxFrames);
  positive(`${name}.lr`, b.lr);
  nonNegative(`${name}.weightDecay`, b.weightDecay);
  nonNegative(`${name}.warmup`, b.warmup);
  nonNegative(`${name}.patience`, b.patience);
  if (!['accuracy', 'ua', 'f1', 'loss'].includes(b.monitor)) throw new EmolabError('settings', `${name}.monitor must be accuracy, ua, f1 or loss, got "${b.monitor}"`);
}

/** Refuse impossible settings, naming the setting. */
export function validateGoncalves2022(s: Goncalves2022Settings): void {
  if (!['utterance', 'training-set'].includes(s.features.normalization)) throw new EmolabError('settings', `features.normalization must be "utterance" or "training-set", got "${s.features.normalization}"`);
  if (!/^[A-Za-z0-9_.+-]+$/.test(s.experiment)) throw new EmolabError('settings', `experiment "${s.experiment}" must use letters, digits, "_", "-", ".", "+"`);
  for (const t of ['energy', 'activation', 'au', 'all'] as const) validateBudget(`pretext.budget.${t}`, s.pretext.budget[t]);
  positive('pretext.faceTrack.fps', s.pretext.faceTrack.fps);
  positiveInt('pretext.faceTrack.numFaces', s.pretext.faceTrack.numFaces);
  positiveInt('pretext.maxPieceFrames', s.pretext.maxPieceFrames);
  if (s.pretext.maxClips !== null) positiveInt('pretext.maxClips', s.pretext.maxClips);
  if (s.pretext.clipSelection.maxClips !== null) positiveInt('pretext.clipSelection.maxClips', s.pretext.clipSelection.maxClips);
  for (const c of s.pretext.avCorpora) if (!['av-speech-unlabeled', 'grid'].includes(c)) throw new EmolabError('settings', `pretext.avCorpora: unknown corpus "${c}" (use av-speech-unlabeled, grid)`);
  const f = s.finetune;
  if (!SER_CLASS_CHOICES.includes(f.classes)) throw new EmolabError('settings', `finetune.classes must be ${SER_CLASS_CHOICES.join(' or ')}, got ${JSON.stringify(f.classes)}`);
  if (f.protocol !== 'emodb' && f.protocol !== 'crema-d') throw new EmolabError('settings', `finetune.protocol must be emodb or crema-d, got ${JSON.stringify(f.protocol)}`, { hint: 'any other corpus: finetune.corpus (CLI: emolab finetune --corpus <folder|manifest.csv|name>)' });
  if (typeof f.corpus !== 'string' || f.corpus === '') throw new EmolabError('settings', `finetune.corpus must be a corpus argument, got ${JSON.stringify(f.corpus)}`);
  corpusRef(f.corpus);
  if (f.testCorpus !== null) {
    corpusRef(f.testCorpus);
    if (corpusRef(f.testCorpus).key === corpusRef(f.corpus).key) throw new EmolabError('settings', `finetune.testCorpus is the training corpus (${f.corpus}); cross-corpus evaluation needs two corpora`, { hint: 'for speaker-independent folds of one corpus: emolab finetune --corpus <corpus>' });
  }
  positiveInt('finetune.folds', f.folds);
  if (f.seeds.length === 0) throw new EmolabError('settings', 'finetune.seeds is empty');
  for (const seed of f.seeds) if (!Number.isInteger(seed)) throw new EmolabError('settings', `finetune.seeds must be integers, got ${JSON.stringify(f.seeds)}`);
  if (new Set(f.seeds).size !== f.seeds.length) throw new EmolabError('settings', `finetune.seeds has duplicates: ${f.seeds.join(',')}`);
  for (const a of f.arms) if (!ARMS_ALL.includes(a)) throw new EmolabError('settings', `finetune.arms: unknown arm "${a}"`, { hint: `arms are ${ARMS_ALL.join(', ')} (CLI: emolab finetune --arms ${ARMS_ALL.join(',')})` });
  for (const m of f.modes) if (m !== 'full' && m !== 'frozen') throw new EmolabError('settings', `finetune.modes: unknown mode "${m}" (use full, frozen)`);
  validateBudget('finetune.hyper', { ...f.hyper, checkpointEverySteps: null });
  for (const k of ['train', 'dev', 'test'] as const) if (f.maxClips[k] !== null) positiveInt(`finetune.maxClips.${k}`, f.maxClips[k]);
  positiveInt('compute.workers', s.compute.workers);
  positiveInt('statistics.bootstrap', s.statistics.bootstrap);
  positiveInt('statistics.permutations', s.statistics.permutations);
}

/** Folder of the label sets of tasks 2 and 3 for this profile (ci's small sets never mix with the others). */
export function faceLabelsDir(s: Goncalves2022Settings, root: string = runsRoot()): string {
  return join(root, 'features', avCorpusName(s), `pseudo-${s.profile}-fps${s.pretext.faceTrack.fps}`);
}

/** Folder of the face feature store (cached face tracks) of the AV corpora at this frame rate and face count. */
export function faceStoreDir(s: Goncalves2022Settings, root: string = runsRoot()): string {
  const t = s.pretext.faceTrack;
  return join(root, 'features', `${avCorpusName(s)}-face-fps${t.fps}-faces${t.numFaces}-side${t.maxSide}`);
}

/** Folder of the audio feature store (fbank, energy, F0) of the AV corpora. */
export function avAudioStoreDir(s: Goncalves2022Settings, root: string = runsRoot()): string {
  return join(root, 'features', avCorpusName(s));
}

/** The joined AV corpus name, e.g. `av-speech-unlabeled+grid`. */
export function avCorpusName(s: Goncalves2022Settings): string {
  return s.pretext.avCorpora.join('+');
}

/** The audio feature store of the SER corpus (EmoDB: runs/features/emodb). */
export function audioStoreDir(root: string = runsRoot()): string {
  return join(root, 'features', 'emodb');
}

/** The default audio feature store of any corpus argument: `<runs>/features/<corpus key>` (lib/data corpusRef). */
export function corpusStoreDir(corpus: string, root: string = runsRoot()): string {
  return join(root, 'features', corpusRef(corpus).key);
}

/** The SER data these settings evaluate (CREMA-D through the older `finetune.protocol` too). */
export function serDataSpec(s: Goncalves2022Settings): SerDataSpec {
  const f = s.finetune;
  const corpus = f.corpus === 'emodb' && f.protocol === 'crema-d' ? 'crema-d' : f.corpus;
  return { corpus, testCorpus: f.testCorpus, classes: f.classes, partitions: f.partitions };
}

/** The corpus task 1 (energy) pretrains on: the SER training corpus, EmoDB by default. */
export function energyCorpusOf(s: Goncalves2022Settings): string {
  const c = serDataSpec(s).corpus;
  return c === 'emodb' || c === 'crema-d' ? s.pretext.energyCorpus : c;
}

/** Complete pretrain() settings of one task of this experiment (tasks 2, 3, all: the AV corpora). */
export function pretrainSettingsFor(s: Goncalves2022Settings, task: PretextTask, opts: { fold?: { name: string; test: string[] }; root?: string } = {}): PretrainSettings {
  const root = opts.root ?? runsRoot();
  const av = task !== 'energy';
  const name = opts.fold ? `${s.runsPrefix}pretrain-${task}-${opts.fold.name}` : `${s.runsPrefix}pretrain-${task}`;
  return {
    task,
    data: av ? avCorpusName(s) : energyCorpusOf(s),
    out: join(root, name),
    encoder: s.encoder.config,
    seed: s.pretext.split.seed,
    maxClips: s.pretext.maxClips,
    budget: s.pretext.budget[task],
    taskWeights: s.pretext.taskWeights,
    labelsDir: av ? faceLabelsDir(s, root) : null,
    featureStore: av ? avAudioStoreDir(s, root) : energyCorpusOf(s) === 'emodb' ? audioStoreDir(root) : corpusStoreDir(energyCorpusOf(s), root),
    split: { devSpeakers: s.pretext.split.devSpeakers, testSpeakers: s.pretext.split.testSpeakers },
    energy: s.pretext.energyTargets,
    normalization: s.features.normalization,
    maxPieceFrames: s.pretext.maxPieceFrames,
    excludeSpeakers: opts.fold ? [...opts.fold.test].sort() : [],
    fold: opts.fold?.name ?? null,
  };
}

/** The SER experiment of these settings, complete, as lib/finetune runs it. */
export function serExperimentSettings(s: Goncalves2022Settings, root: string = runsRoot()): SerExperimentSettings {
  const f = s.finetune;
  const pretraining: Record<string, ArmPretraining> = {};
  for (const arm of f.arms) {
    if (arm === 'baseline' || arm === 'functionals') continue;
    const task = arm as PretextTask;
    // Per fold only when the encoder pretrains on the SER test corpus itself (not across corpora).
    pretraining[arm] = task !== 'all' && f.pretrainPerFold.includes(task as PretextTaskName) && f.testCorpus === null
      ? { perFold: true, settingsFor: (fold: FoldSpeakers) => pretrainSettingsFor(s, task, { fold, root }) }
      : { perFold: false, settings: pretrainSettingsFor(s, task, { root }) };
  }
  const data = serDataSpec(s);
  return {
    experiment: s.experiment, protocol: serProtocolName(data), corpus: data.corpus, testCorpus: data.testCorpus, classes: data.classes,
    testFeatureStore: data.testCorpus !== null ? corpusStoreDir(data.testCorpus, root) : null,
    partitions: f.partitions, folds: f.folds, seeds: f.seeds, arms: f.arms, modes: f.modes,
    hyper: { ...f.hyper }, maxClips: f.maxClips, normalization: s.features.normalization, encoder: s.encoder.config, preset: s.encoder.preset,
    featureStore: data.corpus === 'emodb' ? audioStoreDir(root) : corpusStoreDir(data.corpus, root), pretraining, workers: s.compute.workers,
  };
}

/** Longest EmoDB clip in 10 ms frames (9.2 s), the padded length of the longest batch. */
export const EMODB_LONGEST_FRAMES = 920;

/**
 * Refuse, before any work starts, a configuration whose training step cannot fit the backend's
 * memory (the 4 GiB wasm heap above all), naming the setting to change.
 */
export function checkMemory(s: Goncalves2022Settings, backend: MemoryBackend): void {
  const f = s.finetune.hyper;
  const rowsAt = (maxFrames: number, batch: number, longest: number) => Math.max(1, Math.min(batch, Math.floor(maxFrames / longest)));
  checkTrainingFits({
    encoder: s.encoder.config, batchSize: rowsAt(f.maxFrames, f.batchSize, EMODB_LONGEST_FRAMES), frames: EMODB_LONGEST_FRAMES, backend,
    what: 'finetune', settingNames: { batchSize: 'finetune.hyper.batchSize', frames: 'finetune.hyper.maxFrames', encoder: 'encoder.preset' },
  });
  for (const task of ['energy', 'activation', 'au', 'all'] as const) {
    if (task !== 'energy' && !s.finetune.arms.includes(task)) continue;
    const b = s.pretext.budget[task];
    const longest = Math.min(s.pretext.maxPieceFrames, task === 'energy' ? EMODB_LONGEST_FRAMES : s.pretext.maxPieceFrames);
    checkTrainingFits({
      encoder: s.encoder.config, batchSize: rowsAt(b.maxFrames, b.batchSize, longest), frames: longest, backend,
      what: `pretrain ${task}`, settingNames: { batchSize: `pretext.budget.${task}.batchSize`, frames: 'pretext.maxPieceFrames', encoder: 'encoder.preset' },
    });
  }
}
