/**
 * SER reports: the result tables (./serTables) and figures (./serFigures) of every experiment, laid out as Goncalves & Busso's table: rows = baseline, each
 * pretext task, their combination (and, when present, the non-neural "functionals" reference);
 * columns = macro precision, recall, F1 (the paper's) and UA/WA (Li et al.'s). Built from
 * runs/ser/** alone (lib/finetune/results.ts), so `emolab report` never retrains.
 *
 * What the numbers are (lib/eval/aggregate, lib/eval/stats):
 * - "pooled": metrics of the seed-ensembled predictions (per utterance, class probabilities
 *   averaged over seeds, argmax), all folds pooled; 95% CI = cluster bootstrap over test speakers;
 * - "fold mean ± sd": per fold the metric averaged over that fold's seeds, then mean and standard
 *   deviation over folds; with a single fold the mean alone is printed ("n=1"), never "± 0.0";
 * - Δ vs baseline: pooled arm minus pooled baseline, in points and relative ("+1.2 pts (+2.3%)");
 *   p: paired randomization test with the test SPEAKER as exchangeable unit (exact enumeration of
 *   all 2^speakers swaps when that is <= 4096); CI of Δ: paired cluster bootstrap over speakers;
 *   "Δ needed": the 95th percentile of |Δ*| under that randomization null, i.e. the smallest
 *   difference these speakers could show at p < 0.05; plus the same between single seeds of the
 *   baseline (the seed-to-seed noise floor).
 * Failed models (an optional list) are counted per arm and listed in a footnote.
 *
 * Outputs per (experiment, mode), in the experiment's own folders (lib/paths experimentOutputs:
 * $EMOLAB_RUNS/ser/<experiment>/tables and .../figures, or DIR/tables and DIR/figures with `out`):
 * tables/ser_<experiment>_<mode>.csv (one row per arm), tables/ser_<experiment>_<mode>_per_class.csv,
 * tables/ser_<experiment>_<mode>.md, and figures/ser_<experiment>_<mode>_{metrics,gain,confusion,per_class}.{html,png,svg}.
 * Every corpus (EmoDB, CREMA-D, a folder corpus, a cross-corpus pair) gets the same layout.
 */
import { join } from 'node:path';
import { aggregateArms, REFERENCE_ARMS, type EvaluatedFold } from '../eval/aggregate';
import { speakersFromTestList } from '../eval/ensemble';
import { EmolabError } from '../errors';
import { listFoldResults, serRoot, type FoldResult } from '../finetune/results';
import { experimentOutputs } from '../paths';
import { writeFileAtomic } from '../atomic';
import { perClassCsv, reportMarkdown, rowsToCsv, scaleOf, SER_ARM_ORDER, tableRows, type SerFailure, type SerReport } from './serTables';
import { figureBase, serFigures } from './serFigures';

export * from './serTables';
export * from './serFigures';

export interface BuildReportOptions {
  root?: string;
  experiment?: string;
  /** Write the tables (default true). */
  write?: boolean;
  /** Make figures (default true). */
  figures?: boolean;
  /** Tables go here (default: the experiment's tables folder, see `out`). */
  outDir?: string;
  /** Tables and figures go to DIR/tables and DIR/figures (the CLI's --out); default $EMOLAB_RUNS/ser/<experiment>/. */
  out?: string;
  /** Runs folder whose ser/<experiment>/ receives the outputs (default `root`; `report --reference` writes under $EMOLAB_RUNS/reference). */
  outputsRoot?: string;
  bootstrap?: number;
  permutations?: number;
  /** Seed of the resampling (bootstrap and sampled randomization). */
  seed?: number;
  /** Enumerate the randomization exactly when 2^speakers <= exactLimit (default 4096). */
  exactLimit?: number;
  /** Models that failed (also accepted as the second argument of buildSerReports). */
  failures?: SerFailure[];
  /**
   * Records to add to those under runs/ser (e.g. the functionals reference computed in memory);
   * FoldResult-shaped, only experiment, mode, protocol, arm, seed, fold, classes and test are needed.
   */
  extraRecords?: FoldResult[];
}

/**
 * The part of a fold result that evaluation needs, with class probabilities and the test speaker
 * of each utterance (the record's own `test.speakers` when present, else matched to `speakers.test`).
 */
export function evaluatedFromResult(r: FoldResult): EvaluatedFold {
  const t = r.test as FoldResult['test'] & { speakers?: string[] };
  const own = Array.isArray(t.speakers) && t.speakers.length === t.ids.length ? t.speakers : undefined;
  return {
    arm: r.arm, seed: r.seed, fold: r.fold, classes: r.classes, ids: t.ids, truth: t.truth, pred: t.pred,
    probs: Array.isArray(t.probs) && t.probs.length === t.ids.length ? t.probs : undefined,
    speakers: own ?? speakersFromTestList(t.ids, r.speakers?.test ?? []),
  };
}

