/**
 * The SER result tables (lib/report/ser builds them from the records): the paper's claim, arm labels,
 * the row type, number formatting, CSV, and every markdown section (the table, differences to the
 * baseline, the seed-to-seed noise floor, failures, what the data can detect, the paper's claim).
 * What the numbers are is explained in lib/report/ser.ts.
 */
import { REFERENCE_ARMS, type ArmAggregate, type SeedNoise, type StatUnit } from '../eval/aggregate';
import { METRIC_NAMES, type MetricName } from '../eval/metrics';
import { ARM_LABELS, ARMS, type FoldResult } from '../finetune/results';
import type { ShownFigure } from '../show/figures';

export const PAPER_CLAIMS = {
  citation: 'L. Goncalves and C. Busso, "Improving Speech Emotion Recognition Using Self-Supervised Learning with Domain-Specific Audiovisual Tasks", Interspeech 2022',
  corpus: 'CREMA-D',
  statement: 'relative improvements of up to 5.1% (precision), 4.5% (recall) and 4.9% (F1-score) over the model without pretraining',
  relativeGainPct: { precision: 5.1, recall: 4.5, f1: 4.9 } as Partial<Record<MetricName, number>>,
} as const;

export const METRIC_LABELS: Readonly<Record<MetricName, string>> = { precision: 'Precision', recall: 'Recall', f1: 'F1', ua: 'UA', wa: 'WA' };

/** Labels of the non-neural reference rows. */
export const REFERENCE_LABELS: Readonly<Record<string, string>> = { functionals: 'Functionals + logistic regression (reference, non-neural)' };

/** Arm order of the SER tables: the pretraining arms, then the references. */
export const SER_ARM_ORDER: readonly string[] = [...ARMS, ...REFERENCE_ARMS];

/** A model that was meant to be trained but failed (no record on disk). */
export interface SerFailure {
  arm: string;
  mode: string;
  seed: number;
  fold: string;
  message: string;
  /** When given, the failure only counts for this experiment's tables. */
  experiment?: string;
}

export const armLabel = (arm: string): string => (ARM_LABELS as Record<string, string>)[arm] ?? REFERENCE_LABELS[arm] ?? arm;

type PerMetric<T> = Record<MetricName, T>;

export interface SerTableRow {
  arm: string;
  label: string;
  /** Trained models (seed x fold) with a record. */
  runs: number;
  seeds: number;
  folds: number;
  /** Models of this arm listed as failed. */
  failed: number;
  /** A reference row (e.g. functionals), not a pretraining arm. */
  reference: boolean;
  /** Test speakers and (seed-ensembled) test utterances; the unit of the CIs and the test. */
  speakers: number;
  utterances: number;
  unit: StatUnit;
  /** Seed-ensembled predictions, all folds pooled: the metric per metric (fraction). */
  pooled: PerMetric<number>;
  /** Speaker cluster-bootstrap 95% CI of `pooled`. */
  ci: PerMetric<[number, number]>;
  /** Mean over folds of each fold's metric (itself the mean over that fold's seeds). */
  mean: PerMetric<number>;
  /** Std over folds of the same; NaN with fewer than 2 folds (nothing to print). */
  std: PerMetric<number>;
  /** = ci.f1 (kept for older callers). */
  f1Ci: [number, number];
  /** pooled(arm) - pooled(baseline), fraction (x100 = points). */
  delta?: PerMetric<number>;
  /** Paired speaker cluster-bootstrap 95% CI of delta, fraction. */
  deltaCi?: PerMetric<[number, number]>;
  /** 100 * delta / pooled(baseline), per metric. */
  relGainPct?: PerMetric<number>;
  /** Speaker-level paired randomization test p-value against the baseline, per metric. */
  pValue?: PerMetric<number>;
  /** |delta| needed for p < 0.05 (95th percentile of |delta*| under the null), fraction. */
  detectable?: PerMetric<number>;
  /** True when p was computed by exact enumeration of all 2^speakers swaps. */
  exact?: boolean;
  /** Paired-bootstrap 95% CI of the pooled F1 difference, percentage points (kept for older callers). */
  f1DeltaCi?: [number, number];
  /** Anything to say about the comparison (partial pairing, no speaker labels, no baseline). */
  note?: string;
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
  /** Failed models of this (experiment, mode). */
  failures: SerFailure[];
  /** Baseline seed-vs-seed speaker-level tests (empty with fewer than 2 seeds). */
  noiseFloor: SeedNoise[];
  csv: string;
  perClassCsv: string;
  markdown: string;
  files: { csv: string; perClassCsv: string; markdown: string };
  /** The folders its tables and figures go to. */
  outputs: { tables: string; figures: string };
  figures: ShownFigure[];
}

