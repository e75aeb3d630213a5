/**
 * A whole SER experiment: the functionals reference, the encoder baseline and every pretrained arm x
 * mode x seed x fold, with one budget for all arms (complete settings from lib/experiments), each
 * model trained in a worker process (lib/finetune/pool: one per core, a crash fails only that model)
 * and its record written to runs/ser/<experiment>/... as soon as it is trained. Rerunning skips every
 * model whose record exists with the same configuration fingerprint (so a killed run resumes, and a
 * changed setting retrains only what it affects); failed models are listed in failures.json.
 *
 * Pretraining follows the same speaker protocol as fine-tuning: an arm whose pretext task trains on
 * the protocol's own corpus (task 1, energy, on EmoDB) gets one encoder per fold, pretrained on that
 * fold's train + dev speakers only (the test speakers' audio is never read; no labels are used), in
 * runs/pretrain-<task>-<fold>/ and reused when a finished run with the same settings exists. Arms
 * pretrained on other corpora (tasks 2, 3, all: the audio-visual corpora) share one encoder. Which
 * encoder each arm x fold started from, and why it is disjoint from that fold's test speakers, goes
 * to every fold record (config.pretraining) and to runs/ser/<experiment>/pretraining.json.
 *
 * Features: 80-bin Kaldi log-mel filterbank on the 25 ms / 10 ms grid from the feature store,
 * normalised per the settings (training-set CMVN by default: statistics of the fold's training clips).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { backendReport, describeBackend, initBackend } from '../backend';
import type { Clip } from '../data/types';
import { EmolabError, errorMessage } from '../errors';
import type { EncoderConfig } from '../models/encoder';
import { runInfo } from '../runinfo';
import { assertWritable } from '../paths';
import { withLock } from '../store/lock';
import { writeJsonAtomic } from '../atomic';
import { extractFeatures, openFeatureStore, type FeatureStore } from '../store/featureStore';
import { audioFeatureSet } from '../audio/featureSet';
import { emodbManifest } from '../data/emodb';
import { resolveCorpus } from '../data/corpora';
import type { FeatureNormalization } from '../train/batches';
import { finishedPretrainRun, pretrainConfigFingerprint, type PretrainSettings } from '../train/pretrainRun';
import type { ArmInit, FinetuneHyper } from './finetune';
import { runFunctionalsReference } from './functionals';
import type { FinetuneJob, JobClip } from './jobWorker';
import { runJobPool, type PoolJob, type PoolOutcome } from './pool';
import { serProtocol, stratifiedSubset, type SerClasses, type SerFold } from './protocols';
import { PRETRAINING_MANIFEST, foldResultPath, readFoldResult, serRoot, writeFoldResult, type FinetuneMode, type FoldResult, type Protocol } from './results';

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


/** The encoder of one finished pretraining run (its run.json), for an arm. */
export function pretrainedEncoderAt(runDir: string, arm: string): PretrainedEncoder {
  const file = join(runDir, 'run.json');
  if (!existsSync(file)) throw new EmolabError('train', `pretraining run ${runDir} has no run.json (not finished)`, { file });
  let run: PretrainRunJson;
  try {
    run = JSON.parse(readFileSync(file, 'utf8')) as PretrainRunJson;
  } catch (e) {
    throw new EmolabError('train', `cannot read pretraining run manifest: ${errorMessage(e)}`, { file });
  }
  const checkpoint = join(runDir, run.files?.model ?? 'model.safetensors');
  const encoder = run.config?.model?.encoder;
  if (!existsSync(checkpoint) || !encoder) throw new EmolabError('train', `pretraining run ${runDir} has no model or encoder config`, { file });
  return {
    arm, task: run.task ?? arm, run: basename(runDir), checkpoint, encoder, corpus: run.dataset?.corpus ?? '?', speakers: runSpeakers(run),
    excludeSpeakers: [...(run.excludeSpeakers ?? [])].sort(), ...(run.fold ? { fold: run.fold } : {}), manifest: file,
  };
}

