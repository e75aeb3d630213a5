/**
 * Headless execution of the notebooks, in order, with Jupyter's nbconvert and the committed tslab
 * kernelspec (.jupyter/kernels/tslab). A failing notebook stops the run and the error printed is the
 * failing cell's own message (tslab puts it in the cell's stderr; nbconvert alone shows "<Error>:").
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EmolabError } from '../errors';
import { repoRoot } from '../paths';

export const notebooksDir = (): string => join(repoRoot, 'notebooks');

/** notebooks/*.ipynb sorted by name (00_…, 01_…), optionally filtered by prefix or name. */
export function listNotebooks(only?: string[]): string[] {
  const all = readdirSync(notebooksDir()).filter((f) => f.endsWith('.ipynb')).sort();
  const picked = only?.length ? all.filter((f) => only.some((o) => f.startsWith(o) || f === o)) : all;
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

/**
 * Execute each notebook in place. Stops at the first failure and throws an EmolabError carrying the
 * failing cell's message. `timeoutS` bounds each cell.
 */
export function runNotebooks(paths: string[], opts: { timeoutS?: number; log?: (s: string) => void } = {}): NotebookRun[] {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const runs: NotebookRun[] = [];
  for (const nb of paths) {
    const name = basename(nb);
    const tmp = join(tmpdir(), `emolab-nb-${process.pid}-${name}`);
    const t0 = Date.now();
    log(`notebook ${name} ...`);
    const r = spawnSync('jupyter', [
      'nbconvert', '--to', 'notebook', '--execute', '--allow-errors',
      `--ExecutePreprocessor.timeout=${opts.timeoutS ?? 1800}`, '--ExecutePreprocessor.kernel_name=tslab',
      '--output', tmp, nb,
    ], { cwd: repoRoot, env: { ...process.env, JUPYTER_PATH: join(repoRoot, '.jupyter') }, encoding: 'utf8' });
    const seconds = (Date.now() - t0) / 1000;
    if (r.error || r.status !== 0) {
      rmSync(tmp, { force: true });
      const why = r.error ? r.error.message : (r.stderr ?? '').split('\n').slice(-20).join('\n');
      throw new EmolabError('report', `notebook ${name} could not be executed:\n${why}`, {
        file: nb, hint: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ? 'install Jupyter: apt-get install jupyter-nbconvert python3-nbclient jupyter-client' : undefined,
      });
    }
    const failure = firstFailure(readFileSync(tmp, 'utf8'));
    if (failure) {
      rmSync(tmp, { force: true });
      runs.push({ notebook: name, ok: false, seconds, error: failure.message });
      throw new EmolabError('report', `notebook ${name}, code cell ${failure.cell} failed:\n--- cell ---\n${failure.source.trim()}\n--- error ---\n${failure.message}`, { file: nb });
    }
    copyFileSync(tmp, nb);
    rmSync(tmp, { force: true });
    log(`notebook ${name} ok (${seconds.toFixed(1)} s)`);
    runs.push({ notebook: name, ok: true, seconds });
  }
  return runs;
}
