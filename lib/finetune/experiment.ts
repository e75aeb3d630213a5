/**
 * A whole SER experiment: every arm (baseline + each pretrained encoder found under runs/) x mode
 * (full / frozen) x seed x fold, with one budget for all arms, each model's record written to
 * runs/ser/<experiment>/... as soon as it is trained. Rerunning skips every model whose record
 * exists with the same configuration fingerprint (so a killed run resumes, and a changed setting
 * retrains only what it affects).
 *
 * Pretraining follows the same speaker protocol as fine-tuning: an arm whose pretext task trains on
 * the protocol's own corpus (task 1, energy, on EmoDB) gets one encoder per fold, pretrained here on
 * that fold's train + dev speakers only (the test speakers' audio is never read; no labels are used),
 * in runs/pretrain-<task>-<fold>/ and reused when a finished run with the same settings exists. Arms
 * pretrained on other corpora (tasks 2, 3, all: av-speech-unlabeled) share one encoder. Which encoder
 * each arm x fold started from, and why it is disjoint from that fold's test speakers, goes to every
 * fold record (config.pretraining) and to runs/ser/<experiment>/pretraining.json.
 *
 * Features: 80-bin Kaldi log-mel filterbank on the 25 ms / 10 ms grid with per-utterance
 * mean/variance normalisation — the same front-end the pretext encoders were trained on
 * (lib/train/pretext.ts). Read from a feature store (lib/store, set "audio", feature "fbank") when
 * one is given, else computed from the audio here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, backendReport, describeBackend } from '../backend';
import type { Clip } from '../data/types';
import { EmolabError, errorMessage } from '../errors';
import { encoderConfig, type EncoderConfig, type EncoderPreset } from '../models/encoder';
import { runsRoot } from '../paths';
import { pick, profileName } from '../profile';
import { progress } from '../report/progress';
import { runInfo } from '../runinfo';
import { openFeatureStore } from '../store/featureStore';
import { normalizeUtterance, type Example } from '../train/batches';
import { clipFeatures, disposePretrain, finishedPretrainRun, pretrain, type PretextTaskName, type PretrainOptions } from '../train/pretext';
import type { EpochRecord as TrainEpoch } from '../train/trainer';
import { finetuneFold, SER_HEAD, type ArmInit, type FinetuneHyper } from './finetune';
import { protocolData, stratifiedSubset, type SerFold } from './protocols';
import { ARMS, PRETRAINING_MANIFEST, foldResultPath, readFoldResult, serRoot, writeFoldResult, type FinetuneMode, type FoldResult, type Protocol } from './results';
import { writeJsonAtomic } from '../store/atomic';

/** A pretrained encoder found under runs/: `runs/<name>/run.json` written by `pretrain()`. */
export interface PretrainedEncoder {
  arm: string;
  task: string;
  run: string;
  checkpoint: string;
  encoder: EncoderConfig;
  /** The corpus it was pretrained on (run.json dataset.corpus). */
  corpus: string;
  /** Every speaker whose audio the run read (train + dev + test of its own split). */
  speakers: string[];
  /** Speakers the run kept out of every step. */
  excludeSpeakers: string[];
  /** The SER fold it was pretrained for, when it was pretrained per fold. */
  fold?: string;
  /** The run.json it was read from. */
  manifest: string;
}

/** What an encoder lookup for one SER fold must respect: that fold's test speakers of `corpus`. */
export interface FoldSpeakers {
  name: string;
  corpus: string;
  test: string[];
}

interface PretrainRunJson {
  command?: string;
  task?: string;
  fold?: string | null;
  excludeSpeakers?: string[];
  dataset?: { corpus?: string; speakers?: string[] };
  split?: { speakers?: { train?: string[]; dev?: string[]; test?: string[] } };
  files?: { model?: string };
  config?: { model?: { encoder?: EncoderConfig } };
}

/** Speakers whose audio a run read: run.json dataset.speakers, else (older runs) the union of its split. */
function runSpeakers(run: PretrainRunJson): string[] {
  if (run.dataset?.speakers) return [...run.dataset.speakers].sort();
  const sp = run.split?.speakers ?? {};
  return [...new Set([...(sp.train ?? []), ...(sp.dev ?? []), ...(sp.test ?? [])])].sort();
}

