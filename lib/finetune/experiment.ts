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
 * The steps have their own modules: per-fold pretraining (./foldPretraining), the encoder lookup and
 * its speaker check (./encoderLookup), failures.json (./failures).
 *
 * Features: 80-bin Kaldi log-mel filterbank on the 25 ms / 10 ms grid from the feature store,
 * normalised per the settings (training-set CMVN by default: statistics of the fold's training clips).
 */
import { shortHash } from '../hash';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { backendReport, describeBackend, initBackend } from '../backend';
import { audioFeatureSet } from '../audio/featureSet';
import { resolveCorpus } from '../data/corpora';
import type { Clip } from '../data/types';
import { EmolabError, errorMessage } from '../errors';
import type { EncoderConfig } from '../models/encoder';
import { assertWritable } from '../paths';
import { runInfo } from '../runinfo';
import { extractFeatures, openFeatureStore, type FeatureStore } from '../store/featureStore';
import { withLock } from '../store/lock';
import type { FeatureNormalization } from '../train/batches';
import { pretrainConfigFingerprint } from '../train/pretrainRun';
import { checkedFoldPretraining, foldSpeakers, type FoldPretraining, type FoldSpeakers } from './encoderLookup';
import { writeFailures, type ModelFailure } from './failures';
import type { ArmInit, FinetuneHyper } from './finetuneFold';
import { armOfPretraining, planPretraining, type ArmPretraining, type PlannedPretraining } from './foldPretraining';
import { runFunctionalsReference } from './functionals';
import type { FinetuneJob, JobClip } from './jobWorker';
import { runJobPool, type PoolJob, type PoolOutcome } from './pool';
import { serProtocol, stratifiedSubset, type SerClasses, type SerFold, type SerProtocolData } from './protocols';
import { PRETRAINING_MANIFEST, foldResultPath, readFoldResult, serRoot, writeFoldResult, type FinetuneMode, type FoldResult, type Protocol } from './results';

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
  return shortHash(parts, 16);
}

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
  const { data, fullFolds, folds } = experimentFolds(s);
  const corpus = data.testCorpus ?? data.corpus;
  const foldSp = fullFolds.map((f) => foldSpeakers(f, corpus));
  for (const a of s.arms) {
    if (a !== 'baseline' && a !== 'functionals' && !s.pretraining[a]) throw new EmolabError('settings', `arm "${a}" has no pretraining settings`, { hint: 'every pretrained arm needs an entry in the experiment settings (lib/experiments)' });
  }
  const { functionalsStore } = await openSerStores(s, data, folds, rt.quiet);
  const failures: ModelFailure[] = [];
  const fail = (f: ModelFailure): void => { failures.push(f); rt.onFailure?.(f); };

  // 1. Pretraining jobs (reused when a finished run with the same settings exists).
  const tP = Date.now();
  const info = { ...runInfo(), backend: describeBackend(backendReport()!) } as unknown as Record<string, unknown>;
  const { jobs: pretrainJobs, planned } = planPretraining(s.arms, s.pretraining, fullFolds, foldSp, s.corpus,
    (arm, fold, runDir) => rt.onPretrain?.({ arm, fold, runDir, reused: true, seconds: 0 }));

  // 2. Fine-tuning jobs; records with the same fingerprint are kept.
  const ft = planFinetuning(s, data, folds, planned, rt, info);
  const results = ft.results;
  let reused = ft.reused;
  const jobs: PoolJob[] = [...pretrainJobs, ...ft.jobs];

  // Which encoder each arm x fold starts from, checked against the fold's test speakers once its run exists:
  // done here, in the parent, as each pretraining job finishes (and now, for reused runs).
  const encoders = encoderChecks(s.encoder, planned);
  if (!rt.quiet) {
    console.log(`SER experiment ${s.experiment}: ${s.arms.join(', ')} x ${s.modes.join('/')} x seeds ${s.seeds.join(',')} x ${folds.length} folds; ${pretrainJobs.length} pretraining runs and ${ft.jobs.length} models to train, ${reused} kept, on ${s.workers} worker process(es)`);
  }
  let trained = 0;
  const neural = s.arms.filter((a) => a !== 'functionals');
  for (const arm of neural.filter((a) => a !== 'baseline')) for (const fs of foldSp) if (!planned.get(`${arm}|${fs.name}`)!.jobId) {
    const err = encoders.check(arm, fs);
    if (err) throw new EmolabError('train', err);
  }
  const jobSeconds = { pretraining: 0, finetuning: 0 };
  const tF = Date.now();
  if (jobs.length) {
    await runJobPool(jobs, {
      workers: s.workers, quiet: rt.quiet, label: `SER ${s.experiment}`,
      onProgress: (job, m) => { const meta = ft.jobMeta.get(job.id); if (meta) rt.onEpoch?.(meta, m); },
      onOutcome: (job, out: PoolOutcome) => {
        if (job.request.kind === 'pretrain') {
          const st = job.request.settings;
          const arm = armOfPretraining(s.arms, s.pretraining, foldSp, st);
          if (out.ok && out.reply?.kind === 'pretrain') {
            rt.onPretrain?.({ arm, fold: st.fold, runDir: out.reply.runDir, reused: false, test: out.reply.test, seconds: out.seconds });
            for (const fs of foldSp) if (planned.get(`${arm}|${fs.name}`)?.jobId === job.id) {
              const err = encoders.check(arm, fs);
              if (err) fail({ arm, mode: 'pretrain', seed: null, fold: fs.name, message: err });
            }
          } else fail({ arm, mode: 'pretrain', seed: null, fold: st.fold, message: out.message ?? 'failed' });
          jobSeconds.pretraining += out.seconds;
          return;
        }
        jobSeconds.finetuning += out.seconds;
        const meta = ft.jobMeta.get(job.id)!;
        if (out.ok && out.reply?.kind === 'finetune') {
          const r = readFoldResult(out.reply.file);
          results.push(r); trained++;
          rt.onResult?.(r, out.reply.file, false);
        } else fail({ ...meta, message: out.message ?? 'failed' });
      },
    });
  }
  const tFunc = Date.now();
  // 3. The functionals reference (deterministic; seconds).
  if (s.arms.includes('functionals')) {
    const f = functionalsReference(s, data, folds, functionalsStore, rt, info, fail);
    results.push(...f.results); trained += f.trained; reused += f.reused;
  }
  const dir = join(serRoot(root), s.experiment);
  const pretraining = encoders.records.sort((a, b) => a.arm.localeCompare(b.arm) || a.fold.localeCompare(b.fold));
  writeJsonAtomic(join(dir, PRETRAINING_MANIFEST), {
    experiment: s.experiment, protocol: s.protocol, corpus, folding: data.folding,
    note: 'SER test speakers are kept out of every training and pretraining step: the energy encoder is pretrained once per fold without the fold\'s test speakers; encoders pretrained on other corpora (the audio-visual corpora) share no speaker with the SER corpus.',
    folds: foldSp, pretraining,
  });
  writeFailures(s.experiment, root, failures);
  const now = Date.now();
  return {
    experiment: s.experiment, protocol: s.protocol, pretraining, modes: s.modes, seeds: s.seeds, folds: folds.map((f) => f.name), encoder: s.encoder, hyper: s.hyper,
    results, failures, trained, reused, seconds: (now - t0) / 1000,
    timing: { pretrainingJobSeconds: jobSeconds.pretraining, finetuningJobSeconds: jobSeconds.finetuning, poolWallSeconds: (tFunc - tF) / 1000, functionalsSeconds: (now - tFunc) / 1000, setupSeconds: (tF - tP) / 1000 },
  };
}

