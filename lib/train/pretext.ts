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
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Clip, Manifest, QuarantinedItem, Split } from '../data/types';
import { emodbManifest } from '../data/emodb';
import { folderManifest, unlabeledAvManifest } from '../data/folder';
import { speakerIndependentSplit, speakersOf } from '../data/splits';
import { decodeAudio } from '../audio/decode';
import { kaldiFbank } from '../audio/kaldi';
import { frameEnergyDb } from '../audio/energy';
import { buildActivationLabelSet, buildAuLabelSet, buildEnergyLabelSet, type EnergySetOptions } from '../pseudo/build';
import { clipTensors, labelSetFiles, readLabelSet, writeLabelSet, type LabelSetSummary } from '../pseudo/labelsets';
import { defaultLabelDir } from '../pseudo/corpora';
import { faceTracks, storedFaceFromTrack } from '../pseudo/sources';
import { activationOnAudioGrid } from '../pseudo/activationSource';
import { auEvidenceFromTrack } from '../pseudo/face';
import { createModel, forward, type HeadSpec, type SpeechModel } from '../models/heads';
import { encoderConfig, type EncoderConfig, type EncoderPreset } from '../models/encoder';
import { maskedMeanPool, disposeParams } from '../models/layers';
import { makeBatch, normalizeUtterance, planBatches, type Example, type LabelledSegment } from './batches';
import { evaluate, train, type EpochRecord, type TrainOptions, type TrainResult } from './trainer';
import { saveCheckpoint } from './checkpoint';
import type { HeadMetrics } from './losses';
import { progress } from '../report/progress';
import { writeJsonAtomic } from '../store/atomic';
import type { TensorMap, TypedArray } from '../store/safetensors';
import { openFeatureStore, type FeatureStore } from '../store/featureStore';
import { runInfo } from '../runinfo';
import { hashOutputs } from '../verify/hashes';
import { backendReport, describeBackend, initBackend } from '../backend';
import { pick } from '../profile';
import { dataRoot, runsRoot } from '../paths';
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
// Corpus and features

/** A corpus by name (`emodb`, `av-speech-unlabeled`) or a folder with a labels.csv. */
export function loadCorpus(data: string): Manifest {
  if (data === 'emodb') return emodbManifest();
  if (data === 'av-speech-unlabeled' || data === 'av') return unlabeledAvManifest();
  const root = resolve(data);
  if (!existsSync(root)) {
    throw new EmolabError('data', `corpus "${data}" is neither a known name (emodb, av-speech-unlabeled) nor a folder`, { file: root });
  }
  return existsSync(join(root, 'labels.csv')) ? folderManifest(root, { allowUnlabeled: true }) : unlabeledAvManifest(root, data);
}

/** One clip's audio features on the 10 ms grid. */
export interface ClipAudio {
  clip: Clip;
  /** Kaldi log-mel filterbank, [frames, 80] row-major. */
  fbank: Float32Array;
  frames: number;
  /** Frame energy (dB), same frames. */
  energyDb: Float32Array;
}

/**
 * Each clip's 80-bin Kaldi fbank (25 ms / 10 ms) and frame energies: read from a feature store
 * (lib/store, features `fbank` and `energy_db` of lib/audio's set) when one is given and has the
 * clip, else computed with the same lib/audio functions (decode + kaldiFbank + frameEnergyDb; ~100
 * clips/s here, so small corpora need no store). Clips that fail are quarantined with the reason.
 */
