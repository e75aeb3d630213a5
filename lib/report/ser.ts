/**
 * SER result tables and figures, laid out as Goncalves & Busso's table: rows = baseline, each
 * pretext task, their combination; columns = macro precision, recall, F1 (the paper's) and UA/WA
 * (Li et al.'s), as mean ± std over seeds x folds, with the F1 95% bootstrap CI, the relative change
 * against the baseline and the paired test's p-value; the paper's reported relative gains sit beside
 * ours. Built from runs/ser/** alone (lib/finetune/results.ts), so `emolab report` never retrains.
 *
 * Outputs per (experiment, mode): results/ser_<experiment>_<mode>.csv (one row per arm),
 * results/ser_<experiment>_<mode>_per_class.csv, results/ser_<experiment>_<mode>.md, and figures
 * figures/ser_<experiment>_<mode>_{metrics,gain,confusion,per_class}.{html,png,svg}.
 */
import { join } from 'node:path';
import { aggregateArms, type ArmAggregate } from '../eval/aggregate';
import { METRIC_NAMES, normalizeRows, type MetricName } from '../eval/metrics';
import { EmolabError } from '../errors';
import { ARM_LABELS, ARMS, listFoldResults, serRoot, toEvaluated, type FoldResult } from '../finetune/results';
import { resultsDir } from '../paths';
import { writeFileAtomic } from '../store/atomic';
import { showFigure, type ShownFigure } from './figures';

/** What the paper reports, verbatim from its abstract; per-row values are in its Table and not transcribed here. */
export const PAPER_CLAIMS = {
  citation: 'L. Goncalves and C. Busso, "Improving Speech Emotion Recognition Using Self-Supervised Learning with Domain-Specific Audiovisual Tasks", Interspeech 2022',
  corpus: 'CREMA-D',
  statement: 'relative improvements of up to 5.1% (precision), 4.5% (recall) and 4.9% (F1-score) over the model without pretraining',
  relativeGainPct: { precision: 5.1, recall: 4.5, f1: 4.9 } as Partial<Record<MetricName, number>>,
} as const;

export const METRIC_LABELS: Readonly<Record<MetricName, string>> = { precision: 'Precision', recall: 'Recall', f1: 'F1', ua: 'UA', wa: 'WA' };

export interface SerTableRow {
  arm: string;
  label: string;
  runs: number;
  seeds: number;
  folds: number;
  mean: Record<MetricName, number>;
  std: Record<MetricName, number>;
  f1Ci: [number, number];
  /** 100 * (mean(arm) - mean(baseline)) / mean(baseline), per metric. */
  relGainPct?: Record<MetricName, number>;
  /** Paired randomization test p-value against the baseline, per metric. */
  pValue?: Record<MetricName, number>;
  /** Paired-bootstrap 95% CI of the pooled F1 difference, percentage points. */
  f1DeltaCi?: [number, number];
}

export interface SerReport {
  experiment: string;
  mode: string;
  protocol: string;
  classes: string[];
  /** 'smoke-test' when any run used EMOLAB_PROFILE=ci. */
  scale: 'smoke-test' | 'full';
  rows: SerTableRow[];
  aggregates: ArmAggregate[];
  csv: string;
  perClassCsv: string;
  markdown: string;
  files: { csv: string; perClassCsv: string; markdown: string };
  figures: ShownFigure[];
}

