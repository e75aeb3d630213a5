/**
 * `emolab` — the command table and its dispatch (bin/emolab.ts is the process wrapper). Every command
 * calls the same functions the notebooks call; each command's code is its stage's front end
 * (lib/<stage>/cli.ts) or a module of this folder when it spans stages, loaded on demand so that
 * `emolab --help` starts instantly.
 *
 * To add a command: one entry in COMMANDS below.
 */
import type { Subcommand } from '../args';

/** One `emolab` command (the same shape as a subcommand). */
export type Command = Subcommand;

const lazy = (load: () => Promise<{ run: (argv: string[]) => Promise<number | void> }>) => async (argv: string[]) => (await load()).run(argv);

export const COMMANDS: Command[] = [
  { name: 'start', summary: 'check prerequisites, then run the main job on the default dataset (EmoDB)', usage: 'emolab start', run: lazy(() => import('./start')) },
  { name: 'doctor', summary: 'check what each job needs (datasets, models, profile, writable folders, ffmpeg, jupyter, chromium)', usage: 'emolab doctor [--job start|notebooks|features|pretrain|finetune|report|all] [--corpus <corpus>]   (each check names the jobs that need it)', run: lazy(() => import('./doctorCli')) },
  { name: 'backend', summary: 'start the tfjs backend (EMOLAB_BACKEND=auto|tensorflow|webgpu|wasm|cpu) and report it', usage: 'emolab backend [auto|tensorflow|webgpu|wasm|cpu]', run: lazy(() => import('./backendCli')) },
  { name: 'data', summary: 'fetch, verify, list and split corpora (EmoDB, CREMA-D, RAVDESS, MEAD, your own folder or manifest CSV)', usage: 'emolab data fetch|verify|manifest|splits <corpus> ...  (<corpus>: emodb|crema-d|ravdess|mead|av-speech-unlabeled|grid|<folder>|<manifest.csv>; emolab data for details)', run: lazy(() => import('../data/cli')) },
  { name: 'features', summary: 'audio features: Kaldi fbank/MFCC of one file (torchaudio parity), or fbank + energy + F0 of a corpus into a resumable store', usage: 'emolab features fbank|mfcc <in.wav|in.f32> --out x.safetensors | [extract] --corpus emodb|crema-d|<folder>|<manifest.csv>|... [--out <store dir>] [--workers N]   (emolab features for details)', run: lazy(() => import('./featuresCli')) },
  { name: 'pseudo', summary: 'pretext label sets: energy / facial-activation high-low segments, AU-combination emotions, frame k-means clusters; RAVDESS check of the AU rule', usage: 'emolab pseudo energy|activation|au|clusters|ravdess [--corpus NAME] [--features <store dir>] [--out <dir>]   (emolab pseudo for details)', run: lazy(() => import('../pseudo/cli')) },
  { name: 'pretrain', summary: 'pretrain the speech encoder on a pretext task (energy, facial activation, AU emotions, or all); writes runs/<name>/run.json', usage: 'emolab pretrain --task energy|activation|au|all [--corpus emodb|av-speech-unlabeled|grid|<folder>|<manifest.csv>] [--no-held-out] [--out runs/<name>] [--preset tiny|base] [--seed N]   (or --bench)', run: lazy(() => import('../train/cli')) },
  { name: 'models', summary: 'list, download (sha256-verified) and verify model files in EMOLAB_MODELS', usage: 'emolab models list | fetch [face-landmarker|hubert-base-ls960 ...] [--force] | verify [name ...]', run: lazy(() => import('./modelsCli')) },
  { name: 'notebooks', summary: 'execute the notebooks in order, headless (nbconvert + tslab)', usage: 'emolab notebooks [NN ...] [--scratch DIR | --in-place]   e.g. emolab notebooks 00 02 (ci: executed copies go to a scratch folder)', run: lazy(() => import('./notebooksCli')) },
  { name: 'hubert', summary: "run HuBERT on one audio file (hidden states); HFLEA's stage (1) TAPT and all five stages on EmoDB", usage: 'emolab hubert <model-dir> <in.f32|wav> --out <file.safetensors> [--weights model.safetensors] [--normalize]  |  emolab hubert fetch [--force]  |  emolab hubert tapt [--fold N] [--steps N] [--layer L] [--k K]  |  emolab hubert hflea [--folds N]   (emolab hubert --help for details)', run: lazy(() => import('./hubertCli')) },
  { name: 'report', summary: 'rebuild SER result tables and figures (into each experiment\'s $EMOLAB_RUNS/ser/<experiment>/tables and figures/) from runs/ser, or from the committed reference run (--reference), without retraining', usage: 'emolab report [--experiment NAME] [--reference] [--no-figures] [--out DIR] | --html [--reference] [--out FILE] | --export-reference NAME', run: lazy(() => import('../report/cli')) },
  { name: 'finetune', summary: 'fine-tune SER (baseline vs each pretrained encoder) on EmoDB, CREMA-D or any labelled corpus (speaker-independent folds), or across corpora (--train A --test B), and write result tables', usage: 'emolab finetune [--corpus emodb|crema-d|<folder>|<manifest.csv> | --train <corpus> --test <corpus>] [--classes six|corpus] [--features <store dir>] [--out DIR] [--arms functionals,baseline,energy,activation,au,all] [--modes full,frozen] [--seeds 1,2,3] [--folds N] [--epochs N] [--lr X] [--batch N] [--patience N] [--monitor ua|f1|accuracy] [--preset tiny|small|base] [--normalization training-set|utterance] [--class-balanced] [--workers N] [--experiment NAME] [--max-train N] [--force] [--quiet] [--no-report]   (settings: lib/experiments/goncalves2022.ts)', run: lazy(() => import('../finetune/cli')) },
  { name: 'store', summary: 'feature stores: merge the shards of a sharded extraction (features extract --shard i/n) into one store, byte-identical to a single run; plan a split', usage: 'emolab store merge <part dir> [...] --out <store dir> | plan --corpus <name> --shards N   (see README "Larger corpora")', run: lazy(() => import('../store/cli')) },
  { name: 'verify', summary: "re-hash a run's outputs against the SHA-256 recorded in its run.json, or check a feature store's shards against its index (exit 1 on any mismatch)", usage: 'emolab verify runs/<name> | runs/features/<corpus> [...] [--json]', run: lazy(() => import('../verify/cli')) },
];

export function helpText(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'emolab — self-supervised speech emotion recognition, reproduced step by step',
    '',
    'usage: emolab <command> [options]      (emolab <command> --help for details)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'environment:',
    '  EMOLAB_DATA     datasets folder (default ./data)',
    '  EMOLAB_MODELS   model files (default $EMOLAB_DATA/models)',
    '  EMOLAB_RUNS     run outputs (default ./runs)',
    '  EMOLAB_BACKEND  auto|tensorflow|webgpu|wasm|cpu (default auto)',
    '  EMOLAB_PROFILE  ci|cpu|paper (default cpu): ci = smoke test in minutes, cpu = the real experiment on a 2-core machine, paper = the sizes of the papers (GPU); settings in lib/experiments/',
  ].join('\n');
}

/** Runs `emolab <argv>`: help, or the named command; returns the exit code. */
export async function runEmolab(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(helpText());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`emolab: unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  const code = await cmd.run(rest);
  return typeof code === 'number' ? code : 0;
}
