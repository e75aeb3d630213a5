/**
 * `emolab finetune`: SER fine-tuning of every arm (baseline + the pretrained encoders under runs/),
 * then the result tables. Same code as notebook 08.
 */
import { flagNumber, flagString, parseArgs } from '../cli/args';
import { EmolabError } from '../errors';
import type { EncoderPreset } from '../models/encoder';
import { closeFigureExporter } from '../report/export';
import { buildSerReports } from '../report/ser';
import { reportSummary } from '../report/cli';
import { runSerExperiment } from './experiment';
import type { FinetuneMode, Protocol } from './results';

export const FINETUNE_USAGE = [
  'emolab finetune [--protocol emodb|crema-d] [--partitions 1,2,3,4,5] [--arms baseline,energy,activation,au,all]',
  '                [--modes full,frozen] [--seeds 1,2,3] [--folds N] [--epochs N] [--lr X] [--batch N]',
  '                [--preset tiny|small|base] [--class-balanced] [--features <feature-store dir>]',
  '                [--experiment NAME] [--max-train N] [--force] [--quiet] [--no-report]',
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
    values: ['protocol', 'partitions', 'arms', 'modes', 'seeds', 'folds', 'epochs', 'lr', 'batch', 'preset', 'features', 'experiment', 'max-train'],
    booleans: ['class-balanced', 'force', 'quiet', 'no-report'],
  });
  const protocol = (flagString(a, 'protocol') ?? 'emodb') as Protocol;
  if (!['emodb', 'crema-d'].includes(protocol)) throw new EmolabError('cli', `emolab finetune: --protocol must be emodb or crema-d, got "${protocol}"`);
  const modes = list(flagString(a, 'modes')) as FinetuneMode[] | undefined;
  if (modes?.some((m) => m !== 'full' && m !== 'frozen')) throw new EmolabError('cli', `emolab finetune: --modes takes full and/or frozen, got "${modes.join(',')}"`);
  const hyper = {
    ...(flagNumber(a, 'finetune', 'epochs') !== undefined ? { epochs: flagNumber(a, 'finetune', 'epochs')! } : {}),
    ...(flagNumber(a, 'finetune', 'lr') !== undefined ? { lr: flagNumber(a, 'finetune', 'lr')! } : {}),
    ...(flagNumber(a, 'finetune', 'batch') !== undefined ? { batchSize: flagNumber(a, 'finetune', 'batch')! } : {}),
    ...(a.flags['class-balanced'] ? { classBalanced: true } : {}),
  };
  try {
    const res = await runSerExperiment({
      protocol, partitions: numbers(flagString(a, 'partitions'), 'partitions'), arms: list(flagString(a, 'arms')), modes,
      seeds: numbers(flagString(a, 'seeds'), 'seeds'), folds: flagNumber(a, 'finetune', 'folds'), hyper,
      preset: flagString(a, 'preset') as EncoderPreset | undefined, featureStore: flagString(a, 'features'),
      experiment: flagString(a, 'experiment'), maxTrainClips: flagNumber(a, 'finetune', 'max-train'),
      force: Boolean(a.flags.force), quiet: Boolean(a.flags.quiet),
      onResult: (r, file, reused) => console.log(`${reused ? 'kept   ' : 'trained'} ${r.arm}/${r.mode} seed ${r.seed} ${r.fold}: F1 ${(100 * r.metrics.f1).toFixed(1)}  UA ${(100 * r.metrics.ua).toFixed(1)}  WA ${(100 * r.metrics.wa).toFixed(1)}  -> ${file}`),
    });
    console.log(`\n${res.trained} models trained, ${res.reused} kept from earlier runs, ${res.seconds.toFixed(0)} s`);
    if (!a.flags['no-report']) {
      for (const rep of buildSerReports({ experiment: res.experiment })) console.log(`\n${reportSummary(rep)}\n`);
    }
  } finally {
    await closeFigureExporter();
  }
  return 0;
}
