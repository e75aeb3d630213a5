/**
 * `emolab finetune`: SER fine-tuning of every arm (baseline + the pretrained encoders under runs/),
 * then the result tables. Same code as notebook 08.
 */
import { flagNumber, flagString, parseArgs } from '../cli/args';
import { EmolabError } from '../errors';
import { initBackend } from '../backend';
import { checkMemory, goncalves2022Settings, serExperimentSettings, type DeepPartial, type Goncalves2022Settings } from '../experiments/goncalves2022';
import type { EncoderPreset } from '../models/encoder';
import type { MemoryBackend } from '../models/memory';
import { runsRoot } from '../paths';
import type { FeatureNormalization } from '../train/batches';
import { closeFigureExporter } from '../report/export';
import { buildSerReports } from '../report/ser';
import { reportSummary } from '../report/cli';
import { runSerExperiment, tableFailures } from './experiment';
import type { FinetuneMode } from './results';

export const FINETUNE_USAGE = [
  'emolab finetune [--arms functionals,baseline,energy,activation,au,all] [--modes full,frozen] [--seeds 1,2,3] [--folds N]',
  '                [--epochs N] [--lr X] [--batch N] [--patience N] [--monitor ua|f1|accuracy] [--preset tiny|small|base]',
  '                [--normalization training-set|utterance] [--class-balanced] [--workers N] [--max-train N]',
  '                [--experiment NAME] [--force] [--quiet] [--no-report]',
  '  Settings: lib/experiments/goncalves2022.ts, profile EMOLAB_PROFILE (default cpu); flags override them.',
  '  Changed settings write to their own experiment folder (emodb-<profile>-<hash>) unless --experiment is given.',
].join('\n');

const list = (s: string | undefined): string[] | undefined => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

function numbers(s: string | undefined, name: string): number[] | undefined {
  const l = list(s);
  if (!l) return undefined;
  const n = l.map(Number);
  if (n.some((x) => !Number.isInteger(x))) throw new EmolabError('cli', `emolab finetune: --${name} must be comma-separated integers, got "${s}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('finetune', argv, {
    values: ['arms', 'modes', 'seeds', 'folds', 'epochs', 'lr', 'batch', 'patience', 'monitor', 'preset', 'normalization', 'workers', 'experiment', 'max-train'],
    booleans: ['class-balanced', 'force', 'quiet', 'no-report'],
  });
  if (a.flags.help) { console.log(FINETUNE_USAGE); return 0; }
  const num = (name: string) => flagNumber(a, 'finetune', name);
  const hyper: Record<string, unknown> = {};
  if (num('epochs') !== undefined) hyper.epochs = num('epochs');
  if (num('lr') !== undefined) hyper.lr = num('lr');
  if (num('batch') !== undefined) hyper.batchSize = num('batch');
  if (num('patience') !== undefined) hyper.patience = num('patience');
  if (flagString(a, 'monitor')) hyper.monitor = flagString(a, 'monitor');
  if (a.flags['class-balanced']) hyper.classBalanced = true;
  const preset = flagString(a, 'preset');
  if (preset && !['tiny', 'small', 'base'].includes(preset)) throw new EmolabError('cli', `emolab finetune: --preset must be tiny, small or base, got "${preset}"`);
  const over: DeepPartial<Goncalves2022Settings> = {
    ...(flagString(a, 'experiment') ? { experiment: flagString(a, 'experiment') } : {}),
    ...(preset ? { encoder: { preset: preset as EncoderPreset } } : {}),
    ...(flagString(a, 'normalization') ? { features: { normalization: flagString(a, 'normalization') as FeatureNormalization } } : {}),
    ...(num('workers') !== undefined ? { compute: { workers: num('workers') } } : {}),
    finetune: {
      ...(list(flagString(a, 'arms')) ? { arms: list(flagString(a, 'arms')) } : {}),
      ...(list(flagString(a, 'modes')) ? { modes: list(flagString(a, 'modes')) as FinetuneMode[] } : {}),
      ...(numbers(flagString(a, 'seeds'), 'seeds') ? { seeds: numbers(flagString(a, 'seeds'), 'seeds') } : {}),
      ...(num('folds') !== undefined ? { folds: num('folds') } : {}),
      ...(num('max-train') !== undefined ? { maxClips: { train: num('max-train') } } : {}),
      ...(Object.keys(hyper).length ? { hyper } : {}),
    } as DeepPartial<Goncalves2022Settings['finetune']>,
  };
  const settings = goncalves2022Settings(undefined, over);
  const root = runsRoot();
  try {
    const backend = await initBackend();
    checkMemory(settings, backend.name as MemoryBackend);
    const res = await runSerExperiment(serExperimentSettings(settings, root), {
      root, force: Boolean(a.flags.force), quiet: Boolean(a.flags.quiet),
      onResult: (r, file, reused) => console.log(`${reused ? 'kept   ' : 'trained'} ${r.arm}/${r.mode} seed ${r.seed} ${r.fold}: F1 ${(100 * r.metrics.f1).toFixed(1)}  UA ${(100 * r.metrics.ua).toFixed(1)}  WA ${(100 * r.metrics.wa).toFixed(1)}  -> ${file}`),
      onFailure: (f) => console.log(`FAILED ${f.arm} ${f.mode}${f.seed !== null ? ` seed ${f.seed}` : ''}${f.fold ? ` ${f.fold}` : ''}: ${f.message}`),
    });
    console.log(`\n${res.trained} models trained, ${res.reused} kept from earlier runs, ${res.failures.length} failed, ${res.seconds.toFixed(0)} s`);
    if (!a.flags['no-report']) {
      for (const rep of buildSerReports({ experiment: res.experiment, root }, tableFailures(res.experiment, res.failures))) console.log(`\n${reportSummary(rep)}\n`);
    }
    if (res.failures.length) {
      console.error(`\n${res.failures.length} model(s) failed:`);
      for (const f of res.failures) console.error(`  ${f.arm} ${f.mode}${f.seed !== null ? ` seed ${f.seed}` : ''}${f.fold ? ` ${f.fold}` : ''}: ${f.message}`);
      return 1;
    }
  } finally {
    await closeFigureExporter();
  }
  return 0;
}
