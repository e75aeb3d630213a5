/**
 * Where data and models live. `EMOLAB_DATA` (default `./data`) holds one folder per corpus;
 * `EMOLAB_MODELS` (default `./data/models`) holds model files. `EMOLAB_RUNS` (default `./runs`)
 * receives run outputs. Resolved here only; a missing dataset raises an error that names the
 * variable, the expected layout and the download command.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EmolabError } from './errors';

/**
 * Repository root: `EMOLAB_ROOT` when set, else the nearest folder above the working directory
 * (or above the running script) whose package.json is named "emolab". Found without
 * `import.meta`, so the same code runs under tsx (ESM) and inside tslab notebooks (CommonJS).
 */
export const repoRoot: string = findRepoRoot();

function findRepoRoot(): string {
  if (process.env.EMOLAB_ROOT) return resolve(process.env.EMOLAB_ROOT);
  const starts = [process.cwd(), process.argv[1] ? dirname(resolve(process.argv[1])) : undefined];
  for (const start of starts) {
    let dir = start;
    while (dir) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg)) {
        try {
          if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'emolab') return dir;
        } catch { /* not ours */ }
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return process.cwd();
}

export function dataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(repoRoot, env.EMOLAB_DATA ?? 'data');
}

export function modelsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(repoRoot, env.EMOLAB_MODELS ?? join(env.EMOLAB_DATA ?? 'data', 'models'));
}

export function runsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(repoRoot, env.EMOLAB_RUNS ?? 'runs');
}

/** Reference fixtures (parity tests): `EMOLAB_FIXTURES`, default `$EMOLAB_DATA/../fixtures`. */
export function fixturesRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(repoRoot, env.EMOLAB_FIXTURES ?? join(dataRoot(env), '..', 'fixtures'));
}

/**
 * The repository's own figures/ and results/ folders: notebook figures (03_*), the HFLEA table, the
 * RAVDESS check, and results/reference/ (the committed reference run). SER experiments write their
 * tables and figures into their own folders instead (experimentOutputs).
 */
export const figuresDir = (): string => resolve(repoRoot, 'figures');
export const resultsDir = (): string => resolve(repoRoot, 'results');

/** Where one SER experiment's tables and figures go. */
export interface ExperimentOutputs {
  /** The experiment folder (per-model records live here too, unless `out` was given). */
  dir: string;
  /** ser_<experiment>_<mode>.csv, _per_class.csv, .md */
  tables: string;
  /** ser_<experiment>_<mode>_{metrics,gain,confusion,per_class}.html|png|svg */
  figures: string;
}

/**
 * Output folders of an SER experiment. Layout (the results explorer scans the runs folder for it):
 *
 *   <EMOLAB_RUNS>/ser/<experiment>/            per-model records (<mode>/<arm>/seed-<n>/<fold>.json),
 *                                              run.json, failures.json, pretraining.json
 *   <EMOLAB_RUNS>/ser/<experiment>/tables/     the result tables of `emolab finetune` / `emolab report`
 *   <EMOLAB_RUNS>/ser/<experiment>/figures/    their figures
 *
 * `out` (the CLI's `--out DIR`) puts tables and figures in DIR/tables and DIR/figures instead. No
 * two experiments share a folder, so no run overwrites another experiment's outputs.
 */
export function experimentOutputs(experiment: string, opts: { root?: string; out?: string } = {}): ExperimentOutputs {
  const dir = opts.out ? resolve(opts.out) : join(opts.root ?? runsRoot(), 'ser', experiment);
  return { dir, tables: join(dir, 'tables'), figures: join(dir, 'figures') };
}

/**
 * Refuse, before any work starts, a folder this process cannot create or write into, naming the
 * setting that chose it (EMOLAB_RUNS, --out, ...). Leaves the folder in place (created if missing).
 */
export function assertWritable(dir: string, setting: string): void {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    const probe = join(abs, `.emolab-write-check-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new EmolabError('setup', `${setting} folder ${abs} is not writable (${code}); nothing was computed`, {
      file: abs, hint: `make it writable, or choose another folder (${setting})`,
    });
  }
}

export interface DatasetLayout {
  /** Folder name under EMOLAB_DATA. */
  folder: string;
  /** What must be inside, in words, e.g. "wav/*.wav and labels.csv". */
  layout: string;
  /** Paths (relative to the dataset folder) that must exist. */
  required: string[];
  /** The command that downloads it, or instructions when no download exists. */
  fetch: string;
}

/** Absolute folder of a dataset, or a clear error saying how to get it. */
export function datasetDir(spec: DatasetLayout, env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(dataRoot(env), spec.folder);
  const missing = spec.required.filter((p) => !existsSync(join(dir, p)));
  if (missing.length > 0) {
    throw new EmolabError('data', `dataset "${spec.folder}" not found or incomplete at ${dir} (missing: ${missing.join(', ')})`, {
      hint: `set EMOLAB_DATA to the folder holding "${spec.folder}/" (expected layout: ${spec.layout}), or run: ${spec.fetch}`,
    });
  }
  return dir;
}

/** Absolute path of a model file, or a clear error saying how to get it. */
export function modelPath(file: string, fetch: string, env: NodeJS.ProcessEnv = process.env): string {
  const p = join(modelsRoot(env), file);
  if (!existsSync(p)) {
    throw new EmolabError('setup', `model file ${file} not found in ${modelsRoot(env)}`, {
      file: p,
      hint: `set EMOLAB_MODELS to the folder holding it, or run: ${fetch}`,
    });
  }
  return p;
}
