/**
 * Where data and models live. `EMOLAB_DATA` (default `./data`) holds one folder per corpus;
 * `EMOLAB_MODELS` (default `./data/models`) holds model files. `EMOLAB_RUNS` (default `./runs`)
 * receives run outputs. Resolved here only; a missing dataset raises an error that names the
 * variable, the expected layout and the download command.
 */
import { existsSync, readFileSync } from 'node:fs';
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

export const figuresDir = (): string => resolve(repoRoot, 'figures');
export const resultsDir = (): string => resolve(repoRoot, 'results');

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