/**
 * The folds of an experiment: the protocol's first `s.folds` folds with every clip (`fullFolds`:
 * the speakers an encoder lookup must respect), and the same folds cut to the settings' maxClips
 * (`folds`: stratified by class, seeded 1000 / 2000 / 3000 + fold index for train / dev / test).
 */
export function experimentFolds(s: SerExperimentSettings): { data: SerProtocolData; fullFolds: SerFold[]; folds: SerFold[] } {
  const data = serProtocol({ corpus: s.corpus, testCorpus: s.testCorpus, classes: s.classes, partitions: s.partitions });
  const fullFolds = data.folds.slice(0, Math.min(data.folds.length, s.folds));
  const folds: SerFold[] = fullFolds.map((f, i) => ({
    name: f.name,
    train: stratifiedSubset(f.train, s.maxClips.train ?? undefined, data.label, 1000 + i),
    dev: stratifiedSubset(f.dev, s.maxClips.dev ?? undefined, data.label, 2000 + i),
    test: stratifiedSubset(f.test, s.maxClips.test ?? undefined, data.label, 3000 + i),
  }));
  return { data, fullFolds, folds };
}

/**
 * The feature store of a corpus (set "audio"), made when missing with the corpus's manifest and
 * the main job's feature set (EmoDB: the same manifest as the main job's, so their shards are
 * shared). A store made for another corpus is refused.
 */