/** Refuse an encoder that heard a fold's test speakers (same corpus). */
export function assertDisjoint(p: PretrainedEncoder, fold: FoldSpeakers): void {
  const heard = heardTestSpeakers(p, fold);
  if (heard.length) {
    throw new EmolabError('train', `pretrained encoder ${p.run} (task ${p.task}) heard the audio of test speaker(s) ${heard.join(', ')} of SER fold ${fold.name}: test speakers must be kept out of pretraining too`, {
      file: p.manifest, hint: `pretrain it per fold without those speakers (excludeSpeakers: [${heard.map((s) => `'${s}'`).join(', ')}]), or move ${p.run} out of the runs folder`,
    });
  }
}

/** The speakers of an SER fold (all its clips, not a ci subset) as an encoder lookup needs them. */
export function foldSpeakers(fold: SerFold, corpus: string): FoldSpeakers {
  return { name: fold.name, corpus, test: [...new Set(fold.test.map((c) => c.speaker))].sort() };
}

/** How an arm's encoder is pretrained: once (other corpora) or once per SER fold (the SER corpus itself). */
export type ArmPretraining =
  | { perFold: false; settings: PretrainSettings }
  | { perFold: true; settingsFor: (fold: FoldSpeakers) => PretrainSettings };

/** The pretraining settings of an arm's encoder for one fold (the same for every fold unless per fold). */
export function armPretrainSettings(p: ArmPretraining, fold: FoldSpeakers): PretrainSettings {
  return 'settingsFor' in p ? p.settingsFor(fold) : p.settings;
}

/** Everything an SER experiment needs — complete, from lib/experiments (plus overrides). */
export interface SerExperimentSettings {
  /** Results go to runs/ser/<experiment>/. */
  experiment: string;
  /** Protocol name (lib/finetune/protocols serProtocolName): emodb, crema-d, corpus:<key>, cross:<a>-><b>. */
  protocol: Protocol;
  /** SER corpus (lib/data corpus argument); the training corpus when `testCorpus` is set. */
  corpus: string;
  /** Cross-corpus evaluation: every labelled clip of this corpus is tested (null: folds of `corpus`). */
  testCorpus: string | null;
  /** The six shared classes, or the corpus's own. */
  classes: SerClasses;
  partitions: number[];
  /** The first N folds. */
  folds: number;
  seeds: number[];
  /** 'functionals', 'baseline' and pretrained arms (each must have an entry in `pretraining`). */
  arms: string[];
  modes: FinetuneMode[];
  hyper: FinetuneHyper;
  maxClips: { train: number | null; dev: number | null; test: number | null };
  normalization: FeatureNormalization;
  encoder: EncoderConfig;
  /** Name of the encoder preset (recorded). */
  preset: string;
  /** Feature store holding set "audio" (fbank, energy_db, f0) for every clip of `corpus`; made when missing. */
  featureStore: string;
  /** The same for `testCorpus` (cross-corpus), else null. */
  testFeatureStore: string | null;
  pretraining: Record<string, ArmPretraining>;
  /** Worker processes. */
  workers: number;
}

export interface SerRuntime {
  /** runs/ root. */
  root: string;
  quiet: boolean;
  /** Retrain even when a matching record exists. */
  force: boolean;
  onResult?: (r: FoldResult, file: string, reused: boolean) => void;
  onFailure?: (f: ModelFailure) => void;
  /** Per-epoch records of models trained now (live plots). */
  onEpoch?: (info: { arm: string; mode: FinetuneMode; seed: number; fold: string }, record: unknown) => void;
  /** Pretraining runs, as they finish. */
  onPretrain?: (info: { arm: string; fold: string | null; runDir: string; reused: boolean; test?: Record<string, { accuracy: number; majorityRate: number; n: number }>; seconds: number }) => void;
}

/** A model (or a pretraining run) that failed, as recorded in failures.json and the tables. */
export interface ModelFailure { arm: string; mode: FinetuneMode | 'pretrain'; seed: number | null; fold: string | null; message: string }

export const FAILURES_FILE = 'failures.json';

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
  /** Always empty: assertDisjoint refuses an encoder that heard one. */
  testSpeakersHeard: string[];
  relation: 'fold-specific: pretrained without this fold\'s test speakers' | 'disjoint corpus: other people than the SER test speakers' | 'same corpus, test speakers excluded';
}

