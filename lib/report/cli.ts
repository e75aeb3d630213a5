/**
 * `emolab report`: rebuild every SER result table (results/*.csv, results/*.md) and figure
 * (figures/*.html|png|svg) from the fine-tuning records under runs/ser, without retraining.
 */
import { flagString, parseArgs } from '../cli/args';
import { closeFigureExporter } from './export';
import { requireSerReports, type SerReport } from './ser';

export const REPORT_USAGE = 'emolab report [--experiment NAME] [--no-figures]';

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
  const args = parseArgs('report', argv, { values: ['experiment'], booleans: ['no-figures'] });
  try {
    const reports = requireSerReports({ experiment: flagString(args, 'experiment'), figures: !args.flags['no-figures'] });
    for (const rep of reports) console.log(`\n${reportSummary(rep)}\n`);
  } finally {
    await closeFigureExporter();
  }
  return 0;
}