const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');
const signed = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);
const pctOrDash = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${signed(x)}%`);
const pFmt = (p: number | undefined): string => (p === undefined ? '—' : p < 0.001 ? '<0.001' : p.toFixed(3));

export function tableRows(aggs: ArmAggregate[], baseline = 'baseline'): SerTableRow[] {
  const base = aggs.find((a) => a.arm === baseline);
  return aggs.map((a) => {
    const mean = Object.fromEntries(METRIC_NAMES.map((m) => [m, a.perRun[m].mean])) as Record<MetricName, number>;
    const std = Object.fromEntries(METRIC_NAMES.map((m) => [m, a.perRun[m].std])) as Record<MetricName, number>;
    const row: SerTableRow = {
      arm: a.arm, label: (ARM_LABELS as Record<string, string>)[a.arm] ?? a.arm,
      runs: a.runs, seeds: a.seeds.length, folds: a.folds.length, mean, std, f1Ci: [a.ci.f1.low, a.ci.f1.high],
    };
    if (base && a.arm !== baseline) {
      row.relGainPct = Object.fromEntries(METRIC_NAMES.map((m) => [m, base.perRun[m].mean === 0 ? NaN : (100 * (mean[m] - base.perRun[m].mean)) / base.perRun[m].mean])) as Record<MetricName, number>;
      if (a.vsBaseline) {
        row.pValue = Object.fromEntries(METRIC_NAMES.map((m) => [m, a.vsBaseline![m].pValue])) as Record<MetricName, number>;
        row.f1DeltaCi = [100 * a.vsBaseline.f1.ci.low, 100 * a.vsBaseline.f1.ci.high];
      }
    }
    return row;
  });
}

const csvCell = (v: string | number): string => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(+v.toFixed(6)) : '') : v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function rowsToCsv(rows: SerTableRow[]): string {
  const head = ['arm', 'label', 'runs', 'seeds', 'folds',
    ...METRIC_NAMES.flatMap((m) => [`${m}_mean`, `${m}_std`]), 'f1_ci95_low', 'f1_ci95_high',
    ...METRIC_NAMES.map((m) => `${m}_rel_gain_pct`), ...METRIC_NAMES.map((m) => `${m}_p_value`),
    'f1_delta_ci95_low_pp', 'f1_delta_ci95_high_pp', 'paper_rel_gain_pct_precision', 'paper_rel_gain_pct_recall', 'paper_rel_gain_pct_f1'];
  const lines = rows.map((r) => [r.arm, r.label, r.runs, r.seeds, r.folds,
    ...METRIC_NAMES.flatMap((m) => [r.mean[m], r.std[m]]), r.f1Ci[0], r.f1Ci[1],
    ...METRIC_NAMES.map((m) => r.relGainPct?.[m] ?? NaN), ...METRIC_NAMES.map((m) => r.pValue?.[m] ?? NaN),
    r.f1DeltaCi?.[0] ?? NaN, r.f1DeltaCi?.[1] ?? NaN,
    // the paper gives "up to" gains for its best configuration only, not per row
    '', '', ''].map(csvCell).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

export function perClassCsv(aggs: ArmAggregate[], classes: string[]): string {
  const head = ['arm', ...classes.map((c) => `recall_${c}`), ...classes.map((c) => `support_${c}`)];
  const lines = aggs.map((a) => [a.arm, ...a.pooled.perClassRecall, ...a.pooled.support].map(csvCell).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** The main table as Markdown (values in %). */
export function rowsToMarkdown(rows: SerTableRow[]): string {
  const head = '| Pretraining | Precision | Recall | F1 | UA | WA | F1 95% CI | ΔP rel. | ΔR rel. | ΔF1 rel. | p (F1) |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => `| ${r.label} | ${METRIC_NAMES.map((m) => `${pct(r.mean[m])} ± ${pct(r.std[m])}`).join(' | ')} | ${pct(r.f1Ci[0])}–${pct(r.f1Ci[1])} | ${pctOrDash(r.relGainPct?.precision)} | ${pctOrDash(r.relGainPct?.recall)} | ${pctOrDash(r.relGainPct?.f1)} | ${pFmt(r.pValue?.f1)} |`);
  return [head, sep, ...lines].join('\n');
}

/** Paper's "up to" relative gains next to our best arm's, per metric. */
export function claimsMarkdown(rows: SerTableRow[]): string {
  const lines = (['precision', 'recall', 'f1'] as MetricName[]).map((m) => {
    const cands = rows.filter((r) => r.relGainPct && Number.isFinite(r.relGainPct[m]));
    const best = cands.sort((a, b) => b.relGainPct![m] - a.relGainPct![m])[0];
    const ours = best ? `${signed(best.relGainPct![m])}% (${best.label}; p = ${pFmt(best.pValue?.[m])})` : 'no pretrained arm yet';
    return `| ${METRIC_LABELS[m]} | +${PAPER_CLAIMS.relativeGainPct[m]}% | ${ours} |`;
  });
  return ['| Metric | Paper: best relative gain (CREMA-D) | Ours: best relative gain (arm; paired p) |', '|---|---|---|', ...lines].join('\n');
}

function scaleOf(records: FoldResult[]): 'smoke-test' | 'full' {
  return records.some((r) => (r.runInfo as { profile?: string } | undefined)?.profile === 'ci') ? 'smoke-test' : 'full';
}

function reportMarkdown(rep: Omit<SerReport, 'markdown' | 'files' | 'figures' | 'csv' | 'perClassCsv'>, records: FoldResult[]): string {
  const first = records[0];
  const scaleNote = rep.scale === 'smoke-test'
    ? '> **SMOKE-TEST SCALE (EMOLAB_PROFILE=ci).** Tiny model, a few epochs, few seeds/folds. These numbers check that the pipeline runs end to end; they are **not** a reproduction of the paper and must not be compared with it as such.\n'
    : '';
  const cfg = first.config as Record<string, unknown>;
  return [
    `# SER results: ${rep.experiment}, ${rep.mode} fine-tuning`,
    '',
    scaleNote,
    `Protocol: ${rep.protocol}; classes: ${rep.classes.join(', ')}; metrics in %, mean ± std over seeds x folds (${rep.rows[0]?.runs ?? 0} models per arm).`,
    `Encoder preset: ${String(cfg.preset ?? '?')}; epochs: ${String(cfg.epochs ?? '?')}; class-balanced sampling: ${String(cfg.classBalanced ?? '?')}.`,
    '',
    rowsToMarkdown(rep.rows),
    '',
    'F1 95% CI: percentile bootstrap over the pooled test predictions (all seeds and folds). ΔX rel.: relative change of the mean against the baseline. p (F1): two-sided approximate randomization test, pairing each (seed, fold, utterance) of the arm with the baseline\'s.',
    '',
    '## The paper\'s claim next to ours',
    '',
    `${PAPER_CLAIMS.citation} report ${PAPER_CLAIMS.statement} on ${PAPER_CLAIMS.corpus}.`,
    '',
    claimsMarkdown(rep.rows),
    '',
  ].join('\n');
}