export interface SerExperimentResult {
  experiment: string;
  protocol: Protocol;
  pretraining: FoldPretraining[];
  modes: FinetuneMode[];
  seeds: number[];
  folds: string[];
  encoder: EncoderConfig;
  hyper: FinetuneHyper;
  results: FoldResult[];
  failures: ModelFailure[];
  trained: number;
  reused: number;
  seconds: number;
  /**
   * Seconds per stage of this call: job seconds are summed over the worker processes (they run in
   * parallel, so they add up to about workers x pool wall time).
   */
  timing: { pretrainingJobSeconds: number; finetuningJobSeconds: number; poolWallSeconds: number; functionalsSeconds: number; setupSeconds: number };
}

function fingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

const hashFile = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

/** Fingerprint of one model: everything that decides it (the encoder's checkpoint by content). */
function modelFingerprint(s: SerExperimentSettings, init: ArmInit | { kind: 'pretrained'; pretrainFingerprint: string }, mode: FinetuneMode, seed: number, fold: { train: string[]; dev: string[]; test: string[] }): string {
  return fingerprint({ protocol: s.protocol, encoder: s.encoder, hyper: s.hyper, normalization: s.normalization, init, mode, seed, ...fold });
}

/**
 * Run (or resume) a whole SER experiment. Its folder (runs/ser/<experiment>) is locked while it runs
 * (lib/store/lock): a second process on the same experiment is refused with the holder's PID; a lock
 * left by a killed run is taken over.
 */
export async function runSerExperiment(s: SerExperimentSettings, rt: SerRuntime): Promise<SerExperimentResult> {
  const dir = join(serRoot(rt.root), s.experiment);
  assertWritable(dir, 'SER experiment folder (EMOLAB_RUNS)');
  return withLock(dir, { what: `SER experiment ${s.experiment}` }, () => runSerExperimentUnlocked(s, rt));
}

