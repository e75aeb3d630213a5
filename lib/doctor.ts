/**
 * Prerequisite checks for `npm start` and `emolab doctor`: says exactly what is missing and how to
 * get it, before any long work starts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataRoot, modelsRoot, repoRoot } from './paths';
import { ffmpegBinaries } from './media/ffmpeg';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what is missing and how to fix it. */
  detail: string;
  /** A failed required check stops `npm start`; a failed optional one only warns. */
  required: boolean;
}

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
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
  const nbconvert = which('jupyter-nbconvert');
  checks.push({
    name: 'jupyter nbconvert', ok: Boolean(nbconvert), required: Boolean(opts.notebooks),
    detail: nbconvert ?? 'missing: apt-get install jupyter-nbconvert python3-nbclient jupyter-client (needed to execute the notebooks)',
  });
  const chromium = process.env.CHROMIUM_PATH ?? which('chromium') ?? which('chromium-browser');
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
  return checks.map((c) => `${c.ok ? 'ok     ' : c.required ? 'MISSING' : 'warning'}  ${c.name.padEnd(28)} ${c.detail}`).join('\n');
}

export const allRequiredOk = (checks: Check[]): boolean => checks.every((c) => c.ok || !c.required);
