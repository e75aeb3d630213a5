/**
 * `emolab report`: rebuild every SER result table (results/*.csv, results/*.md) and figure
 * (figures/*.html|png|svg) from the fine-tuning records under runs/ser, without retraining.
 */
import { flagString, parseArgs } from '../cli/args';
import { closeFigureExporter } from './export';
import { requireSerReports, type SerReport } from './ser';
import { exportReference, referenceRoot } from './reference';
import { readFailures, tableFailures } from '../finetune/experiment';
import { runsRoot } from '../paths';
import { resolve } from 'node:path';
import { writeExplorer } from './explorer';

export const REPORT_USAGE = [
  'emolab report [--experiment NAME] [--reference] [--no-figures]',
  '  rebuild the tables (results/) and figures (figures/) from the per-model records under $EMOLAB_RUNS/ser,',
  '  or, with --reference, from the committed reference run in results/reference/ (no training).',
  'emolab report --html [--reference] [--out FILE]',
  '  write one self-contained interactive results page (default results/explorer.html; plotly inlined, no network):',
  '  every experiment under $EMOLAB_RUNS (or results/reference), filters by corpus, profile, arm, mode, fold, seed.',
  'emolab report --export-reference NAME',
  '  copy experiment NAME\'s records (no checkpoints, machine paths replaced) into results/reference/.',
].join('\n');

/** Console text of one report: the markdown table and where everything was written. */
export function reportSummary(rep: SerReport): string {
  const figs = rep.figures.flatMap((f) => [f.html, f.png, f.svg].filter((p): p is string => Boolean(p)));
  const skipped = rep.figures.find((f) => f.exportSkipped)?.exportSkipped;
  return [
    rep.markdown.trim(),
    '',
    `tables:  ${rep.files.csv}`,
    `         ${rep.files.perClassCsv}`,
    `         ${rep.files.markdown}`,
    ...(figs.length ? [`figures: ${figs.join('\n         ')}`] : []),
    ...(skipped ? [`PNG/SVG export skipped: ${skipped}`] : []),
  ].join('\n');
}

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
    const reports = requireSerReports({ experiment, root, figures: !args.flags['no-figures'] }, failures);
    for (const rep of reports) console.log(`\n${reportSummary(rep)}\n`);
  } finally {
    await closeFigureExporter();
  }
  return 0;
}
