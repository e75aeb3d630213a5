/**
 * Headless execution of the notebooks, in order, with Jupyter's nbconvert and the committed tslab
 * kernelspec (.jupyter/kernels/tslab). A failing notebook stops the run and the error printed is the
 * failing cell's own message (tslab puts it in the cell's stderr; nbconvert alone shows "<Error>:").
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EmolabError } from '../errors';
import { dataRoot, modelsRoot, repoRoot, runsRoot } from '../paths';

export const notebooksDir = (): string => join(repoRoot, 'notebooks');

/** notebooks/*.ipynb sorted by name (00_…, 01_…), optionally filtered by prefix or name. */
export function listNotebooks(only?: string[]): string[] {
  const all = readdirSync(notebooksDir()).filter((f) => f.endsWith('.ipynb')).sort();
  // A selector is a prefix (`05`), a file name, or a path to one (`notebooks/05_pretext_energy.ipynb`).
  const names = (only ?? []).map((o) => o.split('/').pop() ?? o);
  const picked = names.length ? all.filter((f) => names.some((o) => f.startsWith(o) || f === o)) : all;
  return picked.map((f) => join(notebooksDir(), f));
}

interface NbOutput { output_type: string; name?: string; text?: string | string[]; ename?: string; evalue?: string; traceback?: string[] }
interface NbCell { cell_type: string; source: string | string[]; outputs?: NbOutput[] }

const joinText = (t: string | string[] | undefined): string => (Array.isArray(t) ? t.join('') : t ?? '');
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

/** The first failing cell of an executed notebook, with its real message; undefined if none failed. Pure. */
export function firstFailure(nbJson: string): { cell: number; source: string; message: string } | undefined {
  const nb = JSON.parse(nbJson) as { cells: NbCell[] };
  let codeIndex = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    codeIndex++;
    const outs = cell.outputs ?? [];
    const err = outs.find((o) => o.output_type === 'error');
    if (!err) continue;
    const stderr = outs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => joinText(o.text)).join('');
    const own = [err.ename, err.evalue].filter(Boolean).join(': ');
    const tb = (err.traceback ?? []).map(stripAnsi).join('\n');
    const message = [stderr.trim(), own.trim() && own !== 'Error' ? own : '', tb.trim()].filter(Boolean).join('\n') || 'cell failed with no message';
    return { cell: codeIndex, source: joinText(cell.source), message };
  }
  return undefined;
}

export interface NotebookRun { notebook: string; ok: boolean; seconds: number; error?: string }

/** The source of the failing cell as nbconvert prints it in a CellExecutionError. Pure. */
export function failingCellSource(nbconvertStderr: string): string | undefined {
  const m = /An error occurred while executing the following cell:\n-{10,}\n([\s\S]*?)\n-{10,}\n/.exec(nbconvertStderr);
  return m?.[1];
}

/** Messages (stderr streams and error outputs) of the code cell whose source is `source`. Pure. */
export function cellMessages(nbJson: string, source: string): { cell: number; message: string } | undefined {
  const nb = JSON.parse(nbJson) as { cells: NbCell[] };
  let codeIndex = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    codeIndex++;
    if (joinText(cell.source).trim() !== source.trim()) continue;
    const outs = cell.outputs ?? [];
    const parts = outs.flatMap((o) => {
      if (o.output_type === 'stream' && o.name === 'stderr') return [joinText(o.text).trim()];
      if (o.output_type === 'error') return [[o.ename, o.evalue].filter((x) => x && x !== 'Error').join(': '), ...(o.traceback ?? []).map(stripAnsi)].filter(Boolean);
      return [];
    });
    return { cell: codeIndex, message: parts.join('\n').trim() || 'the cell failed without printing a message' };
  }
  return undefined;
}

/** Machine paths in outputs and what replaces them: the repository, runs, data and models folders. */
export function outputReplacements(): [string, string][] {
  const pairs: [string, string][] = [[runsRoot(), '$EMOLAB_RUNS'], [modelsRoot(), '$EMOLAB_MODELS'], [dataRoot(), '$EMOLAB_DATA'], [repoRoot, '.']];
  // Longest first, so a folder inside the repository is named by its variable.
  return pairs.filter(([p]) => p.length > 1).sort((a, b) => b[0].length - a[0].length);
}