/** Reference arms (functionals) do not depend on the fine-tuning mode: they join every mode's table. */
function groupRecords(all: FoldResult[]): FoldResult[][] {
  const isRef = (r: FoldResult): boolean => REFERENCE_ARMS.includes(r.arm);
  const key = (r: FoldResult): string => `${r.experiment}\u0000${r.mode}`;
  const groups = new Map<string, FoldResult[]>();
  for (const r of all.filter((x) => !isRef(x))) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const refs = all.filter(isRef);
  for (const [k, records] of groups) {
    const [experiment, mode] = k.split('\u0000');
    for (const arm of new Set(refs.filter((r) => r.experiment === experiment).map((r) => r.arm))) {
      const mine = refs.filter((r) => r.experiment === experiment && r.arm === arm);
      const sameMode = mine.filter((r) => r.mode === mode);
      const modes = [...new Set(mine.map((r) => r.mode))].sort();
      records.push(...(sameMode.length ? sameMode : mine.filter((r) => r.mode === modes[0])));
    }
  }
  // an experiment with only reference records still gets its tables (one per mode)
  const covered = new Set([...groups.values()].map((g) => g[0].experiment));
  for (const r of refs.filter((x) => !covered.has(x.experiment))) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()];
}

/**
 * Every (experiment, mode) found under runs/ser (plus `opts.extraRecords`), aggregated, written and
 * drawn. `failures` (or `opts.failures`): models that failed, counted per arm and listed.
 */
export function buildSerReports(opts: BuildReportOptions = {}, failures: SerFailure[] = []): SerReport[] {
  const all = [...listFoldResults({ root: opts.root, experiment: opts.experiment }), ...(opts.extraRecords ?? []).filter((r) => !opts.experiment || r.experiment === opts.experiment)];
  const allFailures = [...(opts.failures ?? []), ...failures];
  const reports: SerReport[] = [];
  for (const records of groupRecords(all)) {
    const { experiment, mode, protocol, classes } = records.find((r) => !REFERENCE_ARMS.includes(r.arm)) ?? records[0];
    const fails = allFailures.filter((f) => f.mode === mode && (f.experiment === undefined || f.experiment === experiment));
    const aggregates = aggregateArms(records.map(evaluatedFromResult), [...SER_ARM_ORDER], { bootstrap: opts.bootstrap, permutations: opts.permutations, seed: opts.seed, exactLimit: opts.exactLimit });
    const rows = tableRows(aggregates, 'baseline', fails);
    const noiseFloor = aggregates.find((a) => a.arm === 'baseline')?.noiseFloor ?? [];
    const partial = { experiment, mode, protocol, classes, scale: scaleOf(records), rows, aggregates, failures: fails, noiseFloor };
    const markdown = reportMarkdown(partial, records);
    const csv = rowsToCsv(rows);
    const pcCsv = perClassCsv(aggregates, classes);
    const outs = experimentOutputs(experiment, { root: opts.outputsRoot ?? opts.root, out: opts.out });
    const outputs = { tables: opts.outDir ?? outs.tables, figures: outs.figures };
    const stem = join(outputs.tables, figureBase(experiment, mode));
    const files = { csv: `${stem}.csv`, perClassCsv: `${stem}_per_class.csv`, markdown: `${stem}.md` };
    if (opts.write !== false) {
      writeFileAtomic(files.csv, csv);
      writeFileAtomic(files.perClassCsv, pcCsv);
      writeFileAtomic(files.markdown, markdown);
    }
    const figures = opts.figures === false ? [] : serFigures({ ...partial, outputs });
    reports.push({ ...partial, csv, perClassCsv: pcCsv, markdown, files, outputs, figures });
  }
  return reports;
}

/** Like buildSerReports, but a clear error when runs/ser holds nothing (yet). */
export function requireSerReports(opts: BuildReportOptions = {}, failures: SerFailure[] = []): SerReport[] {
  const reps = buildSerReports(opts, failures);
  if (reps.length === 0) {
    throw new EmolabError('report', `no SER fine-tuning results under ${serRoot(opts.root)}${opts.experiment ? ` for experiment "${opts.experiment}"` : ''}`, {
      hint: 'run notebook 08 (or `npx emolab finetune`) first; `npm start` runs the whole chain',
    });
  }
  return reps;
}

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