const fin = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
const pct = (x: number | undefined): string => (fin(x) ? (100 * x).toFixed(1) : 'n/a');
const signed = (x: number | undefined, digits = 1): string => (!fin(x) ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);
const pFmt = (p: number | undefined): string => (p === undefined || !Number.isFinite(p) ? '—' : p < 0.001 ? '<0.001' : p.toFixed(3));
const perMetric = <T>(f: (m: MetricName) => T): PerMetric<T> => Object.fromEntries(METRIC_NAMES.map((m) => [m, f(m)])) as PerMetric<T>;

/** "+1.2 pts (+2.3%)": a difference (fraction) in points with the relative change beside it. */
export function formatDelta(delta: number | undefined, relPct?: number): string {
  if (!fin(delta)) return '—';
  return `${signed(100 * delta)} pts${fin(relPct) ? ` (${signed(relPct)}%)` : ''}`;
}

/** "54.0 ± 6.1" over n >= 2 values; the mean alone with "n=1" for one; never "± 0.0" from one value. */
export function formatMeanStd(mean: number | undefined, std: number | undefined, n: number): string {
  if (!fin(mean) || n === 0) return 'n/a';
  if (n < 2 || !fin(std)) return `${pct(mean)}, n=1`;
  return `${pct(mean)} ± ${pct(std)}`;
}

/** One metric cell of the main table: pooled value, then the fold mean ± sd in parentheses. */
export function metricCell(r: SerTableRow, m: MetricName): string {
  if (r.runs === 0) return '—';
  return `${pct(r.pooled[m])} (${formatMeanStd(r.mean[m], r.std[m], r.folds)})`;
}

function emptyRow(arm: string, failed: number, reference: boolean): SerTableRow {
  const nan = perMetric(() => NaN);
  return {
    arm, label: armLabel(arm), runs: 0, seeds: 0, folds: 0, failed, reference, speakers: 0, utterances: 0, unit: 'speaker',
    pooled: nan, ci: perMetric(() => [NaN, NaN] as [number, number]), mean: nan, std: { ...nan }, f1Ci: [NaN, NaN], note: 'every model of this arm failed',
  };
}

/**
 * The table rows of an aggregate, one per arm (an arm with failures but no record gets a row of
 * its own with only its failed count). `failures` are counted per arm.
 */
export function tableRows(aggs: ArmAggregate[], baseline = 'baseline', failures: SerFailure[] = []): SerTableRow[] {
  const failedOf = (arm: string): number => failures.filter((f) => f.arm === arm).length;
  const rows = aggs.map((a) => {
    const folds = a.perFold?.f1?.n ?? a.folds.length;
    const fold = a.perFold ?? a.perRun;
    const row: SerTableRow = {
      arm: a.arm, label: armLabel(a.arm), runs: a.runs, seeds: a.seeds.length, folds: a.folds.length,
      failed: failedOf(a.arm), reference: a.reference ?? REFERENCE_ARMS.includes(a.arm),
      speakers: a.speakers?.length ?? 0, utterances: a.utterances ?? a.pooled.n, unit: a.unit ?? 'utterance',
      pooled: perMetric((m) => a.pooled[m]),
      ci: perMetric((m) => [a.ci[m].low, a.ci[m].high] as [number, number]),
      mean: perMetric((m) => fold[m].mean),
      std: perMetric((m) => (folds >= 2 ? fold[m].std : NaN)),
      f1Ci: [a.ci.f1.low, a.ci.f1.high],
    };
    if (a.arm !== baseline && a.vsBaseline) {
      const t = a.vsBaseline;
      row.delta = perMetric((m) => t[m].delta);
      row.deltaCi = perMetric((m) => [t[m].ci.low, t[m].ci.high] as [number, number]);
      row.relGainPct = perMetric((m) => t[m].relativePct);
      row.pValue = perMetric((m) => t[m].pValue);
      row.detectable = perMetric((m) => t[m].detectable);
      row.exact = t.f1.exact;
      row.f1DeltaCi = [100 * t.f1.ci.low, 100 * t.f1.ci.high];
    }
    if (a.vsBaselineNote) row.note = a.vsBaselineNote;
    return row;
  });
  // arms that failed entirely join before the first row that comes after them in the arm order
  const order = (arm: string): number => { const i = SER_ARM_ORDER.indexOf(arm); return i < 0 ? 1e9 : i; };
  const missing = [...new Set(failures.map((f) => f.arm))].filter((arm) => !aggs.some((a) => a.arm === arm)).sort((x, y) => order(x) - order(y) || x.localeCompare(y));
  for (const arm of missing) {
    const at = rows.findIndex((r) => order(r.arm) > order(arm));
    rows.splice(at < 0 ? rows.length : at, 0, emptyRow(arm, failedOf(arm), REFERENCE_ARMS.includes(arm)));
  }
  return rows;
}