/** Test speakers of `fold` whose audio the encoder heard (same corpus only: other corpora are other people). */
export function heardTestSpeakers(p: Pick<PretrainedEncoder, 'corpus' | 'speakers'>, fold: FoldSpeakers): string[] {
  if (p.corpus !== fold.corpus) return [];
  const heard = new Set(p.speakers);
  return fold.test.filter((s) => heard.has(s)).sort();
}

/**
 * Pretrained encoders under `root` (runs/), one per pretext task.
 *
 * Without `fold`: the runs that were not pretrained for a particular SER fold. When several runs
 * trained the same task, the one named `pretrain-<task>` wins, else the most recent.
 *
 * With `fold`: per task, the run pretrained for that fold (run.json `fold`) when there is one, else
 * a fold-independent run. An encoder whose run.json shows it read audio of one of the fold's test
 * speakers (same corpus) is refused with an EmolabError: test speakers are kept out of pretraining too.
 */
export function findPretrainedEncoders(root: string = runsRoot(), opts: { fold?: FoldSpeakers } = {}): PretrainedEncoder[] {
  if (!existsSync(root)) return [];
  type Cand = PretrainedEncoder & { mtime: number; rank: number };
  const found = new Map<string, Cand>();
  for (const name of readdirSync(root).sort()) {
    const file = join(root, name, 'run.json');
    if (!existsSync(file)) continue;
    let run: PretrainRunJson;
    try {
      run = JSON.parse(readFileSync(file, 'utf8')) as PretrainRunJson;
    } catch (e) {
      throw new EmolabError('train', `cannot read pretraining run manifest: ${errorMessage(e)}`, { file });
    }
    if (run.command !== 'pretrain' || !run.task || !(ARMS as readonly string[]).includes(run.task)) continue;
    const checkpoint = join(root, name, run.files?.model ?? 'model.safetensors');
    const encoder = run.config?.model?.encoder;
    if (!existsSync(checkpoint) || !encoder) continue;
    const runFold = run.fold ?? undefined;
    // rank: 2 = pretrained for this fold, 1 = canonical fold-independent run, 0 = other fold-independent run
    let rank: number;
    if (runFold !== undefined) {
      if (!opts.fold || runFold !== opts.fold.name) continue;
      rank = 2;
    } else rank = name === `pretrain-${run.task}` ? 1 : 0;
    const cand: Cand = {
      arm: run.task, task: run.task, run: name, checkpoint, encoder, corpus: run.dataset?.corpus ?? '?', speakers: runSpeakers(run),
      excludeSpeakers: [...(run.excludeSpeakers ?? [])].sort(), ...(runFold !== undefined ? { fold: runFold } : {}), manifest: file,
      mtime: statSync(checkpoint).mtimeMs, rank,
    };
    const prev = found.get(run.task);
    if (!prev || cand.rank > prev.rank || (cand.rank === prev.rank && cand.mtime > prev.mtime)) found.set(run.task, cand);
  }
  const out = ARMS.filter((a) => found.has(a)).map((a) => {
    const { mtime: _m, rank: _r, ...p } = found.get(a)!;
    return p;
  });
  if (opts.fold) {
    for (const p of out) {
      const heard = heardTestSpeakers(p, opts.fold);
      if (heard.length) {
        throw new EmolabError('train', `pretrained encoder ${p.run} (task ${p.task}) heard the audio of test speaker(s) ${heard.join(', ')} of SER fold ${opts.fold.name}: test speakers must be kept out of pretraining too`, {
          file: p.manifest,
          hint: `pretrain it per fold without those speakers (runSerExperiment does so for the ${opts.fold.corpus} arms; pretrain({ excludeSpeakers: [${heard.map((s) => `'${s}'`).join(', ')}], fold: '${opts.fold.name}' })), or move ${p.run} out of the runs folder`,
        });
      }
    }
  }
  return out;
}

/** The run folder of the encoder of `task` pretrained for SER fold `fold`. */
export function foldPretrainDir(task: string, fold: string, root: string = runsRoot()): string {
  return join(root, `pretrain-${task}-${fold}`);
}

/**
 * The `pretrain()` options of the per-fold encoder of `task`: the fold's corpus without the fold's
 * test speakers (their audio is never read; the fold's train and dev speakers are used — no labels
 * are involved), tagged with the fold's name. Everything else (sizes, epochs) is pretrain()'s
 * profile default unless `over` says otherwise. Notebook 05 and runSerExperiment use this same
 * function, so a run made by one is reused by the other.
 */