async function serFeatureStore(dir: string, spec: string, corpusName: string, workers: number, quiet: boolean): Promise<FeatureStore> {
  if (!existsSync(join(dir, 'audio', 'index.json')) && !existsSync(join(dir, 'index.json'))) {
    await extractFeatures({ manifest: resolveCorpus(spec), dir, set: audioFeatureSet(), workers, quiet });
  }
  const st = openFeatureStore(dir);
  const built = st.sets().includes('audio') ? st.index('audio').corpus : undefined;
  if (built !== undefined && built !== corpusName) {
    throw new EmolabError('store', `the feature store was built for corpus "${built}", but this experiment's corpus is "${corpusName}" (${spec})`, {
      file: dir, hint: `use the store of ${corpusName} (emolab features --corpus ${spec} --out <dir>), or pass --corpus for the corpus the store was built from`,
    });
  }
  return st;
}

/**
 * Every clip must have its features in the store before any work starts: the stores are opened
 * (made when missing), clips without features are left out of the folds (said once), and the one
 * store the functionals reference reads through is returned (cross-corpus: test clips from the
 * test corpus's store).
 */
async function openSerStores(s: SerExperimentSettings, data: SerProtocolData, folds: SerFold[], quiet: boolean): Promise<{ functionalsStore: FeatureStore }> {
  const store = await serFeatureStore(s.featureStore, s.corpus, data.corpus, s.workers, quiet);
  const testStore = s.testCorpus ? await serFeatureStore(s.testFeatureStore!, s.testCorpus, data.testCorpus!, s.workers, quiet) : store;
  const testIds = new Set(folds.flatMap((f) => f.test.map((c) => c.id)));
  const trainIds = new Set(folds.flatMap((f) => [...f.train, ...f.dev].map((c) => c.id)));
  const missingOf = (cs: Clip[], st: FeatureStore) => cs.filter((c) => !st.has(c.id, 'fbank'));
  const missing = [...new Set([...folds.flatMap((f) => missingOf([...f.train, ...f.dev], store)), ...folds.flatMap((f) => missingOf(f.test, testStore))])];
  if (missing.length && !quiet) console.log(`SER: ${missing.length} clips have no features in ${s.featureStore}${s.testCorpus ? ` / ${s.testFeatureStore}` : ''} (left out, see the store's quarantine): ${missing.slice(0, 3).map((c) => c.id).join(', ')}`);
  for (const f of folds) { f.train = f.train.filter((c) => store.has(c.id, 'fbank')); f.dev = f.dev.filter((c) => store.has(c.id, 'fbank')); f.test = f.test.filter((c) => testStore.has(c.id, 'fbank')); }
  if (!s.testCorpus) return { functionalsStore: store };
  const collide = [...testIds].filter((id) => trainIds.has(id));
  return {
    functionalsStore: {
      ...store,
      has: (id, feature) => (testIds.has(id) ? testStore : store).has(id, feature),
      get: (id, feature) => {
        if (collide.includes(id)) throw new EmolabError('train', `clip id "${id}" is in both corpora; the functionals reference cannot tell their features apart`, { hint: 'the neural arms are not affected; drop functionals from --arms, or rename one corpus\'s files' });
        return (testIds.has(id) ? testStore : store).get(id, feature);
      },
    },
  };
}

