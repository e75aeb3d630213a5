/**
 * `emolab pretrain`: pretrain the speech encoder on a pretext task (the same `pretrain()` the
 * notebooks 05-07 call) and write runs/<name>/run.json, model.safetensors and checkpoints/.
 * Run again with the same --out to resume after an interruption. `--bench` instead times one
 * training step of the tiny and base presets (batch 8 x 300 frames) on the current backend.
 */
import { flagNumber, flagString, parseArgs } from '../cli/args';
import { initBackend, describeBackend } from '../backend';
import { EmolabError } from '../errors';
import { pretrain, type PretextTask, type PretextTaskName, type PretrainSettings } from './pretext';
import { benchmarkTrainStep } from './benchmark';
import type { EncoderPreset } from '../models/encoder';

const USAGE = `usage: emolab pretrain --task energy|activation|au|all [--data emodb|av-speech-unlabeled|<folder>] [--out runs/<name>]
         [--preset tiny|small|base] [--seed N] [--epochs N] [--batch-size N] [--lr X] [--max-clips N] [--patience N]
         [--weights energy=1,activation=1,au=1] [--labels <dir with pseudo/<task>.safetensors>] [--features <feature store dir>] [--no-resume]
         [--exclude-speakers 03,08] [--fold <SER fold name>]   (keep those speakers' audio out of pretraining)
       emolab pretrain --bench [--steps N]`;

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
    values: ['task', 'data', 'out', 'preset', 'seed', 'epochs', 'batch-size', 'lr', 'max-clips', 'patience', 'weights', 'labels', 'steps', 'features', 'exclude-speakers', 'fold'],
    booleans: ['no-resume', 'bench'],
  });
  if (a.flags.help) { console.log(USAGE); return 0; }
  const backend = await initBackend();
  console.error(describeBackend(backend));
  if (a.flags.bench) {
    const steps = flagNumber(a, 'pretrain', 'steps', 3)!;
    for (const preset of ['tiny', 'base'] as EncoderPreset[]) console.log(JSON.stringify(benchmarkTrainStep(preset, 8, 300, steps)));
    return 0;
  }
  const task = flagString(a, 'task');
  if (!task || !['energy', 'activation', 'au', 'all'].includes(task)) throw new EmolabError('cli', `emolab pretrain: --task must be energy, activation, au or all${task ? `, got "${task}"` : ''}`, { hint: USAGE });
  const preset = flagString(a, 'preset');
  if (preset && !['tiny', 'small', 'base'].includes(preset)) throw new EmolabError('cli', `emolab pretrain: --preset must be tiny, small or base, got "${preset}"`);
  // The experiment's settings for this task (profile EMOLAB_PROFILE), then the flags on top.
  const { goncalves2022Settings, pretrainSettingsFor } = await import('../experiments/goncalves2022');
  const exp = goncalves2022Settings(undefined, preset ? { encoder: { preset: preset as EncoderPreset } } : undefined);
  const fold = flagString(a, 'fold');
  const exclude = flagString(a, 'exclude-speakers')?.split(',').map((x) => x.trim()).filter(Boolean);
  const base = pretrainSettingsFor(exp, task as PretextTask, fold || exclude ? { fold: { name: fold ?? 'custom', test: exclude ?? [] } } : {});
  const num = (name: string) => flagNumber(a, 'pretrain', name);
  const budget = { ...base.budget };
  if (num('epochs') !== undefined) budget.epochs = num('epochs')!;
  if (num('batch-size') !== undefined) budget.batchSize = num('batch-size')!;
  if (num('lr') !== undefined) budget.lr = num('lr')!;
  if (num('patience') !== undefined) budget.patience = num('patience')!;
  const { validateBudget } = await import('../experiments/goncalves2022');
  validateBudget('pretrain flags', budget);
  const settings: PretrainSettings = {
    ...base,
    budget,
    ...(flagString(a, 'data') ? { data: flagString(a, 'data')! } : {}),
    ...(flagString(a, 'out') ? { out: flagString(a, 'out')! } : {}),
    ...(num('seed') !== undefined ? { seed: num('seed')! } : {}),
    ...(num('max-clips') !== undefined ? { maxClips: num('max-clips')! } : {}),
    ...(flagString(a, 'weights') ? { taskWeights: { ...base.taskWeights, ...parseWeights(flagString(a, 'weights')) } } : {}),
    ...(flagString(a, 'labels') ? { labelsDir: flagString(a, 'labels')! } : {}),
    ...(flagString(a, 'features') ? { featureStore: flagString(a, 'features')! } : {}),
    ...(fold ? {} : { fold: null }),
  };
  const r = await pretrain(settings, { resume: !a.flags['no-resume'], quiet: false });
  for (const [head, m] of Object.entries(r.test)) {
    console.log(`${head}: held-out accuracy ${(100 * m.accuracy).toFixed(1)}% on ${m.n} targets (majority-class rate ${(100 * m.majorityRate).toFixed(1)}%)`);
  }
  console.log(`run manifest: ${r.manifestFile}\nencoder: ${r.modelFile}`);
  return 0;
}
