/**
 * Prerequisite checks for `npm start` and `emolab doctor`: says exactly what is missing and how to
 * get it, before any long work starts — per job (`jobChecks`): which datasets, models, profile,
 * writable folders and tools each job needs, and which tasks the main job will skip and why.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertWritable, dataRoot, figuresDir, modelsRoot, repoRoot, resultsDir, runsRoot } from './paths';
import { errorMessage } from './errors';
import { ffmpegBinaries, findOnPath } from './media/ffmpeg';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what is missing and how to fix it. */
  detail: string;
  /** A failed required check stops `npm start`; a failed optional one only warns. */
  required: boolean;
  /** The jobs that need it (doctor lists them), when known. */
  neededBy?: string[];
}

export interface DoctorOptions {
  /** Datasets (folder, required files) the job needs. */
  datasets?: { folder: string; required: string[]; fetch: string }[];
  /** Model files the job needs. */
  models?: { file: string; fetch: string }[];
  /** Whether notebooks will be executed (needs Jupyter). */
  notebooks?: boolean;
}

export function runChecks(opts: DoctorOptions = {}): Check[] {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({ name: 'node', ok: major >= 20, detail: major >= 20 ? `v${process.versions.node}` : `v${process.versions.node} is too old: install Node.js 20 or newer`, required: true });
  const nm = existsSync(join(repoRoot, 'node_modules', '@tensorflow', 'tfjs'));
  checks.push({ name: 'node_modules', ok: nm, detail: nm ? 'installed' : 'missing: run `npm ci` in the repository root', required: true });
  try {
    const ff = ffmpegBinaries();
    checks.push({ name: 'ffmpeg', ok: existsSync(ff.ffmpeg), detail: `${ff.ffmpeg} (${ff.source})`, required: true });
  } catch (e) {
    checks.push({ name: 'ffmpeg', ok: false, detail: `not found (${(e as Error).message}): apt-get install ffmpeg, or npm ci to get @ffmpeg-installer/ffmpeg`, required: true });
  }
  {
    // ffprobe reads the talking-face videos' streams (face tracking, tasks 2 and 3); without it those tasks are skipped.
    const probe = ffprobeBinary();
    checks.push({ name: 'ffprobe', ok: Boolean(probe), required: false, detail: probe ?? 'not found: tasks 2 and 3 are skipped without it (npm ci installs @ffprobe-installer/ffprobe; or apt-get install ffmpeg, or set FFPROBE_PATH)' });
  }
  const nbconvert = findOnPath('jupyter-nbconvert');
  checks.push({
    name: 'jupyter nbconvert', ok: Boolean(nbconvert), required: Boolean(opts.notebooks),
    detail: nbconvert ?? 'missing: apt-get install jupyter-nbconvert python3-nbclient jupyter-client (needed to execute the notebooks)',
  });
  const chromium = process.env.CHROMIUM_PATH ?? findOnPath('chromium') ?? findOnPath('chromium-browser');
  checks.push({
    name: 'chromium', ok: Boolean(chromium && existsSync(chromium)), required: false,
    detail: chromium ?? 'missing: apt-get install chromium (or set CHROMIUM_PATH); without it figures are saved as HTML only, no PNG/SVG',
  });
  for (const d of opts.datasets ?? []) {
    const dir = join(dataRoot(), d.folder);
    const missing = d.required.filter((p) => !existsSync(join(dir, p)));
    checks.push({
      name: `dataset ${d.folder}`, ok: missing.length === 0, required: true,
      detail: missing.length === 0 ? dir : `missing at ${dir} (${missing.join(', ')}): set EMOLAB_DATA to the folder that holds "${d.folder}/", or run: ${d.fetch}`,
    });
  }
  for (const m of opts.models ?? []) {
    const p = join(modelsRoot(), m.file);
    checks.push({
      name: `model ${m.file}`, ok: existsSync(p), required: true,
      detail: existsSync(p) ? p : `missing at ${p}: set EMOLAB_MODELS to the folder that holds it, or run: ${m.fetch}`,
    });
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.ok ? 'ok     ' : c.required ? 'MISSING' : 'warning'}  ${c.name.padEnd(28)} ${c.detail}${c.neededBy?.length ? `  [needed by: ${c.neededBy.join(', ')}]` : ''}`).join('\n');
}

// ---------------------------------------------------------------- per job

/** The jobs doctor knows: `npm start`, the notebooks, and each stage command. */
export const JOBS = ['start', 'notebooks', 'features', 'pretrain', 'finetune', 'report'] as const;
export type JobName = (typeof JOBS)[number];

export interface JobCheckOptions {
  /** The corpus of features / pretrain / finetune (default emodb). */
  corpus?: string;
  env?: NodeJS.ProcessEnv;
}

/** A setting read from the environment, checked (type and allowed values) with the module that reads it. */
function settingCheck(name: string, check: () => string): Check {
  try {
    return { name, ok: true, detail: check(), required: true };
  } catch (e) {
    return { name, ok: false, detail: errorMessage(e).replace(/^emolab \w+: /, ''), required: true };
  }
}

function writableCheck(name: string, dir: string, setting: string, required: boolean): Check {
  try {
    assertWritable(dir, setting);
    return { name, ok: true, detail: `${dir} (writable)`, required };
  } catch (e) {
    return { name, ok: false, detail: errorMessage(e).replace(/^emolab \w+ \[[^\]]*\]: /, ''), required };
  }
}

/** Why tasks 2 and 3 (facial activation, AU emotions) cannot run, or undefined when they can. */
export function avTasksMissing(avCorpora: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const c of avCorpora) {
    const dir = join(dataRoot(env), c);
    if (!existsSync(dir)) return `no ${dir} (set EMOLAB_DATA to the folder holding ${c}/${c === 'grid' ? ', or run: npx emolab data fetch grid' : ''})`;
  }
  const model = join(modelsRoot(env), 'face_landmarker.task');
  if (!existsSync(model)) return `no face model ${model} (run: npx emolab models fetch face-landmarker)`;
  if (!ffprobeBinary()) return 'no ffprobe to read the videos (npm ci installs @ffprobe-installer/ffprobe; or apt-get install ffmpeg, or set FFPROBE_PATH)';
  return undefined;
}

/** The ffprobe that lib/media/ffmpeg resolved, if any (never throws). */
function ffprobeBinary(): string | undefined {
  try { return ffmpegBinaries().ffprobe; } catch { return undefined; }
}

/**
 * Every check for the selected jobs, each tagged with the jobs that need it. `skipped`: tasks the
 * main job (start) will leave out, and why (it goes on without them), said before any work starts.
 */
export async function jobChecks(jobs: readonly JobName[], opts: JobCheckOptions = {}): Promise<{ checks: Check[]; skipped: string[] }> {
  const env = opts.env ?? process.env;
  const want = (...js: JobName[]) => js.filter((j) => jobs.includes(j));
  const base = runChecks({ notebooks: jobs.includes('notebooks') });
  const tag = (c: Check): Check => {
    const by: Record<string, JobName[]> = {
      node: want(...JOBS), node_modules: want(...JOBS), ffmpeg: want('start', 'notebooks', 'features', 'pretrain', 'finetune'),
      ffprobe: want('start', 'notebooks'), 'jupyter nbconvert': want('notebooks'), chromium: want('start', 'notebooks', 'finetune', 'report'),
    };
    return { ...c, neededBy: by[c.name] ?? [] };
  };
  const checks = base.map(tag).filter((c) => c.neededBy!.length > 0);
  const { profileName } = await import('./profile');
  const { parseBackendRequest } = await import('./backend');
  checks.push({ ...settingCheck('EMOLAB_PROFILE', () => `${profileName(env)}${env.EMOLAB_PROFILE ? '' : ' (default)'}`), neededBy: want('start', 'notebooks', 'pretrain', 'finetune') });
  checks.push({ ...settingCheck('EMOLAB_BACKEND', () => `${parseBackendRequest(env.EMOLAB_BACKEND)}${env.EMOLAB_BACKEND ? '' : ' (default)'}`), neededBy: want('start', 'notebooks', 'pretrain', 'finetune') });
  checks.push({ ...writableCheck('runs folder', runsRoot(env), 'EMOLAB_RUNS', true), neededBy: [...JOBS].filter((j) => jobs.includes(j)) });
  if (want('notebooks').length) {
    checks.push({ ...writableCheck('results folder', resultsDir(), 'the repository\'s results/', true), neededBy: want('notebooks') });
    checks.push({ ...writableCheck('figures folder', figuresDir(), 'the repository\'s figures/', true), neededBy: want('notebooks') });
  }
  // Datasets: the corpus of the stage commands, EmoDB for the main job and the notebooks.
  const corpusJobs = want('features', 'pretrain', 'finetune');
  const corpus = opts.corpus ?? 'emodb';
  const dataJobs: JobName[] = [...want('start', 'notebooks'), ...(corpus === 'emodb' ? corpusJobs : [])];
  if (dataJobs.length) {
    const dir = join(dataRoot(env), 'emodb');
    const missing = ['wav', 'labels.csv'].filter((p) => !existsSync(join(dir, p)));
    checks.push({ name: 'dataset emodb', ok: missing.length === 0, required: true, neededBy: dataJobs, detail: missing.length === 0 ? dir : `missing at ${dir} (${missing.join(', ')}): set EMOLAB_DATA to the folder that holds "emodb/", or run: npx emolab data fetch emodb` });
  }
  if (corpus !== 'emodb' && corpusJobs.length) {
    const { resolveCorpus } = await import('./data/corpora');
    try {
      const m = resolveCorpus(corpus, { labelled: jobs.includes('finetune') });
      const speakers = new Set(m.clips.map((c) => c.speaker)).size;
      const labelled = m.clips.filter((c) => c.emotion).length;
      checks.push({ name: `corpus ${m.corpus}`, ok: m.clips.length > 0, required: true, neededBy: corpusJobs, detail: `${m.clips.length} clips (${labelled} labelled), ${speakers} speakers, ${m.quarantine.length} quarantined at ${m.root}${speakers < 3 ? '; fewer than 3 speakers: pretraining needs --no-held-out, SER folds have no dev speakers (fixed epoch budget)' : ''}` });
    } catch (e) {
      checks.push({ name: `corpus ${corpus}`, ok: false, required: true, neededBy: corpusJobs, detail: errorMessage(e) });
    }
  }
  // The main job's tasks 2 and 3 need the audio-visual corpora and the face model; without them it skips those tasks.
  const skipped: string[] = [];
  if (want('start', 'notebooks').length) {
    try {
      const { goncalves2022Settings } = await import('./experiments/goncalves2022');
      const s = goncalves2022Settings();
      const why = avTasksMissing(s.pretext.avCorpora, env);
      const model = join(modelsRoot(env), 'face_landmarker.task');
      checks.push({ name: 'model face_landmarker.task', ok: existsSync(model), required: false, neededBy: want('start', 'notebooks'), detail: existsSync(model) ? model : `missing at ${model}: tasks 2 and 3 are skipped without it (run: npx emolab models fetch face-landmarker)` });
      for (const c of s.pretext.avCorpora) {
        const dir = join(dataRoot(env), c);
        checks.push({ name: `dataset ${c}`, ok: existsSync(dir), required: false, neededBy: want('start', 'notebooks'), detail: existsSync(dir) ? dir : `missing at ${dir}: tasks 2 and 3 are skipped without it${c === 'grid' ? ' (run: npx emolab data fetch grid)' : ''}` });
      }
      if (why) skipped.push(`tasks 2 and 3 (facial activation, AU-combination emotions) and their combination (arms activation, au, all): ${why}`);
    } catch (e) {
      // an invalid profile is reported by the EMOLAB_PROFILE check above
      void e;
    }
  }
  return { checks, skipped };
}

export const allRequiredOk = (checks: Check[]): boolean => checks.every((c) => c.ok || !c.required);