type JobMeta = { arm: string; mode: FinetuneMode; seed: number; fold: string };

/** The fine-tuning jobs of every neural arm x mode x seed x fold; a record with the same fingerprint is kept instead (unless forced). */
function planFinetuning(
  s: SerExperimentSettings, data: SerProtocolData, folds: SerFold[], planned: Map<string, PlannedPretraining>, rt: SerRuntime, info: Record<string, unknown>,
): { jobs: PoolJob[]; jobMeta: Map<string, JobMeta>; results: FoldResult[]; reused: number } {
  const root = rt.root;
  const results: FoldResult[] = [];
  let reused = 0;
  const jobs: PoolJob[] = [];
  const jobMeta = new Map<string, JobMeta>();
  const clip = (c: Clip): JobClip => ({ id: c.id, speaker: c.speaker, label: data.label(c), emotion: c.emotion ?? c.perceived?.majority ?? '' });
  const testClip = (c: Clip): JobClip => (s.testCorpus ? { ...clip(c), store: s.testFeatureStore! } : clip(c));
  const noDev = new Set(folds.filter((f) => f.dev.length === 0).map((f) => f.name));
  const neural = s.arms.filter((a) => a !== 'functionals');
  for (const mode of s.modes) for (const arm of neural) for (const seed of s.seeds) for (const fold of folds) {
    const pre = arm === 'baseline' ? undefined : planned.get(`${arm}|${fold.name}`)!;
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
  return { jobs, jobMeta, results, reused };
}

/** The encoder check of each arm x fold, done once (encoderLookup checkedFoldPretraining): its error message or null; the records of those that passed. */
function encoderChecks(encoder: EncoderConfig, planned: Map<string, PlannedPretraining>): { check: (arm: string, fs: FoldSpeakers) => string | null; records: FoldPretraining[] } {
  const records: FoldPretraining[] = [];
  const checked = new Map<string, string | null>(); // arm|fold -> error message or null
  const check = (arm: string, fs: FoldSpeakers): string | null => {
    const key = `${arm}|${fs.name}`;
    if (!checked.has(key)) {
      try { records.push(checkedFoldPretraining(planned.get(key)!.settings.out, arm, fs, encoder)); checked.set(key, null); } catch (e) { checked.set(key, errorMessage(e)); }
    }
    return checked.get(key)!;
  };
  return { check, records };
}

/** The functionals reference of every fold (deterministic; seconds); a record with the same fingerprint is kept (unless forced). */
function functionalsReference(
  s: SerExperimentSettings, data: SerProtocolData, folds: SerFold[], store: FeatureStore, rt: SerRuntime, info: Record<string, unknown>, fail: (f: ModelFailure) => void,
): { results: FoldResult[]; trained: number; reused: number } {
  const root = rt.root;
  const results: FoldResult[] = [];
  let trained = 0, reused = 0;
  const fileOf = (fold: string) => foldResultPath({ experiment: s.experiment, mode: 'full', arm: 'functionals', seed: 0, fold }, root);
  const fpF = (f: SerFold) => fingerprint({ arm: 'functionals', protocol: s.protocol, train: f.train.map((c) => c.id), dev: f.dev.map((c) => c.id), test: f.test.map((c) => c.id), version: 1 });
  const todo = folds.filter((f) => rt.force || !existsSync(fileOf(f.name)) || (readFoldResult(fileOf(f.name)).config as { fingerprint?: string }).fingerprint !== fpF(f));
  for (const f of folds.filter((x) => !todo.includes(x))) { const r = readFoldResult(fileOf(f.name)); results.push(r); reused++; rt.onResult?.(r, fileOf(f.name), true); }
  if (todo.length) {
    try {
      const recs = runFunctionalsReference({ folds: todo, classes: data.classes, label: data.label, store, experiment: s.experiment, protocol: s.protocol, runInfo: info });
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
  return { results, trained, reused };
}