const csvCell = (v: string | number | boolean | undefined): string => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(+v.toFixed(6)) : '') : v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One row per arm. Metrics as fractions; `_pp` columns in percentage points. */
export function rowsToCsv(rows: SerTableRow[]): string {
  const head = ['arm', 'label', 'reference', 'runs', 'seeds', 'folds', 'failed', 'speakers', 'utterances', 'unit',
    ...METRIC_NAMES.flatMap((m) => [`${m}_pooled`, `${m}_ci95_low`, `${m}_ci95_high`, `${m}_fold_mean`, `${m}_fold_std`]),
    ...METRIC_NAMES.flatMap((m) => [`${m}_delta_pp`, `${m}_delta_ci95_low_pp`, `${m}_delta_ci95_high_pp`, `${m}_rel_gain_pct`, `${m}_p_value`, `${m}_detectable_pp`]),
    'p_exact', 'note', 'paper_rel_gain_pct_precision', 'paper_rel_gain_pct_recall', 'paper_rel_gain_pct_f1'];
  const pp = (x: number | undefined): number => (x === undefined ? NaN : 100 * x);
  const lines = rows.map((r) => [r.arm, r.label, r.reference, r.runs, r.seeds, r.folds, r.failed, r.speakers, r.utterances, r.unit,
    ...METRIC_NAMES.flatMap((m) => [r.pooled[m], r.ci[m][0], r.ci[m][1], r.mean[m], r.std[m]]),
    ...METRIC_NAMES.flatMap((m) => [pp(r.delta?.[m]), pp(r.deltaCi?.[m][0]), pp(r.deltaCi?.[m][1]), r.relGainPct?.[m] ?? NaN, r.pValue?.[m] ?? NaN, pp(r.detectable?.[m])]),
    r.exact, r.note,
    // the paper gives "up to" gains for its best configuration only, not per row
    '', '', ''].map(csvCell).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

export function perClassCsv(aggs: ArmAggregate[], classes: string[]): string {
  const head = ['arm', ...classes.map((c) => `recall_${c}`), ...classes.map((c) => `support_${c}`)];
  const lines = aggs.map((a) => [a.arm, ...a.pooled.perClassRecall, ...a.pooled.support].map(csvCell).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

const ciFmt = (c: [number, number] | undefined): string => (c && fin(c[0]) && fin(c[1]) ? `${pct(c[0])}–${pct(c[1])}` : '—');
const deltaCiFmt = (c: [number, number] | undefined): string => (c && fin(c[0]) && fin(c[1]) ? `[${signed(100 * c[0])}, ${signed(100 * c[1])}]` : '—');
const ppFmt = (x: number | undefined): string => (fin(x) ? (100 * x).toFixed(1) : '—');

/**
 * The main table as Markdown (values in %): per metric the pooled seed-ensembled value with the
 * fold mean ± sd beside it, the F1 speaker-bootstrap CI, ΔF1 against the baseline in points and
 * relative, its speaker-level p and the ΔF1 needed for p < 0.05.
 */
export function rowsToMarkdown(rows: SerTableRow[]): string {
  const head = '| Pretraining | Models | Failed | Precision | Recall | F1 | UA | WA | F1 95% CI | ΔF1 vs baseline | p (F1) | ΔF1 needed (p<.05) |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => `| ${r.label} | ${r.runs} | ${r.failed} | ${METRIC_NAMES.map((m) => metricCell(r, m)).join(' | ')} | ${ciFmt(r.f1Ci)} | ${formatDelta(r.delta?.f1, r.relGainPct?.f1)} | ${pFmt(r.pValue?.f1)} | ${r.detectable ? `${ppFmt(r.detectable.f1)} pts` : '—'} |`);
  return [head, sep, ...lines].join('\n');
}

/** Every arm against the baseline, per metric: Δ (points and relative), its CI, p, and the Δ needed for p < 0.05. */
export function comparisonMarkdown(rows: SerTableRow[], baseline = 'baseline'): string {
  const base = rows.find((r) => r.arm === baseline);
  const lines = rows.filter((r) => r.delta).flatMap((r) => METRIC_NAMES.map((m) =>
    `| ${r.label} | ${METRIC_LABELS[m]} | ${pct(base?.pooled[m])} | ${pct(r.pooled[m])} | ${formatDelta(r.delta![m], r.relGainPct?.[m])} | ${deltaCiFmt(r.deltaCi?.[m])} | ${pFmt(r.pValue?.[m])}${r.exact ? '' : '*'} | ${ppFmt(r.detectable?.[m])} |`));
  if (lines.length === 0) return '';
  return ['| Arm | Metric | Baseline | Arm | Δ | 95% CI of Δ (pts) | p | Δ needed for p<.05 (pts) |', '|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}

/** The baseline's seed-to-seed noise floor: one row per pair of seeds. */
export function noiseFloorMarkdown(noise: SeedNoise[]): string {
  if (noise.length === 0) return '';
  const head = `| Seeds | ${METRIC_NAMES.map((m) => `Δ${METRIC_LABELS[m]} (p; needed)`).join(' | ')} |`;
  const lines = noise.map((n) => `| ${n.seedB} vs ${n.seedA} | ${METRIC_NAMES.map((m) => `${formatDelta(n.tests[m].delta)} (p = ${pFmt(n.tests[m].pValue)}; ${ppFmt(n.tests[m].detectable)})`).join(' | ')} |`);
  return [head, `|---|${METRIC_NAMES.map(() => '---').join('|')}|`, ...lines].join('\n');
}

/** The failed models as a Markdown footnote ('' when none). */
export function failuresMarkdown(failures: SerFailure[]): string {
  if (failures.length === 0) return '';
  const sorted = [...failures].sort((a, b) => a.arm.localeCompare(b.arm) || a.seed - b.seed || a.fold.localeCompare(b.fold));
  return [
    `**Failed models (${failures.length}):** not in the table; each arm's numbers use its remaining seeds and folds (an utterance is ensembled over the seeds that scored it; pairs with the baseline use the utterances both have).`,
    '',
    ...sorted.map((f) => `- ${armLabel(f.arm)} (${f.arm}), ${f.mode}, seed ${f.seed}, fold ${f.fold}: ${f.message.replace(/\s+/g, ' ').trim()}`),
  ].join('\n');
}

/**
 * What the data can detect, in plain words: the smallest F1 and UA differences a pretrained arm
 * needs against the baseline for p < 0.05 (speaker-level randomization test), the seed-to-seed
 * movement of the baseline alone, and whether a paper-sized gain (+4.9% relative F1) would clear
 * the threshold. Built from the report's rows; '' when there is no pretrained arm.
 */
export function detectabilityMarkdown(rep: Pick<SerReport, 'rows' | 'noiseFloor'>, baseline = 'baseline'): string {
  const base = rep.rows.find((r) => r.arm === baseline);
  const arms = rep.rows.filter((r) => !r.reference && r.arm !== baseline && r.detectable);
  if (!base || arms.length === 0) return '';
  const range = (m: MetricName): [number, number] => {
    const v = arms.map((r) => 100 * r.detectable![m]).filter(Number.isFinite);
    return [Math.min(...v), Math.max(...v)];
  };
  // Swapping all speakers reproduces |delta|, so the exact test's smallest p is 2 / 2^S.
  const minP = 2 / 2 ** base.speakers;
  if (base.unit === 'speaker' && minP >= 0.05) {
    return `**What this data can detect.** With ${base.speakers} test speakers the speaker-level randomization test has only 2^${base.speakers} = ${2 ** base.speakers} assignments, so its smallest possible p is ${minP.toFixed(3)}: no difference, however large, can reach p < 0.05 here. A paper-sized gain (+${PAPER_CLAIMS.relativeGainPct.f1}% relative F1) cannot be shown on this data.`;
  }
  const [f1Lo, f1Hi] = range('f1');
  const [uaLo, uaHi] = range('ua');
  if (!Number.isFinite(f1Lo) || !Number.isFinite(uaLo)) return '';
  const paperPts = (PAPER_CLAIMS.relativeGainPct.f1! / 100) * 100 * base.pooled.f1;
  const seedMoves = rep.noiseFloor.map((n) => Math.abs(100 * n.tests.f1.delta)).filter(Number.isFinite);
  const detectableArms = arms.filter((r) => 100 * r.detectable!.f1 <= paperPts);
  const undetectableArms = arms.filter((r) => !(100 * r.detectable!.f1 <= paperPts));
  const list = (rs: SerTableRow[]) => rs.map((r) => `${r.label} (${(100 * r.detectable!.f1).toFixed(1)})`).join(', ');
  const verdict = detectableArms.length === 0
    ? `below the smallest detectable difference of every arm: **a gain of the size the paper reports cannot be shown on this data**`
    : undetectableArms.length === 0
      ? 'within what this data can detect for every arm'
      : `detectable only for ${list(detectableArms)}; for ${list(undetectableArms)} it is below the difference needed (points in parentheses), so **for those arms a gain of the size the paper reports cannot be shown on this data**`;
  return [
    `**What this data can detect.** With ${base.speakers} test speakers (the exchangeable units of the test), a pretrained arm's pooled, seed-ensembled F1 has to differ from the baseline's by ${f1Lo.toFixed(1)}–${f1Hi.toFixed(1)} points (UA: ${uaLo.toFixed(1)}–${uaHi.toFixed(1)} points), depending on the arm, to reach p < 0.05.`,
    seedMoves.length ? `Between two single seeds of the baseline alone, pooled F1 moved by ${seedMoves.map((x) => x.toFixed(1)).join(', ')} points.` : '',
    `A paper-sized gain, +${PAPER_CLAIMS.relativeGainPct.f1}% relative of our baseline F1 (${pct(base.pooled.f1)}), is ${paperPts.toFixed(1)} points: ${verdict}.`,
  ].filter(Boolean).join(' ');
}

/** Paper's "up to" relative gains next to our best pretraining arm's (references excluded), per metric. */
export function claimsMarkdown(rows: SerTableRow[]): string {
  const lines = (['precision', 'recall', 'f1'] as MetricName[]).map((m) => {
    const cands = rows.filter((r) => !r.reference && r.relGainPct && Number.isFinite(r.relGainPct[m]));
    const best = cands.sort((a, b) => b.relGainPct![m] - a.relGainPct![m])[0];
    const ours = best ? `${signed(best.relGainPct![m])}% = ${formatDelta(best.delta?.[m])} (${best.label}; p = ${pFmt(best.pValue?.[m])}; Δ needed ${ppFmt(best.detectable?.[m])} pts)` : 'no pretrained arm yet';
    return `| ${METRIC_LABELS[m]} | +${PAPER_CLAIMS.relativeGainPct[m]}% | ${ours} |`;
  });
  return ['| Metric | Paper: best relative gain (CREMA-D) | Ours: best relative gain (arm; paired p) |', '|---|---|---|', ...lines].join('\n');
}

export function scaleOf(records: FoldResult[]): 'smoke-test' | 'full' {
  return records.some((r) => (r.runInfo as { profile?: string } | undefined)?.profile === 'ci') ? 'smoke-test' : 'full';
}

export function reportMarkdown(rep: Omit<SerReport, 'markdown' | 'files' | 'figures' | 'csv' | 'perClassCsv' | 'outputs'>, records: FoldResult[]): string {
  const first = records.find((r) => !REFERENCE_ARMS.includes(r.arm)) ?? records[0];
  const scaleNote = rep.scale === 'smoke-test'
    ? '> **SMOKE-TEST SCALE (EMOLAB_PROFILE=ci).** Tiny model, a few epochs, few seeds/folds. These numbers check that the pipeline runs end to end; they are **not** a reproduction of the paper and must not be compared with it as such.\n'
    : '';
  const cfg = (first?.config ?? {}) as Record<string, unknown>;
  const base = rep.rows.find((r) => r.arm === 'baseline');
  const speakers = base?.speakers ?? rep.rows[0]?.speakers ?? 0;
  const unit = base?.unit ?? rep.rows[0]?.unit;
  const exact = rep.rows.some((r) => r.exact === true);
  const sampled = rep.rows.some((r) => r.exact === false);
  const comparison = comparisonMarkdown(rep.rows);
  const noise = noiseFloorMarkdown(rep.noiseFloor);
  const failures = failuresMarkdown(rep.failures);
  const refs = rep.rows.filter((r) => r.reference);
  const notes = rep.rows.filter((r) => r.note).map((r) => `- ${r.label}: ${r.note}.`);
  // How models were selected: on dev speakers, or (no dev speakers) after a fixed epoch budget.
  const fixed = [...new Set(records.filter((r) => typeof (r.config as Record<string, unknown>)?.modelSelection === 'string').map((r) => r.fold))].sort();
  const folding = typeof cfg.folding === 'string' ? ` Folds: ${cfg.folding}.` : '';
  const monitor = String(((cfg.hyper ?? {}) as Record<string, unknown>).monitor ?? 'ua');
  const selection = fixed.length
    ? ` Model selection: **fixed epoch budget** (${String(cfg.epochs ?? '?')} epochs, last epoch kept) for ${fixed.length === new Set(records.map((r) => r.fold)).size ? 'every fold' : `fold(s) ${fixed.join(', ')}`}: no dev speakers for early stopping.`
    : ` Model selection: best epoch on the dev speakers' ${monitor}.`;
  return [
    `# SER results: ${rep.experiment}, ${rep.mode} fine-tuning`,
    '',
    scaleNote,
    `Protocol: ${rep.protocol}; classes: ${rep.classes.join(', ')}; ${speakers} test speakers. Encoder preset: ${String(cfg.preset ?? '?')}; epochs: ${String(cfg.epochs ?? '?')}; class-balanced sampling: ${String(cfg.classBalanced ?? '?')}.${folding}${records.some((r) => r.arm !== 'functionals') ? selection : ''}`,
    '',
    rowsToMarkdown(rep.rows),
    '',
    'Metrics in %. Each cell: the **pooled** value — predictions ensembled over seeds (class probabilities averaged per utterance), all folds pooled — then, in parentheses, the **fold mean ± sd** (each fold\'s metric averaged over its seeds, mean and sd over folds; "n=1": one fold, no sd). '
      + `F1 95% CI: cluster bootstrap over the ${unit === 'speaker' ? 'test speakers' : 'test utterances (no speaker labels)'} (Field & Welsh 2007; expanded percentile interval, Hesterberg 2015, for few speakers). `
      + 'ΔF1: pooled arm minus pooled baseline, in points and relative. '
      + `p (F1): two-sided paired randomization test (Noreen 1989) swapping the two arms' predictions for all utterances of a ${unit === 'speaker' ? 'speaker' : 'unit'} together${exact ? ', exact over all 2^speakers swaps' : ''}${sampled ? '; * = sampled swaps' : ''}. `
      + 'ΔF1 needed: the 95th percentile of |ΔF1| under that randomization — about the smallest difference these test speakers can show at p < 0.05.'
      + (refs.length ? ` ${refs.map((r) => r.label).join(', ')}: a reference row, compared with the baseline the same way; not a pretraining arm.` : ''),
    '',
    ...(failures ? [failures, ''] : []),
    ...(notes.length ? ['Notes:', '', ...notes, ''] : []),
    ...(comparison ? ['## Differences to the baseline, per metric', '', comparison, '', 'Δ and its 95% CI (paired cluster bootstrap over test speakers) in points, relative change in parentheses; p and "Δ needed for p<.05" from the speaker-level randomization test.', ''] : []),
    ...(noise ? ['## Seed-to-seed noise floor (baseline)', '', noise, '', 'The same speaker-level test between two single seeds of the baseline (each seed\'s folds pooled, no ensembling): the difference that retraining alone produces, and the Δ (pts) it would take for p < 0.05 at the single-seed level. Arms ensemble their seeds, so their comparisons are less noisy than this.', ''] : []),
    '## The paper\'s claim next to ours',
    '',
    `${PAPER_CLAIMS.citation} report ${PAPER_CLAIMS.statement} on ${PAPER_CLAIMS.corpus}.`,
    '',
    claimsMarkdown(rep.rows),
    '',
    ...(detectabilityMarkdown(rep) ? [detectabilityMarkdown(rep), ''] : []),
  ].join('\n');
}