export function foldPretrainOptions(task: PretextTaskName, fold: FoldSpeakers, over: Partial<PretrainOptions> = {}, root: string = runsRoot()): PretrainOptions {
  return { ...over, task, data: fold.corpus, excludeSpeakers: [...fold.test].sort(), fold: fold.name, out: foldPretrainDir(task, fold.name, root) };
}

/** The speakers of an SER fold (all its clips, not a ci subset) as an encoder lookup needs them. */
export function foldSpeakers(fold: SerFold, corpus: string): FoldSpeakers {
  return { name: fold.name, corpus, test: [...new Set(fold.test.map((c) => c.speaker))].sort() };
}

/**
 * Make sure the encoder of `task` pretrained for `fold` exists: reuse the finished run whose
 * settings match (`finishedPretrainRun`), else pretrain it (resuming an interrupted run).
 */
export async function ensureFoldPretraining(task: PretextTaskName, fold: FoldSpeakers, over: Partial<PretrainOptions> = {}, root: string = runsRoot()): Promise<{ runDir: string; reused: boolean; seconds: number }> {
  const t0 = Date.now();
  const opts = foldPretrainOptions(task, fold, over, root);
  if (finishedPretrainRun(opts.out!, opts)) return { runDir: opts.out!, reused: true, seconds: 0 };
  // A finished run with other settings is started over; an unfinished one (no run.json) is resumed.
  const stale = existsSync(join(opts.out!, 'run.json'));
  const r = await pretrain({ ...opts, resume: !stale });
  disposePretrain(r);
  return { runDir: r.runDir, reused: false, seconds: (Date.now() - t0) / 1000 };
}

export interface SerExperimentOptions {
  protocol?: Protocol;
  /** CREMA-D partitions to use (default 1..5). */
  partitions?: number[];
  /** Results go to runs/ser/<experiment>/ (default `<protocol>-<profile>`, so ci and full never mix). */
  experiment?: string;
  modes?: FinetuneMode[];
  /** Arms to run (default: baseline + every pretrained encoder found). */
  arms?: string[];
  seeds?: number[];
  /** Use the first N folds (default ci 2, full all). */
  folds?: number;
  /** Encoder preset when no pretrained encoder fixes it (default ci tiny, full base). */
  preset?: EncoderPreset;
  hyper?: Partial<FinetuneHyper>;
  /** Subsample training / dev / test clips per fold (class-stratified, seeded). Default ci 32 / 16 / 32, full all. */
  maxTrainClips?: number;
  maxDevClips?: number;
  maxTestClips?: number;
  /** Feature store folder holding set "audio" with "fbank" (else features are computed here). */
  featureStore?: string;
  /** runs/ root (default EMOLAB_RUNS). */
  root?: string;
  quiet?: boolean;
  /** Retrain even when a matching record exists. */
  force?: boolean;
  /**
   * Pretext tasks pretrained here once per fold on the protocol's own corpus, without that fold's
   * test speakers (default: ['energy'] for emodb — task 1 pretrains on EmoDB audio —, none for crema-d).
   * Arms of other tasks use their fold-independent runs (tasks 2, 3 and all: av-speech-unlabeled).
   */
  pretrainPerFold?: PretextTaskName[];
  /** Extra pretrain() options for the per-fold encoders (default: pretrain()'s profile defaults). */
  pretrainOptions?: Partial<PretrainOptions>;
  onResult?: (r: FoldResult, file: string, reused: boolean) => void;
  onEpoch?: (info: { arm: string; mode: FinetuneMode; seed: number; fold: string }, record: TrainEpoch, history: TrainEpoch[]) => void;
}

/** Where an arm's encoder came from for one fold, and why it never heard that fold's test speakers. */
export interface FoldPretraining {
  arm: string;
  fold: string;
  run: string;
  corpus: string;
  /** The run's `fold` tag (per-fold encoder) or null (fold-independent encoder). */
  pretrainedForFold: string | null;
  excludeSpeakers: string[];
  serTestSpeakers: string[];
  /** Always empty: findPretrainedEncoders refuses an encoder that heard one. */
  testSpeakersHeard: string[];
  relation: 'fold-specific: pretrained without this fold\'s test speakers' | 'disjoint corpus: other people than the SER test speakers' | 'same corpus, test speakers excluded';
}

