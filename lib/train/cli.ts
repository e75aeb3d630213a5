/**
 * `emolab pretrain`: pretrain the speech encoder on a pretext task (the same `pretrain()` the
 * notebooks 05-07 call) and write runs/<name>/run.json, model.safetensors and checkpoints/.
 * Run again with the same --out to resume after an interruption. `--bench` instead times one
 * training step of the tiny and base presets (batch 8 x 300 frames) on the current backend.
 */
import { corpusFlag, flagChoice, flagFloat, flagInt, flagString, parseArgs } from '../args';
import { CORPUS_CHOICES } from '../data/corpora';
import { initBackend, describeBackend } from '../backend';
import { EmolabError } from '../errors';
import { join } from 'node:path';
import { runsRoot } from '../paths';
import { pretrain } from './pretrain';
import type { PretrainSettings } from './pretrainRun';
import type { PretextTask, PretextTaskName } from './pretextExamples';
import { benchmarkTrainStep } from './benchmark';
import type { EncoderPreset } from '../models/encoder';

const USAGE = `usage: emolab pretrain --task energy|activation|au|all [--corpus ${CORPUS_CHOICES}] [--out runs/<name>]
         [--preset tiny|small|base] [--seed N] [--epochs N] [--batch-size N] [--lr X] [--max-clips N] [--patience N] [--no-held-out]
         [--weights energy=1,activation=1,au=1] [--labels <dir with pseudo/<task>.safetensors>] [--features <feature store dir>] [--no-resume]
         [--exclude-speakers 03,08] [--fold <SER fold name>]   (keep those speakers' audio out of pretraining)
       emolab pretrain --bench [--steps N]
  --corpus: the corpus to pretrain on (default: energy on emodb, the others on the profile's audio-visual corpora);
            energy works on any audio corpus, labelled or not; activation/au/all need face label sets (emolab pseudo).
            (--data is the deprecated spelling.)
  --no-held-out: train on every speaker (no dev/test speakers; fixed epoch budget; run.json records it),
            for corpora with fewer than 3 speakers.
  --out: default $EMOLAB_RUNS/<prefix>pretrain-<task>[-<corpus key>].`;

function parseWeights(raw: string | undefined): Partial<Record<PretextTaskName, number>> | undefined {
  if (!raw) return undefined;
  const out: Partial<Record<PretextTaskName, number>> = {};
  for (const part of raw.split(',')) {
    const [k, v] = part.split('=');
    if (!['energy', 'activation', 'au'].includes(k) || !Number.isFinite(Number(v))) {
      throw new EmolabError('cli', `emolab pretrain: --weights expects task=number pairs like energy=1,au=0.5, got "${part}"`);
    }
    out[k as PretextTaskName] = Number(v);
  }
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('pretrain', argv, {
    values: ['task', 'corpus', 'data', 'out', 'preset', 'seed', 'epochs', 'batch-size', 'lr', 'max-clips', 'patience', 'weights', 'labels', 'steps', 'features', 'exclude-speakers', 'fold'],
    booleans: ['no-resume', 'bench', 'no-held-out'],
  });
  if (a.flags.help) { console.log(USAGE); return 0; }
  // Every flag is checked before the backend starts or any data is read.
  const cmd = 'pretrain';
  const task = flagChoice(a, cmd, 'task', ['energy', 'activation', 'au', 'all'] as const);
  const preset = flagChoice(a, cmd, 'preset', ['tiny', 'small', 'base'] as const);
  const corpus = corpusFlag(a, cmd, ['data']);
  const epochs = flagInt(a, cmd, 'epochs'), batchSize = flagInt(a, cmd, 'batch-size'), patience = flagInt(a, cmd, 'patience', { min: 0 });
  const lr = flagFloat(a, cmd, 'lr', { gt: 0 }), seed = flagInt(a, cmd, 'seed', { min: 0 }), maxClips = flagInt(a, cmd, 'max-clips'), steps = flagInt(a, cmd, 'steps', { min: 1 }, 3)!;
  if (!a.flags.bench && !task) throw new EmolabError('cli', 'emolab pretrain: --task must be energy, activation, au or all', { hint: USAGE });
  const { corpusRef } = await import('../data/corpora');
  const ref = corpus !== undefined ? corpusRef(corpus) : undefined;
  const backend = await initBackend();
  console.error(describeBackend(backend));
  if (a.flags.bench) {
    for (const preset of ['tiny', 'base'] as EncoderPreset[]) console.log(JSON.stringify(benchmarkTrainStep(preset, 8, 300, steps)));
    return 0;
  }
  // The experiment's settings for this task (profile EMOLAB_PROFILE), then the flags on top.
  const { goncalves2022Settings, pretrainSettingsFor } = await import('../experiments/goncalves2022');
  const exp = goncalves2022Settings(undefined, preset ? { encoder: { preset: preset as EncoderPreset } } : undefined);
  const fold = flagString(a, 'fold');
  const exclude = flagString(a, 'exclude-speakers')?.split(',').map((x) => x.trim()).filter(Boolean);
  const base = pretrainSettingsFor(exp, task as PretextTask, fold || exclude ? { fold: { name: fold ?? 'custom', test: exclude ?? [] } } : {});
  const budget = { ...base.budget };
  if (epochs !== undefined) budget.epochs = epochs;
  if (batchSize !== undefined) budget.batchSize = batchSize;
  if (lr !== undefined) budget.lr = lr;
  if (patience !== undefined) budget.patience = patience;
  const { validateBudget } = await import('../experiments/goncalves2022');
  validateBudget('pretrain flags', budget);
  const settings: PretrainSettings = {
    ...base,
    budget,
    // Another corpus gets its own run folder and feature store (by its key), unless --out / --features say otherwise.
    ...(ref && ref.spec !== base.data ? { data: ref.spec, out: `${base.out}-${ref.key}`, featureStore: join(runsRoot(), 'features', ref.key), ...(task !== 'energy' ? { labelsDir: null } : {}) } : {}),
    ...(flagString(a, 'out') ? { out: flagString(a, 'out')! } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(maxClips !== undefined ? { maxClips } : {}),
    ...(a.flags['no-held-out'] ? { split: { devSpeakers: 0, testSpeakers: 0 } } : {}),
    ...(flagString(a, 'weights') ? { taskWeights: { ...base.taskWeights, ...parseWeights(flagString(a, 'weights')) } } : {}),
    ...(flagString(a, 'labels') ? { labelsDir: flagString(a, 'labels')! } : {}),
    ...(flagString(a, 'features') ? { featureStore: flagString(a, 'features')! } : {}),
    ...(fold ? {} : { fold: null }),
  };
  const r = await pretrain(settings, { resume: !a.flags['no-resume'], quiet: false });
  if (a.flags['no-held-out']) console.log('no held-out speakers (--no-held-out): every clip trained; no held-out accuracy');
  for (const [head, m] of Object.entries(r.test)) {
    console.log(`${head}: held-out accuracy ${(100 * m.accuracy).toFixed(1)}% on ${m.n} targets (majority-class rate ${(100 * m.majorityRate).toFixed(1)}%)`);
  }
  console.log(`run manifest: ${r.manifestFile}\nencoder: ${r.modelFile}`);
  return 0;
}