function figureBase(experiment: string, mode: string): string {
  return `ser_${experiment}_${mode}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** The plotly figures of one report (shown inline in a notebook; HTML + PNG/SVG under figures/). */
export function serFigures(rep: Pick<SerReport, 'experiment' | 'mode' | 'classes' | 'rows' | 'aggregates' | 'scale'>): ShownFigure[] {
  const base = figureBase(rep.experiment, rep.mode);
  const tag = rep.scale === 'smoke-test' ? ' [smoke-test scale]' : '';
  const out: ShownFigure[] = [];
  out.push(showFigure({
    data: rep.rows.map((r) => ({
      type: 'bar', name: r.label, x: METRIC_NAMES.map((m) => METRIC_LABELS[m]), y: METRIC_NAMES.map((m) => 100 * r.mean[m]),
      error_y: { type: 'data', array: METRIC_NAMES.map((m) => 100 * r.std[m]), visible: true },
    })),
    layout: { barmode: 'group', yaxis: { title: { text: '% (mean ± std over seeds x folds)' } }, legend: { orientation: 'h' } },
  }, `${base}_metrics`, `SER ${rep.experiment} (${rep.mode} fine-tuning): metrics per pretraining${tag}`));
  const pretrained = rep.aggregates.filter((a) => a.vsBaseline);
  const baseArm = rep.aggregates.find((a) => a.arm === 'baseline');
  if (pretrained.length > 0) {
    const ms: MetricName[] = ['precision', 'recall', 'f1'];
    out.push(showFigure({
      data: [
        ...pretrained.map((a) => {
          const row = rep.rows.find((r) => r.arm === a.arm)!;
          return {
            type: 'bar', name: row.label, x: ms.map((m) => METRIC_LABELS[m]), y: ms.map((m) => a.vsBaseline![m].delta * 100),
            error_y: { type: 'data', symmetric: false, array: ms.map((m) => 100 * (a.vsBaseline![m].ci.high - a.vsBaseline![m].delta)), arrayminus: ms.map((m) => 100 * (a.vsBaseline![m].delta - a.vsBaseline![m].ci.low)) },
          };
        }),
        ...(baseArm ? [{
          type: 'scatter', mode: 'markers', name: "paper's best relative gain, applied to our baseline",
          x: ms.map((m) => METRIC_LABELS[m]), y: ms.map((m) => (PAPER_CLAIMS.relativeGainPct[m] ?? 0) * baseArm.pooled[m]),
          marker: { symbol: 'diamond', size: 12, color: 'black' },
        }] : []),
      ],
      layout: { barmode: 'group', yaxis: { title: { text: 'difference to baseline, percentage points (95% paired-bootstrap CI)' }, zeroline: true }, legend: { orientation: 'h' } },
    }, `${base}_gain`, `Pretrained minus baseline (pooled predictions)${tag}`));
  }
  const n = rep.aggregates.length;
  out.push(showFigure({
    data: rep.aggregates.map((a, i) => ({
      type: 'heatmap', z: normalizeRows(a.confusion).map((row) => row.map((x) => +(100 * x).toFixed(1))), x: rep.classes, y: rep.classes,
      colorscale: 'Blues', reversescale: true, zmin: 0, zmax: 100, showscale: i === n - 1, xaxis: `x${i === 0 ? '' : i + 1}`, yaxis: `y${i === 0 ? '' : i + 1}`,
      texttemplate: '%{z:.0f}', hovertemplate: 'true %{y}<br>predicted %{x}<br>%{z:.1f}%<extra></extra>',
    })),
    layout: {
      grid: { rows: 1, columns: n, pattern: 'independent' },
      annotations: rep.aggregates.map((a, i) => ({ text: (ARM_LABELS as Record<string, string>)[a.arm] ?? a.arm, xref: `x${i === 0 ? '' : i + 1} domain`, yref: 'paper', x: 0.5, y: 1.08, showarrow: false, font: { size: 11 } })),
      ...Object.fromEntries(rep.aggregates.flatMap((_, i) => [[`yaxis${i === 0 ? '' : i + 1}`, { autorange: 'reversed', showticklabels: i === 0 }], [`xaxis${i === 0 ? '' : i + 1}`, { tickangle: 45 }]])),
      width: Math.max(700, 330 * n), height: 420,
    },
  }, `${base}_confusion`, `Confusion matrices, row-normalised % (true class = row)${tag}`));
  out.push(showFigure({
    data: rep.aggregates.map((a) => ({ type: 'bar', name: (ARM_LABELS as Record<string, string>)[a.arm] ?? a.arm, x: rep.classes, y: a.pooled.perClassRecall.map((x) => 100 * x) })),
    layout: { barmode: 'group', yaxis: { title: { text: 'recall % (pooled over seeds and folds)' } }, legend: { orientation: 'h' } },
  }, `${base}_per_class`, `Per-class recall${tag}`));
  return out;
}

export interface BuildReportOptions {
  root?: string;
  experiment?: string;
  /** Write results/*.csv|md (default true). */
  write?: boolean;
  /** Make figures (default true). */
  figures?: boolean;
  outDir?: string;
  bootstrap?: number;
  permutations?: number;
}

/** Every (experiment, mode) found under runs/ser, aggregated, written and drawn. */
export function buildSerReports(opts: BuildReportOptions = {}): SerReport[] {
  const all = listFoldResults({ root: opts.root, experiment: opts.experiment });
  const groups = new Map<string, FoldResult[]>();
  for (const r of all) groups.set(`${r.experiment}\u0000${r.mode}`, [...(groups.get(`${r.experiment}\u0000${r.mode}`) ?? []), r]);
  const reports: SerReport[] = [];
  for (const records of groups.values()) {
    const { experiment, mode, protocol, classes } = records[0];
    const aggregates = aggregateArms(records.map(toEvaluated), [...ARMS], { bootstrap: opts.bootstrap, permutations: opts.permutations });
    const rows = tableRows(aggregates);
    const partial = { experiment, mode, protocol, classes, scale: scaleOf(records), rows, aggregates };
    const markdown = reportMarkdown(partial, records);
    const csv = rowsToCsv(rows);
    const pcCsv = perClassCsv(aggregates, classes);
    const dir = opts.outDir ?? resultsDir();
    const stem = join(dir, figureBase(experiment, mode));
    const files = { csv: `${stem}.csv`, perClassCsv: `${stem}_per_class.csv`, markdown: `${stem}.md` };
    if (opts.write !== false) {
      writeFileAtomic(files.csv, csv);
      writeFileAtomic(files.perClassCsv, pcCsv);
      writeFileAtomic(files.markdown, markdown);
    }
    const figures = opts.figures === false ? [] : serFigures(partial);
    reports.push({ ...partial, csv, perClassCsv: pcCsv, markdown, files, figures });
  }
  return reports;
}

/** Like buildSerReports, but a clear error when runs/ser holds nothing (yet). */
export function requireSerReports(opts: BuildReportOptions = {}): SerReport[] {
  const reps = buildSerReports(opts);
  if (reps.length === 0) {
    throw new EmolabError('report', `no SER fine-tuning results under ${serRoot(opts.root)}${opts.experiment ? ` for experiment "${opts.experiment}"` : ''}`, {
      hint: 'run notebook 08 (or `npx emolab finetune`) first; `npm start` runs the whole chain',
    });
  }
  return reps;
}