async function runSerExperimentUnlocked(s: SerExperimentSettings, rt: SerRuntime): Promise<SerExperimentResult> {
  const t0 = Date.now();
  if (!backendReport()) await initBackend();
  const root = rt.root;
  const data = serProtocol({ corpus: s.corpus ?? 'emodb', testCorpus: s.testCorpus ?? null, classes: s.classes ?? 'six', partitions: s.partitions });
  const corpus = data.testCorpus ?? data.corpus;
  const fullFolds = data.folds.slice(0, Math.min(data.folds.length, s.folds));
  const foldSp = fullFolds.map((f) => foldSpeakers(f, corpus));
  for (const a of s.arms) {
    if (a !== 'baseline' && a !== 'functionals' && !s.pretraining[a]) throw new EmolabError('settings', `arm "${a}" has no pretraining settings`, { hint: 'every pretrained arm needs an entry in the experiment settings (lib/experiments)' });
  }
  const folds: SerFold[] = fullFolds.map((f, i) => ({
    name: f.name,
    train: stratifiedSubset(f.train, s.maxClips.train ?? undefined, data.label, 1000 + i),
    dev: stratifiedSubset(f.dev, s.maxClips.dev ?? undefined, data.label, 2000 + i),
    test: stratifiedSubset(f.test, s.maxClips.test ?? undefined, data.label, 3000 + i),
  }));
  // Every clip must have its features in the store before any work starts: a missing store is made
  // here with the corpus's manifest and the main job's feature set (EmoDB: the same manifest as the
  // main job's, so their shards are shared). A store made for another corpus is refused.
  const ensureStore = async (dir: string, spec: string, corpusName: string): Promise<FeatureStore> => {
    if (!existsSync(join(dir, 'audio', 'index.json')) && !existsSync(join(dir, 'index.json'))) {
      await extractFeatures({ manifest: spec === 'emodb' ? emodbManifest() : resolveCorpus(spec), dir, set: audioFeatureSet(), workers: s.workers, quiet: rt.quiet });
    }
    const st = openFeatureStore(dir);
    const built = st.sets().includes('audio') ? st.index('audio').corpus : undefined;
    if (built !== undefined && built !== corpusName) {
      throw new EmolabError('store', `the feature store was built for corpus "${built}", but this experiment's corpus is "${corpusName}" (${spec})`, {
        file: dir, hint: `use the store of ${corpusName} (emolab features --corpus ${spec} --out <dir>), or pass --corpus for the corpus the store was built from`,
      });
    }
    return st;
  };
  const store = await ensureStore(s.featureStore, s.corpus ?? 'emodb', data.corpus);
  const testStore = s.testCorpus ? await ensureStore(s.testFeatureStore!, s.testCorpus, data.testCorpus!) : store;
  const testIds = new Set(folds.flatMap((f) => f.test.map((c) => c.id)));
  const trainIds = new Set(folds.flatMap((f) => [...f.train, ...f.dev].map((c) => c.id)));
  const missingOf = (cs: Clip[], st: FeatureStore) => cs.filter((c) => !st.has(c.id, 'fbank'));
  const missing = [...new Set([...folds.flatMap((f) => missingOf([...f.train, ...f.dev], store)), ...folds.flatMap((f) => missingOf(f.test, testStore))])];
  if (missing.length && !rt.quiet) console.log(`SER: ${missing.length} clips have no features in ${s.featureStore}${s.testCorpus ? ` / ${s.testFeatureStore}` : ''} (left out, see the store's quarantine): ${missing.slice(0, 3).map((c) => c.id).join(', ')}`);
  for (const f of folds) { f.train = f.train.filter((c) => store.has(c.id, 'fbank')); f.dev = f.dev.filter((c) => store.has(c.id, 'fbank')); f.test = f.test.filter((c) => testStore.has(c.id, 'fbank')); }
  // The functionals reference reads through one store: in a cross-corpus run, test clips come from the test corpus's store.
  const collide = s.testCorpus ? [...testIds].filter((id) => trainIds.has(id)) : [];
  const functionalsStore: FeatureStore = !s.testCorpus ? store : {
    ...store,
    has: (id, feature) => (testIds.has(id) ? testStore : store).has(id, feature),
    get: (id, feature) => {
      if (collide.includes(id)) throw new EmolabError('train', `clip id "${id}" is in both corpora; the functionals reference cannot tell their features apart`, { hint: 'the neural arms are not affected; drop functionals from --arms, or rename one corpus\'s files' });
      return (testIds.has(id) ? testStore : store).get(id, feature);
    },
  };
  const failures: ModelFailure[] = [];
  const fail = (f: ModelFailure): void => { failures.push(f); rt.onFailure?.(f); };

  // 1. Pretraining jobs (reused when a finished run with the same settings exists).
  const tP = Date.now();
  const info = { ...runInfo(), backend: describeBackend(backendReport()!) } as unknown as Record<string, unknown>;
  const pretrainJobs: PoolJob[] = [];
  const pretrainFor = new Map<string, { settings: PretrainSettings; jobId?: string }>(); // key arm|fold
  for (const arm of s.arms) {
    const p = s.pretraining[arm];
    if (!p) continue;
    for (const fs of foldSp) {
      const settings = heldOutFor(armPretrainSettings(p, fs), fullFolds.find((f) => f.name === fs.name)!, s.corpus ?? 'emodb');
      const jobId = `pretrain ${basename(settings.out)}`;
      const done = finishedPretrainRun(settings.out, settings);
      if (!done && !pretrainJobs.some((j) => j.id === jobId)) {
        pretrainJobs.push({ id: jobId, after: [], request: { kind: 'pretrain', settings }, cost: settings.budget.epochs * (settings.task === 'energy' ? 1 : 2.5) });
      }
      if (done && !pretrainFor.has(`${arm}|null`) && !p.perFold) rt.onPretrain?.({ arm, fold: null, runDir: settings.out, reused: true, seconds: 0 });
      if (done && p.perFold) rt.onPretrain?.({ arm, fold: fs.name, runDir: settings.out, reused: true, seconds: 0 });
      pretrainFor.set(`${arm}|${fs.name}`, { settings, jobId: done ? undefined : jobId });
      if (!p.perFold) pretrainFor.set(`${arm}|null`, { settings });
    }
  }

  // 2. Fine-tuning jobs; records with the same fingerprint are kept.
  const results: FoldResult[] = [];
  let reused = 0;
  const jobs: PoolJob[] = [...pretrainJobs];
  const jobMeta = new Map<string, { arm: string; mode: FinetuneMode; seed: number; fold: string }>();
  const clip = (c: Clip): JobClip => ({ id: c.id, speaker: c.speaker, label: data.label(c), emotion: c.emotion ?? c.perceived?.majority ?? '' });
  const testClip = (c: Clip): JobClip => (s.testCorpus ? { ...clip(c), store: s.testFeatureStore! } : clip(c));
  const noDev = new Set(folds.filter((f) => f.dev.length === 0).map((f) => f.name));
  const neural = s.arms.filter((a) => a !== 'functionals');
  for (const mode of s.modes) for (const arm of neural) for (const seed of s.seeds) for (const fold of folds) {
    const pre = arm === 'baseline' ? undefined : pretrainFor.get(`${arm}|${fold.name}`)!;
    const ids = { train: fold.train.map((c) => c.id), dev: fold.dev.map((c) => c.id), test: fold.test.map((c) => c.id) };
    // A pretrained arm's model is identified by its pretraining settings (whose fingerprint decides the checkpoint).
    const initKey = pre ? { kind: 'pretrained' as const, pretrainFingerprint: pretrainConfigFingerprint(pre.settings) } : { kind: 'scratch' as const };
    const fp = modelFingerprint(s, initKey, mode, seed, ids);
    const file = foldResultPath({ experiment: s.experiment, mode, arm, seed, fold: fold.name }, root);
    if (!rt.force && existsSync(file)) {
      const prev = readFoldResult(file);
      if ((prev.config as { fingerprint?: string }).fingerprint === fp) {
        results.push(prev); reused++;
        rt.onResult?.(prev, file, true);
        continue;
      }
    }
    const init: ArmInit = pre ? { kind: 'pretrained', run: basename(pre.settings.out), checkpoint: join(pre.settings.out, 'model.safetensors'), task: pre.settings.task } : { kind: 'scratch' };
    const job: FinetuneJob = {
      experiment: s.experiment, protocol: s.protocol, arm, init, mode, seed,
      fold: { name: fold.name, train: fold.train.map(clip), dev: fold.dev.map(clip), test: fold.test.map(testClip) },
      classes: [...data.classes], encoder: s.encoder, hyper: s.hyper, normalization: s.normalization, featureStore: s.featureStore,
      configNote: {
        fingerprint: fp, preset: s.preset, features: `kaldi fbank 80, ${s.normalization} CMVN`, ...(pre ? { pretrainFingerprint: initKey } : {}),
        ...(s.protocol === 'emodb' || s.protocol === 'crema-d' ? {} : { folding: data.folding, corpus: data.corpus, ...(data.testCorpus ? { testCorpus: data.testCorpus } : {}) }),
        ...(noDev.has(fold.name) ? { modelSelection: `fixed budget: ${s.hyper.epochs} epochs, last epoch kept (no dev speakers for early stopping)` } : {}),
      },
      runInfo: info, root,
    };
    const id = `finetune ${arm}/${mode}/seed${seed}/${fold.name}`;
    jobMeta.set(id, { arm, mode, seed, fold: fold.name });
    jobs.push({ id, after: pre?.jobId ? [pre.jobId] : [], request: { kind: 'finetune', job }, cost: s.hyper.epochs * (mode === 'frozen' ? 0.5 : 1) });
  }

  // Which encoder each arm x fold starts from, checked against the fold's test speakers once its run exists.
  const pretraining: FoldPretraining[] = [];
  const checkEncoder = (arm: string, fs: FoldSpeakers): FoldPretraining => {
    const pre = pretrainFor.get(`${arm}|${fs.name}`)!;
    const p = pretrainedEncoderAt(pre.settings.out, arm);
    assertDisjoint(p, fs);
    if (JSON.stringify(p.encoder) !== JSON.stringify(s.encoder)) {
      throw new EmolabError('train', `pretrained encoder ${p.run} has another configuration than the fine-tuning encoder`, { file: p.manifest, hint: 'every arm must share one encoder configuration (experiment settings: encoder)' });
    }
    return {
      arm, fold: fs.name, run: p.run, corpus: p.corpus, pretrainedForFold: p.fold ?? null, excludeSpeakers: p.excludeSpeakers, serTestSpeakers: fs.test, testSpeakersHeard: heardTestSpeakers(p, fs),
      relation: p.fold === fs.name ? 'fold-specific: pretrained without this fold\'s test speakers' : p.corpus !== fs.corpus ? 'disjoint corpus: other people than the SER test speakers' : 'same corpus, test speakers excluded',
    };
  };
  if (!rt.quiet) {
    const nFt = jobs.length - pretrainJobs.length;
    console.log(`SER experiment ${s.experiment}: ${s.arms.join(', ')} x ${s.modes.join('/')} x seeds ${s.seeds.join(',')} x ${folds.length} folds; ${pretrainJobs.length} pretraining runs and ${nFt} models to train, ${reused} kept, on ${s.workers} worker process(es)`);
  }
  let trained = 0;
  // Before a fine-tuning job of a pretrained arm starts, its encoder is checked (speakers, config):
  // done here, in the parent, as each pretraining job finishes (and now, for reused runs).
  const checked = new Map<string, string | null>(); // arm|fold -> error message or null
  const check = (arm: string, fs: FoldSpeakers): string | null => {
    const key = `${arm}|${fs.name}`;
    if (!checked.has(key)) {
      try { const fp = checkEncoder(arm, fs); pretraining.push(fp); checked.set(key, null); } catch (e) { checked.set(key, errorMessage(e)); }
    }
    return checked.get(key)!;
  };
  for (const arm of neural.filter((a) => a !== 'baseline')) for (const fs of foldSp) if (!pretrainFor.get(`${arm}|${fs.name}`)!.jobId) {
    const err = check(arm, fs);
    if (err) throw new EmolabError('train', err);
  }
  const jobSeconds = { pretraining: 0, finetuning: 0 };
  const tF = Date.now();
  const outcomes = jobs.length === 0 ? [] : await runJobPool(jobs, {
    workers: s.workers, quiet: rt.quiet, label: `SER ${s.experiment}`,
    onProgress: (job, m) => { const meta = jobMeta.get(job.id); if (meta) rt.onEpoch?.(meta, m); },
    onOutcome: (job, out: PoolOutcome) => {
      if (job.request.kind === 'pretrain') {
        const st = job.request.settings;
        const arm = s.arms.find((a) => { const p = s.pretraining[a]; return p !== undefined && foldSp.some((fs) => armPretrainSettings(p, fs).out === st.out); }) ?? st.task;
        if (out.ok && out.reply?.kind === 'pretrain') {
          rt.onPretrain?.({ arm, fold: st.fold, runDir: out.reply.runDir, reused: false, test: out.reply.test, seconds: out.seconds });
          for (const fs of foldSp) if (pretrainFor.get(`${arm}|${fs.name}`)?.jobId === job.id) {
            const err = check(arm, fs);
            if (err) fail({ arm, mode: 'pretrain', seed: null, fold: fs.name, message: err });
          }
        } else fail({ arm, mode: 'pretrain', seed: null, fold: st.fold, message: out.message ?? 'failed' });
        jobSeconds.pretraining += out.seconds;
        return;
      }
      jobSeconds.finetuning += out.seconds;
      const meta = jobMeta.get(job.id)!;
      if (out.ok && out.reply?.kind === 'finetune') {
        const r = readFoldResult(out.reply.file);
        results.push(r); trained++;
        rt.onResult?.(r, out.reply.file, false);
      } else fail({ ...meta, message: out.message ?? 'failed' });
    },
  });
  void outcomes;
  const tFunc = Date.now();
  // 3. The functionals reference (deterministic; seconds).
  if (s.arms.includes('functionals')) {
    const fileOf = (fold: string) => foldResultPath({ experiment: s.experiment, mode: 'full', arm: 'functionals', seed: 0, fold }, root);
    const fpF = (f: SerFold) => fingerprint({ arm: 'functionals', protocol: s.protocol, train: f.train.map((c) => c.id), dev: f.dev.map((c) => c.id), test: f.test.map((c) => c.id), version: 1 });
    const todo = folds.filter((f) => rt.force || !existsSync(fileOf(f.name)) || (readFoldResult(fileOf(f.name)).config as { fingerprint?: string }).fingerprint !== fpF(f));
    for (const f of folds.filter((x) => !todo.includes(x))) { const r = readFoldResult(fileOf(f.name)); results.push(r); reused++; rt.onResult?.(r, fileOf(f.name), true); }
    if (todo.length) {
      try {
        const recs = runFunctionalsReference({ folds: todo, classes: data.classes, label: data.label, store: functionalsStore, experiment: s.experiment, protocol: s.protocol, runInfo: info });
        for (const r of recs) {
          r.config = { ...r.config, fingerprint: fpF(todo.find((f) => f.name === r.fold)!) };
          const file = writeFoldResult(r, root);
          results.push(r); trained++;
          rt.onResult?.(r, file, false);
        }
      } catch (e) {
        fail({ arm: 'functionals', mode: 'full', seed: 0, fold: null, message: errorMessage(e) });
      }
    }
  }
  const dir = join(serRoot(root), s.experiment);
  writeJsonAtomic(join(dir, PRETRAINING_MANIFEST), {
    experiment: s.experiment, protocol: s.protocol, corpus, folding: data.folding,
    note: 'SER test speakers are kept out of every training and pretraining step: the energy encoder is pretrained once per fold without the fold\'s test speakers; encoders pretrained on other corpora (the audio-visual corpora) share no speaker with the SER corpus.',
    folds: foldSp, pretraining: pretraining.sort((a, b) => a.arm.localeCompare(b.arm) || a.fold.localeCompare(b.fold)),
  });
  writeJsonAtomic(join(dir, FAILURES_FILE), { experiment: s.experiment, createdAt: new Date().toISOString(), failures });
  const now = Date.now();
  return {
    experiment: s.experiment, protocol: s.protocol, pretraining, modes: s.modes, seeds: s.seeds, folds: folds.map((f) => f.name), encoder: s.encoder, hyper: s.hyper,
    results, failures, trained, reused, seconds: (now - t0) / 1000,
    timing: { pretrainingJobSeconds: jobSeconds.pretraining, finetuningJobSeconds: jobSeconds.finetuning, poolWallSeconds: (tFunc - tF) / 1000, functionalsSeconds: (now - tFunc) / 1000, setupSeconds: (tF - tP) / 1000 },
  };
}

