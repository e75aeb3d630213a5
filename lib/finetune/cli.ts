/**
 * `emolab finetune`: SER fine-tuning of every arm (baseline + the pretrained encoders under runs/),
 * then the result tables. Same code as notebook 08.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labelSetFiles } from '../pseudo/labelsets';
import { corpusFlag, flagChoice, flagFloat, flagInt, flagList, flagString, parseArgs, type ParsedArgs } from '../args';
import { corpusRef, isNamedCorpus } from '../data/corpora';
import { openFeatureStore } from '../store/featureStore';
import { SER_CLASS_CHOICES } from './protocols';
import { EmolabError } from '../errors';
import { initBackend } from '../backend';
import { checkMemory, faceLabelsDir, goncalves2022Settings, serExperimentSettings, type DeepPartial, type Goncalves2022Settings } from '../experiments/goncalves2022';
import type { EncoderPreset } from '../models/encoder';
import type { MemoryBackend } from '../models/memory';
import { assertWritable, experimentOutputs, runsRoot } from '../paths';
import type { FeatureNormalization } from '../train/batches';
import { closeFigureExporter } from '../show/export';
import { buildSerReports, reportSummary } from '../report/ser';
import { runSerExperiment } from './experiment';
import { tableFailures } from './failures';
import type { FinetuneMode } from './results';

export const FINETUNE_USAGE = [
  'emolab finetune [--corpus emodb|crema-d|<folder>|<manifest.csv> | --train <corpus> --test <corpus>] [--classes six|corpus]',
  '                [--arms functionals,baseline,energy,activation,au,all] [--modes full,frozen] [--seeds 1,2,3] [--folds N]',
  '                [--epochs N] [--lr X] [--batch N] [--patience N] [--monitor ua|f1|accuracy] [--preset tiny|small|base]',
  '                [--normalization training-set|utterance] [--class-balanced] [--workers N] [--max-train N]',
  '                [--features <store dir>] [--test-features <store dir>] [--experiment NAME] [--out DIR] [--force] [--quiet] [--no-report]',
  '  --corpus: the SER corpus (default emodb: its leave-two-speakers-out folds). Any other labelled corpus gets',
  '            speaker-independent folds: leave-one-speaker-out up to 10 speakers, else 5 leave-k-speakers-out folds;',
  '            dev = the next fold\'s speakers (early stopping, best epoch); with 2 speakers there is no dev speaker and',
  '            every model trains for the fixed --epochs budget (the table says so).',
  '  --train A --test B: cross-corpus: train on A (dev: ~20% of its speakers), test on every labelled clip of B.',
  '  --classes six (default): emotions mapped to anger, disgust, fear, happiness, neutral, sadness (others left out);',
  '            corpus: the corpus\'s own emotion classes (cross-corpus: those both corpora have).',
  '  --features: the corpus\'s feature store (default $EMOLAB_RUNS/features/<corpus key>, made when missing);',
  '            a store built for another corpus is refused.',
  '  --out DIR: tables and figures go to DIR/tables and DIR/figures (default $EMOLAB_RUNS/ser/<experiment>/).',
  '  Settings: lib/experiments/goncalves2022.ts, profile EMOLAB_PROFILE (default cpu); flags override them.',
  '  Changed settings write to their own experiment folder (emodb-<profile>-<hash>, <corpus key>-<profile>, ...) unless --experiment is given.',
].join('\n');

const ARM_CHOICES = ['functionals', 'baseline', 'energy', 'activation', 'au', 'all'] as const;

function numbers(a: ParsedArgs, name: string): number[] | undefined {
  const s = flagString(a, name);
  if (s === undefined) return undefined;
  const l = s.split(',').map((x) => x.trim()).filter(Boolean);
  const n = l.map(Number);
  if (l.length === 0 || n.some((x) => !Number.isInteger(x) || x < 0)) throw new EmolabError('cli', `emolab finetune: --${name} must be comma-separated whole numbers >= 0, got "${s}"`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs('finetune', argv, {
    values: ['arms', 'modes', 'seeds', 'folds', 'epochs', 'lr', 'batch', 'patience', 'monitor', 'preset', 'normalization', 'workers', 'experiment', 'max-train',
      'corpus', 'train', 'test', 'classes', 'features', 'test-features', 'out', 'protocol'],
    booleans: ['class-balanced', 'force', 'quiet', 'no-report'],
  });
  if (a.flags.help) { console.log(FINETUNE_USAGE); return 0; }
  // Every flag is checked here, before the backend starts or any data is read.
  const cmd = 'finetune';
  const hyper: Record<string, unknown> = {};
  const epochs = flagInt(a, cmd, 'epochs'), lr = flagFloat(a, cmd, 'lr', { gt: 0 }), batch = flagInt(a, cmd, 'batch'), patience = flagInt(a, cmd, 'patience', { min: 0 });
  if (epochs !== undefined) hyper.epochs = epochs;
  if (lr !== undefined) hyper.lr = lr;
  if (batch !== undefined) hyper.batchSize = batch;
  if (patience !== undefined) hyper.patience = patience;
  const monitor = flagChoice(a, cmd, 'monitor', ['ua', 'f1', 'accuracy'] as const);
  if (monitor) hyper.monitor = monitor;
  if (a.flags['class-balanced']) hyper.classBalanced = true;
  const preset = flagChoice(a, cmd, 'preset', ['tiny', 'small', 'base'] as const);
  const normalization = flagChoice(a, cmd, 'normalization', ['training-set', 'utterance'] as const);
  const workers = flagInt(a, cmd, 'workers'), folds = flagInt(a, cmd, 'folds'), maxTrain = flagInt(a, cmd, 'max-train');
  const arms = flagList(a, cmd, 'arms', ARM_CHOICES, () => `arms are ${ARM_CHOICES.join(', ')}; each pretrained arm's encoder is made by emolab finetune itself (or: emolab pretrain --task energy|activation|au|all)`);
  const modes = flagList(a, cmd, 'modes', ['full', 'frozen'] as const);
  const seeds = numbers(a, 'seeds');
  const classes = flagChoice(a, cmd, 'classes', SER_CLASS_CHOICES);
  // The SER corpus: --corpus, or --train/--test (cross-corpus); --protocol emodb|crema-d is the older spelling.
  const protocol = flagChoice(a, cmd, 'protocol', ['emodb', 'crema-d'] as const);
  if (protocol) console.error(`emolab finetune: --protocol is deprecated: use --corpus ${protocol}`);
  const corpusArg = corpusFlag(a, cmd), trainArg = flagString(a, 'train');
  if (corpusArg !== undefined && trainArg !== undefined && corpusArg !== trainArg) throw new EmolabError('cli', `emolab finetune: --corpus ${corpusArg} and --train ${trainArg} disagree (--train is the training corpus of a cross-corpus run; give one of them)`);
  if (trainArg !== undefined && flagString(a, 'test') === undefined) throw new EmolabError('cli', 'emolab finetune: --train needs --test <corpus> (cross-corpus evaluation); for folds of one corpus use --corpus', { hint: 'emolab finetune --train emodb --test <folder>' });
  const train = trainArg ?? corpusArg ?? protocol;
  const test = flagString(a, 'test');
  const features = flagString(a, 'features'), testFeatures = flagString(a, 'test-features');
  if (testFeatures && !test) throw new EmolabError('cli', 'emolab finetune: --test-features needs --test <corpus> (cross-corpus evaluation)');
  let corpus = train !== undefined ? corpusRef(train).spec : undefined;
  const testCorpus = test !== undefined ? corpusRef(test).spec : undefined;
  // --features <store>: that store's corpus, or a refusal when it was built for another one.
  if (features !== undefined) {
    const built = storeCorpus(features);
    if (corpus === undefined) {
      if (!isNamedCorpus(built)) {
        throw new EmolabError('cli', `emolab finetune: the feature store ${features} was built for corpus "${built}"; say where that corpus is`, { hint: `emolab finetune --corpus <the folder or manifest of ${built}> --features ${features}` });
      }
      corpus = built;
    }
  }
  const out = flagString(a, 'out');
  const over: DeepPartial<Goncalves2022Settings> = {
    ...(flagString(a, 'experiment') ? { experiment: flagString(a, 'experiment') } : {}),
    ...(preset ? { encoder: { preset: preset as EncoderPreset } } : {}),
    ...(normalization ? { features: { normalization: normalization as FeatureNormalization } } : {}),
    ...(workers !== undefined ? { compute: { workers } } : {}),
    finetune: {
      ...(corpus !== undefined && corpus !== 'emodb' ? { corpus } : {}),
      ...(testCorpus !== undefined ? { testCorpus } : {}),
      ...(classes !== undefined && classes !== 'six' ? { classes } : {}),
      ...(arms ? { arms } : {}),
      ...(modes ? { modes: modes as FinetuneMode[] } : {}),
      ...(seeds ? { seeds } : {}),
      ...(folds !== undefined ? { folds } : {}),
      ...(maxTrain !== undefined ? { maxClips: { train: maxTrain } } : {}),
      ...(Object.keys(hyper).length ? { hyper } : {}),
    } as DeepPartial<Goncalves2022Settings['finetune']>,
  };
  let settings = goncalves2022Settings(undefined, over);
  const root = runsRoot();
  // Without --arms: the arms of tasks 2, 3 and all need the face label sets of the audio-visual corpora
  // (made by `npm start` or `emolab pseudo`); when they are missing those arms are left out, said here.
  if (!arms) {
    const dir = faceLabelsDir(settings, root);
    const missing = ['activation', 'au'].filter((t) => !existsSync(labelSetFiles(dir, t as 'activation' | 'au').summary));
    const av = settings.finetune.arms.filter((x) => ['activation', 'au', 'all'].includes(x));
    if (missing.length && av.length) {
      console.log(`arms ${av.join(', ')} left out: no ${missing.join('/')} label sets in ${dir} (npm start makes them; or pass --arms to choose)`);
      // as the main job does: the same experiment, fewer arms (its tables count only the arms that ran)
      settings = { ...settings, finetune: { ...settings.finetune, arms: settings.finetune.arms.filter((x) => !av.includes(x)) } };
    }
  }
  const ser = serExperimentSettings(settings, root);
  if (features !== undefined) ser.featureStore = resolve(features);
  if (testFeatures !== undefined) ser.testFeatureStore = resolve(testFeatures);
  const outputs = experimentOutputs(settings.experiment, { root, out });
  // Nothing is computed when a folder it must write to is not writable.
  assertWritable(join(root, 'ser', settings.experiment), 'EMOLAB_RUNS (the experiment folder)');
  if (out) assertWritable(outputs.dir, '--out');
  try {
    const backend = await initBackend();
    checkMemory(settings, backend.name as MemoryBackend);
    const res = await runSerExperiment(ser, {
      root, force: Boolean(a.flags.force), quiet: Boolean(a.flags.quiet),
      onResult: (r, file, reused) => console.log(`${reused ? 'kept   ' : 'trained'} ${r.arm}/${r.mode} seed ${r.seed} ${r.fold}: F1 ${(100 * r.metrics.f1).toFixed(1)}  UA ${(100 * r.metrics.ua).toFixed(1)}  WA ${(100 * r.metrics.wa).toFixed(1)}  -> ${file}`),
      onFailure: (f) => console.log(`FAILED ${f.arm} ${f.mode}${f.seed !== null ? ` seed ${f.seed}` : ''}${f.fold ? ` ${f.fold}` : ''}: ${f.message}`),
    });
    console.log(`\n${res.trained} models trained, ${res.reused} kept from earlier runs, ${res.failures.length} failed, ${res.seconds.toFixed(0)} s`);
    if (!a.flags['no-report']) {
      for (const rep of buildSerReports({ experiment: res.experiment, root, out }, tableFailures(res.experiment, res.failures))) console.log(`\n${reportSummary(rep)}\n`);
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

/** The corpus a feature store was built for (its audio index), or a clear error. */
function storeCorpus(dir: string): string {
  const store = openFeatureStore(dir);
  if (!store.sets().includes('audio')) throw new EmolabError('store', `the feature store has no "audio" set (has: ${store.sets().join(', ')})`, { file: dir, hint: 'make one: emolab features --corpus <corpus> --out <dir>' });
  return store.index('audio').corpus;
}