const PROGRESS_LINE = /^.*\[[#.]{20}\] \d+\/\d+ \(\d+%\).*$/;

/**
 * Committed outputs without machine paths or progress noise. Pure: every occurrence of a
 * replacement's path becomes its placeholder; progress lines (lib/report/progress) are removed —
 * they show while a notebook runs and say nothing once it has (what a stage did is printed by the
 * cell itself) — stream outputs left empty are dropped, and code cells that ran get their execution
 * count (tslab's replies carry none; nbconvert runs every cell once, in order, so the count is the
 * cell's position among the executed code cells).
 */
export function cleanOutputs(nbJson: string, replacements: [string, string][]): string {
  const nb = JSON.parse(nbJson) as { cells: (NbCell & { execution_count?: number | null; outputs?: (NbOutput & { data?: Record<string, unknown>; execution_count?: number | null })[] })[] };
  const scrub = (t: string): string => replacements.reduce((acc, [from, to]) => acc.split(from).join(to), t);
  for (const cell of nb.cells) {
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'stream') o.text = scrub(joinText(o.text).split('\n').filter((l) => !PROGRESS_LINE.test(l)).join('\n'));
      if (o.data) {
        for (const [mime, v] of Object.entries(o.data)) {
          if (mime.startsWith('image/')) continue;
          o.data[mime] = Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? scrub(x) : x)) : typeof v === 'string' ? scrub(v) : v;
        }
      }
    }
  }
  for (const cell of nb.cells) if (cell.outputs) cell.outputs = cell.outputs.filter((o) => o.output_type !== 'stream' || joinText(o.text).trim() !== '');
  let count = 0;
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code' || !Array.isArray(cell.outputs)) continue;
    const ran = cell.outputs.length > 0 || cell.execution_count != null || count > 0;
    if (!ran) continue;
    count = typeof cell.execution_count === 'number' && cell.execution_count > count ? cell.execution_count : count + 1;
    cell.execution_count = count;
    for (const o of cell.outputs) if (o.output_type === 'execute_result') o.execution_count = count;
  }
  return JSON.stringify(nb, null, 1) + '\n';
}

function nbconvert(nb: string, out: string, timeoutS: number, allowErrors: boolean) {
  return spawnSync('jupyter', [
    'nbconvert', '--to', 'notebook', '--execute', ...(allowErrors ? ['--allow-errors'] : []),
    `--ExecutePreprocessor.timeout=${timeoutS}`, '--ExecutePreprocessor.kernel_name=tslab',
    '--output', out, nb,
  ], { cwd: repoRoot, env: { ...process.env, JUPYTER_PATH: join(repoRoot, '.jupyter') }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/**
 * Execute each notebook in place with nbconvert. Stops at the first failure and throws an
 * EmolabError carrying the failing cell's own message: nbconvert detects the failure (tslab marks
 * the cell's reply as an error) but prints an empty "<Error>:", so the notebook is executed once
 * more with --allow-errors to collect what the failing cell wrote to stderr. `timeoutS` bounds
 * each cell.
 */
export function runNotebooks(paths: string[], opts: { timeoutS?: number; log?: (s: string) => void; outDir?: string } = {}): NotebookRun[] {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const timeoutS = opts.timeoutS ?? 1800;
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const runs: NotebookRun[] = [];
  for (const nb of paths) {
    const name = basename(nb);
    const tmp = join(tmpdir(), `emolab-nb-${process.pid}-${name}`);
    const t0 = Date.now();
    log(`notebook ${name} ...`);
    const r = nbconvert(nb, tmp, timeoutS, false);
    const seconds = (Date.now() - t0) / 1000;
    if (r.error) {
      throw new EmolabError('report', `notebook ${name} could not be executed: ${r.error.message}`, {
        file: nb, hint: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'install Jupyter: apt-get install jupyter-nbconvert python3-nbclient jupyter-client' : undefined,
      });
    }
    if (r.status === 0) {
      const dest = opts.outDir ? join(opts.outDir, name) : nb;
      writeFileSync(dest, cleanOutputs(readFileSync(tmp, 'utf8'), outputReplacements()));
      rmSync(tmp, { force: true });
      log(`notebook ${name} ok (${seconds.toFixed(1)} s)${opts.outDir ? ` -> ${dest}` : ''}`);
      runs.push({ notebook: name, ok: true, seconds });
      continue;
    }
    rmSync(tmp, { force: true });
    const source = failingCellSource(r.stderr ?? '');
    if (source === undefined) {
      throw new EmolabError('report', `notebook ${name} could not be executed:\n${(r.stderr ?? '').split('\n').slice(-20).join('\n')}`, { file: nb });
    }
    log(`notebook ${name} failed after ${seconds.toFixed(1)} s; re-running with --allow-errors to collect the cell's message`);
    const again = nbconvert(nb, tmp, timeoutS, true);
    let found: { cell: number; message: string } | undefined;
    if (again.status === 0) {
      const json = readFileSync(tmp, 'utf8');
      found = cellMessages(json, source) ?? firstFailure(json);
    }
    rmSync(tmp, { force: true });
    runs.push({ notebook: name, ok: false, seconds, error: found?.message });
    throw new EmolabError('report', `notebook ${name}, code cell ${found?.cell ?? '?'} failed:\n--- cell ---\n${source.trim()}\n--- error ---\n${found?.message ?? '(no message recorded)'}`, { file: nb });
  }
  return runs;
}