export interface SerExperimentResult {
  experiment: string;
  protocol: Protocol;
  /** Each arm's encoder initialisation per fold (scratch for the baseline). */
  arms: { arm: string; initByFold: Record<string, ArmInit> }[];
  /** Every pretrained arm x fold: which encoder, which corpus, which speakers it never heard. */
  pretraining: FoldPretraining[];
  /** The per-fold pretraining runs this call made (reused = finished run with the same settings found). */
  foldPretrainRuns: { task: string; fold: string; runDir: string; reused: boolean; seconds: number }[];
  modes: FinetuneMode[];
  seeds: number[];
  folds: string[];
  encoder: EncoderConfig;
  hyper: FinetuneHyper;
  results: FoldResult[];
  trained: number;
  reused: number;
  seconds: number;
}

/** The fine-tuning budget, equal for every arm. */
export function defaultHyper(over: Partial<FinetuneHyper> = {}): FinetuneHyper {
  return {
    epochs: pick({ ci: 3, full: 40 }),
    batchSize: pick({ ci: 16, full: 16 }),
    maxFrames: 16 * 1000,
    lr: pick({ ci: 2e-3, full: 5e-4 }),
    weightDecay: 0.01,
    patience: pick({ ci: 0, full: 8 }),
    warmup: 0.1,
    classBalanced: false,
    ...over,
  };
}

function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** The encoder configuration every arm shares: the pretrained encoders' (which must agree), else a preset. */
export function sharedEncoder(pretrained: PretrainedEncoder[], preset?: EncoderPreset): EncoderConfig {
  if (pretrained.length === 0) return encoderConfig(preset ?? pick({ ci: 'tiny', full: 'base' }));
  const first = JSON.stringify(pretrained[0].encoder);
  const odd = pretrained.filter((p) => JSON.stringify(p.encoder) !== first);
  if (odd.length) {
    throw new EmolabError('train', `pretrained encoders differ in configuration (${pretrained[0].run} vs ${odd.map((p) => p.run).join(', ')}); the arms would not be comparable`, {
      file: odd[0].checkpoint, hint: 'pretrain every task with the same preset (and profile), or pass --arms to pick comparable ones',
    });
  }
  if (preset) {
    const wanted = JSON.stringify(encoderConfig(preset));
    if (wanted !== first) throw new EmolabError('train', `--preset ${preset} differs from the pretrained encoders' configuration`, { file: pretrained[0].checkpoint, hint: 'omit --preset to use the pretrained configuration' });
  }
  return pretrained[0].encoder;
}

/** Normalised fbank examples (label = class index) for the given clips; failures are listed. */
async function loadExamples(clips: Clip[], label: (c: Clip) => number, store: string | undefined, quiet: boolean): Promise<{ byId: Map<string, Example>; failed: { id: string; reason: string }[] }> {
  const byId = new Map<string, Example>();
  const failed: { id: string; reason: string }[] = [];
  const make = (c: Clip, fbank: Float32Array, frames: number): Example => ({
    id: c.id, speaker: c.speaker, features: normalizeUtterance(fbank, frames, 80), frames, dim: 80,
    labels: { [SER_HEAD]: label(c) }, meta: { emotion: c.emotion ?? c.perceived?.majority ?? '' },
  });
  let rest = clips;
  if (store) {
    const fs = openFeatureStore(store);
    rest = [];
    const bar = progress('SER features (store)', clips.length, { unit: 'clips', quiet });
    for (const c of clips) {
      if (fs.has(c.id, 'fbank')) {
        const m = fs.get(c.id, 'fbank');
        if (m.dims !== 80) throw new EmolabError('train', `fbank of ${c.id} has ${m.dims} bins, expected 80`, { file: store });
        byId.set(c.id, make(c, m.data, m.frames));
      } else rest.push(c);
      bar.tick();
    }
    bar.done();
  }
  if (rest.length) {
    const { items, quarantine } = await clipFeatures(rest, { quiet });
    for (const it of items) byId.set(it.clip.id, make(it.clip, it.fbank, it.frames));
    for (const q of quarantine) failed.push({ id: q.file, reason: q.reason });
  }
  return { byId, failed };
}