export async function clipFeatures(clips: Clip[], opts: { quiet?: boolean; store?: FeatureStore } = {}): Promise<{ items: ClipAudio[]; quarantine: QuarantinedItem[] }> {
  const items: ClipAudio[] = [];
  const quarantine: QuarantinedItem[] = [];
  const bar = progress('fbank', clips.length, { unit: 'clips', quiet: opts.quiet });
  for (const clip of clips) {
    const file = clip.audioPath ?? clip.videoPath;
    try {
      let fb: { data: Float32Array; frames: number };
      let energy: Float32Array;
      if (opts.store?.has(clip.id, 'fbank') && opts.store.has(clip.id, 'energy_db')) {
        fb = opts.store.get(clip.id, 'fbank');
        energy = opts.store.get(clip.id, 'energy_db').data;
      } else {
        if (!file) throw new Error('clip has no audio or video path');
        const signal = await decodeAudio(file);
        fb = kaldiFbank(signal, { numMelBins: 80, inputScale: 32768 });
        energy = frameEnergyDb(signal);
      }
      const frames = Math.min(fb.frames, energy.length);
      if (frames < 20) throw new Error(`only ${frames} frames (< 0.2 s of audio)`);
      let finite = true;
      for (let i = 0; i < frames * 80 && finite; i++) finite = Number.isFinite(fb.data[i]);
      if (!finite) throw new Error('features contain NaN or Inf');
      items.push({ clip, fbank: fb.data.subarray(0, frames * 80), frames, energyDb: energy.subarray(0, frames) });
    } catch (e) {
      quarantine.push({ file: file ?? clip.id, stage: 'train', reason: errorMessage(e) });
    }
    bar.tick(1);
  }
  bar.done();
  return { items, quarantine };
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

/**
 * Where notebooks keep the face-derived label sets of a corpus: lib/pseudo's default folder in the
 * full profile (so sets made with `emolab pseudo` are reused), a separate folder in ci (whose small
 * sets must never be mistaken for full ones).
 */
export function faceLabelsDir(corpus: string): string {
  return pick({ ci: join(runsRoot(), 'pretext-labels-ci', corpus.replace(/[^A-Za-z0-9_.-]+/g, '_')), full: defaultLabelDir(corpus) });
}

/** Frame rate at which notebooks 06/07 and the main job face-track the talking-face clips. */
export const faceTrackFps = (): number => pick({ ci: 5, full: 30 });

/**
 * The settings of the talking-face pretext runs (tasks 2, 3 and all three), shared by notebooks
 * 06/07 and `npm start`, so that both produce and reuse the same run folder instead of clashing.
 */
export function avPretrainOptions(task: 'activation' | 'au' | 'all', corpus: string): PretrainOptions {
  return {
    task, data: 'av-speech-unlabeled', labelsDir: faceLabelsDir(corpus), out: join(runsRoot(), `pretrain-${task}`),
    ...(task === 'activation' ? {} : { epochs: pick({ ci: 8, full: 60 }) }),
  };
}

/** The clips the notebooks face-track: all in full; in ci the `ciCount` shortest of at least `ciMinS` seconds. */
export function faceClipsForProfile(clips: Clip[], ciCount = 6, ciMinS = 2.5): Clip[] {
  return pick({
    ci: clips.filter((c) => (c.durationS ?? 0) >= ciMinS).sort((a, b) => (a.durationS ?? 0) - (b.durationS ?? 0) || a.id.localeCompare(b.id)).slice(0, ciCount),
    full: clips,
  });
}

/**
 * Make sure the face-derived label sets (tasks 2 and 3) exist in `dir` for `clips`; the missing
 * ones are computed with lib/pseudo (face tracks at `fps`, one MediaPipe session, then the
 * activation and AU-rule labelers) and written there. Face tracking is the slow part (about
 * 10-40 video frames/s on one core), which is why notebooks label only a few short clips in the
 * ci profile. The AU rule's sustain window is scaled to the frame rate (15 frames at 30 fps =
 * 0.5 s), and no per-speaker baseline is subtracted (most speakers here have a single clip, whose
 * own median would cancel its expression). Returns the tasks that were computed.
 */
export async function ensureFaceLabelSets(
  clips: Clip[], dir: string, opts: { tasks?: ('activation' | 'au')[]; fps?: number; rebuild?: boolean; quiet?: boolean } = {},
): Promise<string[]> {
  const tasks = opts.tasks ?? ['activation', 'au'];
  const missing = tasks.filter((t) => opts.rebuild || !existsSync(labelSetFiles(dir, t).summary));
  if (missing.length === 0) return [];
  const fps = opts.fps ?? 30;
  const corpus = clips[0]?.corpus ?? 'unknown';
  const tracked = await faceTracks(clips, { fps, quiet: opts.quiet });
  const quarantine = tracked.quarantine;
  const items = tracked.items.map(({ clip, track }) => ({ clip, face: storedFaceFromTrack(track) }));
  if (items.length === 0) throw new EmolabError('train', `no face track could be made for ${clips.length} clips: ${quarantine.slice(0, 3).map((q) => `${q.file}: ${q.reason}`).join('; ')}`);
  for (const task of missing) {
    const set = task === 'activation'
      ? buildActivationLabelSet(items.map(({ clip, face }) => ({ clip, ...activationOnAudioGrid(face) })), {}, corpus)
      : buildAuLabelSet(items.map(({ clip, face }) => ({ clip, evidence: auEvidenceFromTrack(face, { evidence: 'presence' }) })), { minSustainFrames: Math.max(1, Math.round((15 * fps) / 30)), baseline: 'none' }, corpus);
    set.summary.quarantine.unshift(...quarantine);
    set.summary.params = { ...set.summary.params, fps };
    writeLabelSet(dir, set.summary, set.tensors);
  }
  return missing;
}

function perClip(labels: TaskLabels, clipId: string): Record<string, { data: TypedArray; shape: number[] }> {
  return clipTensors(labels.tensors as TensorMap, clipId);
}

/**
 * Training examples: per-utterance normalised fbank plus the targets each label set has for the
 * clip. Clips longer than `maxFrames` are cut into consecutive pieces (segments that fall inside a
 * piece go with it; an utterance label goes with every piece). Clips without any target are left out.
 */
export function buildExamples(items: ClipAudio[], labels: TaskLabels[], opts: { maxFrames?: number } = {}): Example[] {
  const maxFrames = opts.maxFrames ?? 1000;
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
    const features = normalizeUtterance(it.fbank, it.frames, 80);
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

export interface PretrainOptions {
  task: PretextTask;
  /** Corpus name or folder. Default: emodb for `energy`, av-speech-unlabeled otherwise. */
  data?: string;
  /** Run folder (default runs/pretrain-<task>). */
  out?: string;
  preset?: EncoderPreset;
  encoderOverrides?: Partial<EncoderConfig>;
  seed?: number;
  /** Use at most this many clips (spread over speakers). Default: ci 48, full all. */
  maxClips?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  patience?: number;
  /** Loss weight per task for `all` (default 1 each). */
  taskWeights?: Partial<Record<PretextTaskName, number>>;
  /** Folder holding lib/pseudo label sets for activation / au (default: lib/pseudo's, <EMOLAB_RUNS>/features/<corpus>). */
  labelsDir?: string;
  /** Feature store folder (lib/store) to read fbank / energy_db from; clips it lacks are computed. */
  featureStore?: string;
  /** Longest training piece, frames (default 1000 = 10 s). */
  maxFrames?: number;
  /** Dev / test speakers (count or fraction; default 0.2 each). */
  devSpeakers?: number;
  testSpeakers?: number;
  energy?: EnergySetOptions;
  /**
   * Speakers whose audio must not be used at all (not for training, early stopping or the pretext
   * test): e.g. the test speakers of an SER fold, so that the encoder never hears them. Their clips
   * are removed before anything else; run.json records the list and the speakers actually used.
   */
  excludeSpeakers?: string[];
  /** The SER fold this encoder is pretrained for (recorded in run.json; lib/finetune matches on it). */
  fold?: string;
  /** Resume from runs/<name>/checkpoints/last.safetensors when present (default true). */
  resume?: boolean;
  /** Checkpoint every N steps too (default: full 100, ci epoch ends only). */
  checkpointEverySteps?: number;
  quiet?: boolean;
  onEpoch?: (record: EpochRecord, history: EpochRecord[]) => void;
}

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
 * A short hash of every setting that decides what `pretrain(o)` learns (defaults resolved for the
 * current profile): task, corpus, excluded speakers, fold, encoder, sizes, optimisation, targets.
 * Recorded in run.json as `configFingerprint`, so a finished run can be reused instead of retrained
 * (see `finishedPretrainRun`). The feature store is left out: it only caches the same lib/audio features.
 */
export function pretrainConfigFingerprint(o: PretrainOptions): string {
  const task = o.task;
  const settings = {
    task,
    data: o.data ?? (task === 'energy' ? 'emodb' : 'av-speech-unlabeled'),
    excludeSpeakers: [...new Set(o.excludeSpeakers ?? [])].sort(),
    fold: o.fold ?? null,
    encoder: encoderConfig(o.preset ?? pick({ ci: 'tiny', full: 'base' }), o.encoderOverrides),
    seed: o.seed ?? 0,
    maxClips: o.maxClips ?? pick({ ci: 48, full: Infinity }),
    epochs: o.epochs ?? pick({ ci: 4, full: 60 }),
    batchSize: o.batchSize ?? pick({ ci: 8, full: 16 }),
    lr: o.lr ?? 1e-3,
    patience: o.patience ?? pick({ ci: 0, full: 8 }),
    taskWeights: o.taskWeights ?? {},
    labelsDir: o.labelsDir ?? null,
    maxFrames: o.maxFrames ?? 1000,
    devSpeakers: o.devSpeakers ?? 0.2,
    testSpeakers: o.testSpeakers ?? 0.2,
    energy: o.energy ?? {},
  };
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
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
export function finishedPretrainRun(runDir: string, o: PretrainOptions): FinishedPretrainRun | undefined {
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

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const t0 = Date.now();
  if (!['energy', 'activation', 'au', 'all'].includes(o.task)) throw new EmolabError('train', `unknown pretext task "${o.task}"`, { hint: 'use energy, activation, au or all' });
  const backend = backendReport() ?? (await initBackend());
  const tasks: PretextTaskName[] = o.task === 'all' ? [...PRETEXT_TASKS] : [o.task];
  const data = o.data ?? (o.task === 'energy' ? 'emodb' : 'av-speech-unlabeled');
  const runDir = resolve(o.out ?? join(runsRoot(), `pretrain-${o.task}`));
  mkdirSync(runDir, { recursive: true });
  const seed = o.seed ?? 0;
  const manifest = loadCorpus(data);
  const labelsDir = o.labelsDir ?? defaultLabelDir(manifest.corpus);
  const excluded = new Set(o.excludeSpeakers ?? []);

  // Targets from disk first (they decide which clips are usable), then features.
  const diskLabels = tasks.filter((t) => t !== 'energy').map((t) => labelsFromDisk(labelsDir, t));
  // Excluded speakers (e.g. an SER fold's test speakers) go first: nothing below ever sees their audio.
  const withMedia = manifest.clips.filter((c) => c.audioPath || c.videoPath);
  let clips = withMedia.filter((c) => !excluded.has(c.speaker));
  const excludedClips = withMedia.length - clips.length;
  if (diskLabels.length) {
    // Face-derived targets exist only for the clips that were face-tracked: train on those.
    const labelled = new Set(diskLabels.flatMap((l) => l.summary.perClip.map((p) => p.id)));
    clips = clips.filter((c) => labelled.has(c.id));
  }
  const maxClips = o.maxClips ?? pick({ ci: 48, full: Infinity });
  clips = spreadOverSpeakers(clips, maxClips);
  if (speakersOf(clips).length < 3) {
    throw new EmolabError('train', `${clips.length} clips from ${speakersOf(clips).length} speakers: need at least 3 speakers for train/dev/test`, { file: manifest.root });
  }
  const split = speakerIndependentSplit(clips, { seed, dev: o.devSpeakers ?? 0.2, test: o.testSpeakers ?? 0.2, name: `${manifest.corpus}-speakers-seed${seed}` });
  const store = o.featureStore ? openFeatureStore(o.featureStore) : undefined;
  const { items, quarantine } = await clipFeatures(clips, { quiet: o.quiet, store });
  const labels: TaskLabels[] = [...(tasks.includes('energy') ? [energyLabels(items, o.energy)] : []), ...diskLabels];
  const examples = buildExamples(items, labels, { maxFrames: o.maxFrames });
  const inSet = (ids: string[]) => { const s = new Set(ids); return examples.filter((e) => s.has(e.meta?.clip ?? e.id)); };
  const sets = { train: inSet(split.train), dev: inSet(split.dev), test: inSet(split.test) };
  if (sets.train.length === 0) throw new EmolabError('train', `no training examples with ${tasks.join('+')} targets`, { file: manifest.root });

  const auClasses = labels.find((l) => l.task === 'au')?.summary.classes.length ?? 8;
  const encoder = encoderConfig(o.preset ?? pick({ ci: 'tiny', full: 'base' }), o.encoderOverrides);
  const model = createModel({ encoder, heads: tasks.map((t) => pretextHead(t, auClasses)) }, seed);
  const trainOpts: TrainOptions = {
    epochs: o.epochs ?? pick({ ci: 4, full: 60 }),
    batchSize: o.batchSize ?? pick({ ci: 8, full: 16 }),
    maxFrames: 16 * 1000,
    lr: o.lr ?? 1e-3,
    weightDecay: 0.01,
    warmup: 0.1,
    decay: 'cosine',
    clipNorm: 1,
    patience: o.patience ?? pick({ ci: 0, full: 8 }),
    monitor: 'accuracy',
    headWeights: Object.fromEntries(tasks.map((t) => [t, o.taskWeights?.[t] ?? 1])),
    seed,
    checkpointDir: join(runDir, 'checkpoints'),
    checkpointEverySteps: o.checkpointEverySteps ?? pick({ ci: undefined, full: 100 }),
    resume: o.resume ?? true,
    quiet: o.quiet,
    label: `pretrain ${o.task}`,
    onEpoch: o.onEpoch,
  };
  const training = await train(model, { train: sets.train, dev: sets.dev.length ? sets.dev : undefined }, trainOpts);
  const test = sets.test.length ? evaluate(model, sets.test, { batchSize: trainOpts.batchSize }).heads : {};
  const modelFile = join(runDir, 'model.safetensors');
  saveCheckpoint(modelFile, model, { step: training.steps, extra: { task: o.task, corpus: manifest.corpus } });

  const manifestFile = join(runDir, 'run.json');
  writeJsonAtomic(manifestFile, {
    command: 'pretrain',
    task: o.task,
    tasks,
    configFingerprint: pretrainConfigFingerprint(o),
    // Speakers kept out of every step of this run (their audio was never read), and the SER fold it serves.
    excludeSpeakers: [...excluded].sort(),
    fold: o.fold ?? null,
    dataset: {
      corpus: manifest.corpus, root: manifest.root, data, clipsInCorpus: manifest.clips.length, clipsUsed: items.length,
      // every speaker whose audio this run read (train, dev and test of its own split)
      excludedClips, speakers: [...speakersOf(clips)].sort(),
      quarantine: [...manifest.quarantine, ...quarantine], examples: { train: sets.train.length, dev: sets.dev.length, test: sets.test.length },
      labelsDir: diskLabels.length ? labelsDir : undefined,
    },
    split: { name: split.name, speakers: { train: speakersOf(clips.filter((c) => split.train.includes(c.id))), dev: speakersOf(clips.filter((c) => split.dev.includes(c.id))), test: speakersOf(clips.filter((c) => split.test.includes(c.id))) }, train: split.train, dev: split.dev, test: split.test },
    targets: labels.map((l) => ({ task: l.task, classes: l.summary.classes, balance: l.summary.balance, params: l.summary.params })),
    seed,
    config: { model: model.config, train: { ...trainOpts, onEpoch: undefined, checkpointDir: 'checkpoints' } },
    backend: describeBackend(backend),
    run: runInfo(),
    metrics: { perEpoch: training.history, best: training.best, test, stoppedEarly: training.stoppedEarly, steps: training.steps, resumedFromStep: training.resumedFromStep },
    wallS: (Date.now() - t0) / 1000,
    stepS: training.stepS,
    files: { model: 'model.safetensors', last: 'checkpoints/last.safetensors', best: 'checkpoints/best.safetensors' },
    // SHA-256 and size of each output, re-checked by `emolab verify <runDir>`.
    outputs: hashOutputs(runDir, ['model.safetensors', 'checkpoints/last.safetensors', 'checkpoints/best.safetensors']),
    dataRoot: dataRoot(),
  });
  return { runDir, task: o.task, model, split, examples: sets, labels, training, test, manifestFile, modelFile };
}

/** Free the model of a pretrain result. */
export function disposePretrain(r: PretrainResult): void {
  disposeParams(r.model.params);
}
