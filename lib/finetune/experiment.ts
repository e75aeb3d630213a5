/**
 * A whole SER experiment: every arm (baseline + each pretrained encoder found under runs/) x mode
 * (full / frozen) x seed x fold, with one budget for all arms, each model's record written to
 * runs/ser/<experiment>/... as soon as it is trained. Rerunning skips every model whose record
 * exists with the same configuration fingerprint (so a killed run resumes, and a changed setting
 * retrains only what it affects).
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
import { clipFeatures } from '../train/pretext';
import type { EpochRecord as TrainEpoch } from '../train/trainer';
import { finetuneFold, SER_HEAD, type ArmInit, type FinetuneHyper } from './finetune';
import { protocolData, stratifiedSubset, type SerFold } from './protocols';
import { ARMS, foldResultPath, readFoldResult, writeFoldResult, type FinetuneMode, type FoldResult, type Protocol } from './results';

/** A pretrained encoder found under runs/: `runs/<name>/run.json` written by `pretrain()`. */
export interface PretrainedEncoder {
  arm: string;
  task: string;
  run: string;
  checkpoint: string;
  encoder: EncoderConfig;
}

interface PretrainRunJson {
  command?: string;
  task?: string;
  files?: { model?: string };
  config?: { model?: { encoder?: EncoderConfig } };
}

/**
 * Pretrained encoders under `root` (runs/), one per pretext task. When several runs trained the same
 * task, the one named `pretrain-<task>` wins, else the most recent.
 */
export function findPretrainedEncoders(root: string = runsRoot()): PretrainedEncoder[] {
  if (!existsSync(root)) return [];
  const found = new Map<string, PretrainedEncoder & { mtime: number; canonical: boolean }>();
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
    const cand = { arm: run.task, task: run.task, run: name, checkpoint, encoder, mtime: statSync(checkpoint).mtimeMs, canonical: name === `pretrain-${run.task}` };
    const prev = found.get(run.task);
    if (!prev || (cand.canonical && !prev.canonical) || (cand.canonical === prev.canonical && cand.mtime > prev.mtime)) found.set(run.task, cand);
  }
  return ARMS.filter((a) => found.has(a)).map((a) => {
    const { mtime: _m, canonical: _c, ...p } = found.get(a)!;
    return p;
  });
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
  onResult?: (r: FoldResult, file: string, reused: boolean) => void;
  onEpoch?: (info: { arm: string; mode: FinetuneMode; seed: number; fold: string }, record: TrainEpoch, history: TrainEpoch[]) => void;
}

export interface SerExperimentResult {
  experiment: string;
  protocol: Protocol;
  arms: { arm: string; init: ArmInit }[];
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
  const pretrainedAll = findPretrainedEncoders(root);
  const wantedArms = o.arms ?? ['baseline', ...pretrainedAll.map((p) => p.arm)];
  for (const a of wantedArms) {
    if (a !== 'baseline' && !pretrainedAll.some((p) => p.arm === a)) {
      throw new EmolabError('train', `no pretrained encoder for arm "${a}" under ${root}`, { hint: `run: npx emolab pretrain --task ${a}   (found: ${pretrainedAll.map((p) => p.run).join(', ') || 'none'})` });
    }
  }
  const pretrained = pretrainedAll.filter((p) => wantedArms.includes(p.arm));
  const encoder = sharedEncoder(pretrained, o.preset);
  const arms: { arm: string; init: ArmInit }[] = wantedArms.map((arm) => {
    if (arm === 'baseline') return { arm, init: { kind: 'scratch' } as ArmInit };
    const p = pretrained.find((x) => x.arm === arm)!;
    return { arm, init: { kind: 'pretrained', run: p.run, checkpoint: p.checkpoint, task: p.task } };
  });
  const modes = o.modes ?? pick<FinetuneMode[]>({ ci: ['full'], full: ['full', 'frozen'] });
  const seeds = o.seeds ?? pick({ ci: [1], full: [1, 2, 3] });
  const hyper = defaultHyper(o.hyper);
  const nFolds = Math.min(data.folds.length, o.folds ?? pick({ ci: 2, full: data.folds.length }));
  const maxTrain = o.maxTrainClips ?? pick<number | undefined>({ ci: 32, full: undefined });
  const maxDev = o.maxDevClips ?? pick<number | undefined>({ ci: 16, full: undefined });
  const maxTest = o.maxTestClips ?? pick<number | undefined>({ ci: 32, full: undefined });
  const folds: SerFold[] = data.folds.slice(0, nFolds).map((f, i) => ({
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
  for (const mode of modes) for (const { arm, init } of arms) for (const seed of seeds) for (const fold of folds) {
    const fd = { name: fold.name, train: ex(fold.train), dev: ex(fold.dev), test: ex(fold.test) };
    const initId = init.kind === 'pretrained' ? { ...init, size: statSync(init.checkpoint).size, mtime: statSync(init.checkpoint).mtimeMs } : init;
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
      configNote: { fingerprint: fp, preset: presetName(encoder), features: 'kaldi fbank 80, per-utterance MVN' },
      runInfo: info, quiet: o.quiet,
      onEpoch: o.onEpoch ? (rec, hist) => o.onEpoch!({ arm, mode, seed, fold: fold.name }, rec, hist) : undefined,
    });
    writeFoldResult(r, root);
    results.push(r); trained++;
    o.onResult?.(r, file, false);
  }
  return { experiment, protocol, arms, modes, seeds, folds: folds.map((f) => f.name), encoder, hyper, results, trained, reused, seconds: (Date.now() - t0) / 1000 };
}

function presetName(enc: EncoderConfig): string {
  for (const p of ['tiny', 'small', 'base'] as EncoderPreset[]) if (JSON.stringify(encoderConfig(p)) === JSON.stringify(enc)) return p;
  return 'custom';
}
