/**
 * The committed reference run: the small result records of one experiment, copied from the runs
 * folder into the tracked `results/reference/` (no checkpoints, no features), with machine paths
 * replaced by `$EMOLAB_RUNS` / `$EMOLAB_DATA` / `$EMOLAB_MODELS`, so that `npx emolab report
 * --reference` (and notebook 10) rebuild every table and figure of that run without training.
 *
 *   results/reference/ser/<experiment>/**.json     per-model records, pretraining.json, failures.json, run.json
 *   results/reference/<run>/run.json               the pretraining runs the arms started from
 *   results/reference/tables/                      the result tables of that run (ser_<experiment>_*, hflea_*)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { EmolabError } from '../errors';
import { dataRoot, experimentOutputs, modelsRoot, repoRoot, resultsDir, runsRoot } from '../paths';

export const referenceRoot = (): string => join(resultsDir(), 'reference');

function scrubber(root: string): (text: string) => string {
  const pairs: [string, string][] = [[root, '$EMOLAB_RUNS'], [modelsRoot(), '$EMOLAB_MODELS'], [dataRoot(), '$EMOLAB_DATA'], [repoRoot, '.']];
  pairs.sort((a, b) => b[0].length - a[0].length);
  return (text) => pairs.reduce((acc, [from, to]) => acc.split(from).join(to), text);
}

function jsonFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) jsonFiles(p, out);
    else if (name.endsWith('.json') && !name.includes('.tmp')) out.push(p);
  }
  return out;
}

/**
 * Copy experiment `experiment`'s records (and the run.json of every pretraining run its models
 * started from) from `root` into `dest`, replacing what an earlier export of it left there.
 * Returns the files written.
 */
export function exportReference(experiment: string, root: string = runsRoot(), dest: string = referenceRoot()): string[] {
  const src = join(root, 'ser', experiment);
  if (!existsSync(src)) throw new EmolabError('report', `no SER records of experiment "${experiment}" to export`, { file: src, hint: 'run npm start (or npx emolab finetune) first' });
  const scrub = scrubber(root);
  const out = join(dest, 'ser', experiment);
  rmSync(out, { recursive: true, force: true });
  // Only this experiment's SER tables are replaced: notebook 09's HFLEA tables (hflea_*) stay unless a newer copy is exported below.
  const destTables = join(dest, 'tables');
  if (existsSync(destTables)) for (const f of readdirSync(destTables)) if (f.startsWith(`ser_${experiment}_`)) rmSync(join(destTables, f), { force: true });
  const written: string[] = [];
  const runs = new Set<string>();
  for (const file of jsonFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const target = join(out, relative(src, file));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, scrub(text));
    written.push(target);
    try {
      const init = (JSON.parse(text) as { init?: { kind?: string; run?: string } }).init;
      if (init?.kind === 'pretrained' && init.run && /^[A-Za-z0-9_.+-]+$/.test(init.run) && !init.run.startsWith('.')) runs.add(init.run);
    } catch { /* not a record */ }
  }
  // The tables that `emolab report` wrote for this experiment (and notebook 09's HFLEA table).
  // SER tables live in the experiment's own tables folder (lib/paths experimentOutputs); HFLEA's in results/.
  const serTables = experimentOutputs(experiment, { root }).tables;
  const tables = [
    ...(existsSync(serTables) ? readdirSync(serTables).filter((f) => f.startsWith(`ser_${experiment}_`) && /\.(md|csv)$/.test(f)).map((f) => join(serTables, f)) : []),
    ...(existsSync(resultsDir()) ? readdirSync(resultsDir()).filter((f) => (f.startsWith(`ser_${experiment}_`) || f.startsWith('hflea_')) && /\.(md|csv)$/.test(f)).map((f) => join(resultsDir(), f)) : []),
  ];
  const seen = new Set<string>();
  for (const file of tables) {
    const f = basename(file);
    if (seen.has(f)) continue; // the experiment's own copy wins over an older one in results/
    seen.add(f);
    const target = join(dest, 'tables', f);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, scrub(readFileSync(file, 'utf8')));
    written.push(target);
  }
  for (const run of [...runs].sort()) {
    const file = join(root, run, 'run.json');
    if (!existsSync(file)) continue;
    const target = join(dest, run, 'run.json');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, scrub(readFileSync(file, 'utf8')));
    written.push(target);
  }
  return written;
}