/** Run (or resume) a whole SER experiment. */
export async function runSerExperiment(o: SerExperimentOptions = {}): Promise<SerExperimentResult> {
  const t0 = Date.now();
  if (!backendReport()) await initBackend();
  const protocol = o.protocol ?? 'emodb';
  const root = o.root ?? runsRoot();
  const experiment = o.experiment ?? `${protocol}-${profileName()}`;
  const data = protocolData(protocol, { partitions: o.partitions });
  const corpus = protocol === 'emodb' ? 'emodb' : 'crema-d';
  const nFolds = Math.min(data.folds.length, o.folds ?? pick({ ci: 2, full: data.folds.length }));
  const fullFolds = data.folds.slice(0, nFolds);
  // Test speakers of each fold over all its clips (not the ci subset): none may be heard in pretraining.
  const foldSp = fullFolds.map((f) => foldSpeakers(f, corpus));
  const globalEncoders = findPretrainedEncoders(root);
  const perFoldTasks = (o.pretrainPerFold ?? (protocol === 'emodb' ? ['energy' as PretextTaskName] : [])).filter((t) => !o.arms || o.arms.includes(t));
  const available = new Set<string>([...perFoldTasks, ...globalEncoders.map((p) => p.arm)]);
  const wantedArms = o.arms ?? ['baseline', ...ARMS.filter((a) => a !== 'baseline' && available.has(a))];
  for (const a of wantedArms) {
    if (a !== 'baseline' && !available.has(a)) {
      throw new EmolabError('train', `no pretrained encoder for arm "${a}" under ${root}`, { hint: `run: npx emolab pretrain --task ${a}   (found: ${globalEncoders.map((p) => p.run).join(', ') || 'none'})` });
    }
  }
  // Per-fold pretraining (reused when a finished run with the same settings exists).
  const foldPretrainRuns: SerExperimentResult['foldPretrainRuns'] = [];
  for (const fs of foldSp) {
    for (const task of perFoldTasks) {
      const r = await ensureFoldPretraining(task, fs, { ...(o.preset ? { preset: o.preset } : {}), featureStore: o.featureStore, quiet: o.quiet, ...o.pretrainOptions }, root);
      foldPretrainRuns.push({ task, fold: fs.name, ...r });
      if (!o.quiet) console.log(`pretrain ${task} for ${fs.name} (test speakers ${fs.test.join('+')} left out): ${r.reused ? 'reused' : `trained in ${r.seconds.toFixed(0)} s`} -> ${r.runDir}`);
    }
  }
  // Each fold's encoders; refuses any that heard the fold's test speakers.
  const encodersByFold = new Map(foldSp.map((fs) => [fs.name, findPretrainedEncoders(root, { fold: fs }).filter((p) => wantedArms.includes(p.arm))]));
  for (const fs of foldSp) {
    for (const a of wantedArms) {
      if (a !== 'baseline' && !encodersByFold.get(fs.name)!.some((p) => p.arm === a)) {
        throw new EmolabError('train', `no pretrained encoder for arm "${a}" and fold ${fs.name} under ${root}`, { hint: `pretrain it for this fold: pretrain(foldPretrainOptions('${a}', ...)) or pass pretrainPerFold: ['${a}']` });
      }
    }
  }
  const encoder = sharedEncoder([...encodersByFold.values()].flat(), o.preset);
  const pretraining: FoldPretraining[] = foldSp.flatMap((fs) => encodersByFold.get(fs.name)!.map((p) => ({
    arm: p.arm, fold: fs.name, run: p.run, corpus: p.corpus, pretrainedForFold: p.fold ?? null, excludeSpeakers: p.excludeSpeakers,
    serTestSpeakers: fs.test, testSpeakersHeard: heardTestSpeakers(p, fs),
    relation: p.fold === fs.name ? 'fold-specific: pretrained without this fold\'s test speakers' as const
      : p.corpus !== fs.corpus ? 'disjoint corpus: other people than the SER test speakers' as const : 'same corpus, test speakers excluded' as const,
  })));
  const initFor = (arm: string, fold: string): ArmInit => {
    if (arm === 'baseline') return { kind: 'scratch' };
    const p = encodersByFold.get(fold)!.find((x) => x.arm === arm)!;
    return { kind: 'pretrained', run: p.run, checkpoint: p.checkpoint, task: p.task };
  };
  const arms = wantedArms.map((arm) => ({ arm, initByFold: Object.fromEntries(foldSp.map((fs) => [fs.name, initFor(arm, fs.name)])) }));
  writeJsonAtomic(join(serRoot(root), experiment, PRETRAINING_MANIFEST), {
    experiment, protocol, corpus,
    note: 'SER test speakers are kept out of every training and pretraining step: the energy encoder is pretrained once per fold without the fold\'s test speakers; encoders pretrained on other corpora (av-speech-unlabeled) share no speaker with the SER corpus.',
    folds: foldSp, pretraining, foldPretrainRuns,
  });
  const modes = o.modes ?? pick<FinetuneMode[]>({ ci: ['full'], full: ['full', 'frozen'] });
  const seeds = o.seeds ?? pick({ ci: [1], full: [1, 2, 3] });
  const hyper = defaultHyper(o.hyper);
  const maxTrain = o.maxTrainClips ?? pick<number | undefined>({ ci: 32, full: undefined });
  const maxDev = o.maxDevClips ?? pick<number | undefined>({ ci: 16, full: undefined });
  const maxTest = o.maxTestClips ?? pick<number | undefined>({ ci: 32, full: undefined });
  const folds: SerFold[] = fullFolds.map((f, i) => ({
    name: f.name,
    train: stratifiedSubset(f.train, maxTrain, data.label, 1000 + i),
    dev: stratifiedSubset(f.dev, maxDev, data.label, 2000 + i),
    test: stratifiedSubset(f.test, maxTest, data.label, 3000 + i),
  }));
  const allClips = [...new Map(folds.flatMap((f) => [...f.train, ...f.dev, ...f.test]).map((c) => [c.id, c])).values()];
  const { byId, failed } = await loadExamples(allClips, data.label, o.featureStore, o.quiet ?? false);
  if (failed.length && !o.quiet) console.log(`SER: ${failed.length} clips without features (left out): ${failed.slice(0, 3).map((f) => `${f.id}: ${f.reason}`).join('; ')}`);
  const ex = (cs: Clip[]): Example[] => cs.map((c) => byId.get(c.id)).filter((e): e is Example => e !== undefined);
  const info = { ...runInfo(), backend: describeBackend(backendReport()!) } as unknown as Record<string, unknown>;
  const results: FoldResult[] = [];
  let trained = 0, reused = 0;
  const total = arms.length * modes.length * seeds.length * folds.length;
  if (!o.quiet) console.log(`SER experiment ${experiment}: ${arms.map((a) => a.arm).join(', ')} x ${modes.join('/')} x seeds ${seeds.join(',')} x ${folds.length} folds = ${total} models`);
  const checkpointHash = new Map<string, string>();
  const hashOf = (file: string): string => {
    if (!checkpointHash.has(file)) checkpointHash.set(file, createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16));
    return checkpointHash.get(file)!;
  };
  for (const mode of modes) for (const { arm, initByFold } of arms) for (const seed of seeds) for (const fold of folds) {
    const init = initByFold[fold.name];
    const fd = { name: fold.name, train: ex(fold.train), dev: ex(fold.dev), test: ex(fold.test) };
    // The checkpoint's content (not its mtime) identifies the encoder: a reused run rewrites identical bytes.
    const initId = init.kind === 'pretrained' ? { ...init, sha256: hashOf(init.checkpoint) } : init;
    const pretrainNote = pretraining.find((p) => p.arm === arm && p.fold === fold.name);
    const fp = fingerprint({ protocol, encoder, hyper, initId, mode, seed, train: fd.train.map((e) => e.id), dev: fd.dev.map((e) => e.id), test: fd.test.map((e) => e.id) });
    const file = foldResultPath({ experiment, mode, arm, seed, fold: fold.name }, root);
    if (!o.force && existsSync(file)) {
      const prev = readFoldResult(file);
      if ((prev.config as { fingerprint?: string }).fingerprint === fp) {
        results.push(prev); reused++;
        o.onResult?.(prev, file, true);
        continue;
      }
    }
    const r = await finetuneFold({
      experiment, protocol, arm, init, mode, seed, fold: fd, classes: data.classes, encoder, hyper,
      configNote: { fingerprint: fp, preset: presetName(encoder), features: 'kaldi fbank 80, per-utterance MVN', ...(pretrainNote ? { pretraining: pretrainNote } : {}) },
      runInfo: info, quiet: o.quiet,
      onEpoch: o.onEpoch ? (rec, hist) => o.onEpoch!({ arm, mode, seed, fold: fold.name }, rec, hist) : undefined,
    });
    writeFoldResult(r, root);
    results.push(r); trained++;
    o.onResult?.(r, file, false);
  }
  return { experiment, protocol, arms, pretraining, foldPretrainRuns, modes, seeds, folds: folds.map((f) => f.name), encoder, hyper, results, trained, reused, seconds: (Date.now() - t0) / 1000 };
}

function presetName(enc: EncoderConfig): string {
  for (const p of ['tiny', 'small', 'base'] as EncoderPreset[]) if (JSON.stringify(encoderConfig(p)) === JSON.stringify(enc)) return p;
  return 'custom';
}