/**
 * Pretraining settings on the SER corpus for one fold whose speakers outside the fold's test set (train +
 * dev; a cross-corpus run: every training speaker) cannot fill a held-out train/dev/test split (fewer than 3): the run trains on all of them without one (split 0/0, stated in
 * its run.json), instead of failing. Other settings are returned unchanged (same fingerprint).
 */
export function heldOutFor(settings: PretrainSettings, fold: SerFold, serCorpus: string): PretrainSettings {
  // Only runs on the SER (training) corpus itself: the audio-visual corpora have their own speakers.
  if (settings.data !== serCorpus) return settings;
  const remaining = new Set([...fold.train, ...fold.dev].map((c) => c.speaker)).size;
  return remaining >= 3 ? settings : { ...settings, split: { devSpeakers: 0, testSpeakers: 0 } };
}

/** The failures recorded by the last run of an experiment (empty when none or never run). */
export function readFailures(experiment: string, root: string): ModelFailure[] {
  const file = join(serRoot(root), experiment, FAILURES_FILE);
  if (!existsSync(file)) return [];
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { failures?: ModelFailure[] }).failures ?? [];
  } catch (e) {
    throw new EmolabError('report', `cannot read ${FAILURES_FILE}: ${errorMessage(e)}`, { file });
  }
}

/** The failed SER models of a run, in the shape the result tables take (pretraining failures are listed through the models they stopped). */
export function tableFailures(experiment: string, failures: ModelFailure[]): { arm: string; mode: string; seed: number; fold: string; message: string; experiment: string }[] {
  return failures.filter((f) => f.mode !== 'pretrain' && f.seed !== null && f.fold !== null).map((f) => ({ arm: f.arm, mode: f.mode, seed: f.seed!, fold: f.fold!, message: f.message, experiment }));
}
