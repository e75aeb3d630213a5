/**
 * `emolab report`: rebuild every SER result table (*.csv, *.md) and figure (*.html|png|svg) from the
 * fine-tuning records under runs/ser, without retraining, into each experiment's own folders
 * ($EMOLAB_RUNS/ser/<experiment>/tables and .../figures; lib/paths experimentOutputs), or --out DIR.
 */
import { flagString, parseArgs } from '../args';
import { closeFigureExporter } from '../show/export';
import { reportSummary, requireSerReports } from './ser';
import { exportReference, referenceRoot } from './reference';
import { readFailures, tableFailures } from '../finetune/failures';
import { assertWritable, runsRoot } from '../paths';
import { join, resolve } from 'node:path';
import { writeExplorer } from './explorer';

export const REPORT_USAGE = [
  'emolab report [--experiment NAME] [--reference] [--no-figures] [--out DIR]',
  '  rebuild the tables and figures from the per-model records under $EMOLAB_RUNS/ser (every corpus, cross-corpus',
  '  pairs included), into each experiment\'s $EMOLAB_RUNS/ser/<experiment>/tables and .../figures (or DIR/tables, DIR/figures);',
  '  with --reference, from the committed reference run in results/reference/ (no training), into $EMOLAB_RUNS/reference/ser/<experiment>/.',
  'emolab report --html [--reference] [--out FILE]',
  '  write one self-contained interactive results page (default results/explorer.html; plotly inlined, no network):',
  '  every experiment under $EMOLAB_RUNS (or results/reference), filters by corpus, profile, arm, mode, fold, seed.',
  'emolab report --export-reference NAME',
  '  copy experiment NAME\'s records (no checkpoints, machine paths replaced) into results/reference/.',
].join('\n');

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('report', argv, { values: ['experiment', 'export-reference', 'out'], booleans: ['no-figures', 'reference', 'html'] });
  if (args.flags.help) { console.log(REPORT_USAGE); return 0; }
  const exp = flagString(args, 'export-reference');
  if (exp) {
    const files = exportReference(exp);
    console.log(`${files.length} files written to ${referenceRoot()}`);
    return 0;
  }
  const root = args.flags.reference ? referenceRoot() : runsRoot();
  if (args.flags.html) {
    const out = flagString(args, 'out');
    const { file, data } = writeExplorer(root, out ? resolve(out) : undefined);
    console.log(`results explorer: ${data.models.length} models in ${data.groups.length} group(s), ${data.pretext.length} pretext heads -> ${file}`);
    return 0;
  }
  const experiment = flagString(args, 'experiment');
  try {
    const failures = experiment ? tableFailures(experiment, readFailures(experiment, root)) : [];
    const out = flagString(args, 'out');
    const outputsRoot = args.flags.reference ? join(runsRoot(), 'reference') : root;
    assertWritable(out ?? outputsRoot, out ? '--out' : args.flags.reference ? 'EMOLAB_RUNS (report --reference writes under EMOLAB_RUNS/reference)' : 'EMOLAB_RUNS');
    const reports = requireSerReports({ experiment, root, figures: !args.flags['no-figures'], out, outputsRoot }, failures);
    for (const rep of reports) console.log(`\n${reportSummary(rep)}\n`);
  } finally {
    await closeFigureExporter();
  }
  return 0;
}
