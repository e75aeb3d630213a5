/**
 * SER result tables and figures, laid out as Goncalves & Busso's table: rows = baseline, each
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
import { aggregateArms, REFERENCE_ARMS, type ArmAggregate, type EvaluatedFold, type SeedNoise, type StatUnit } from '../eval/aggregate';
import { speakersFromTestList } from '../eval/ensemble';
import { METRIC_NAMES, normalizeRows, type MetricName } from '../eval/metrics';
import { EmolabError } from '../errors';
import { ARM_LABELS, ARMS, listFoldResults, serRoot, type FoldResult } from '../finetune/results';
import { experimentOutputs } from '../paths';
import { writeFileAtomic } from '../atomic';
import { ARM_COLORS, showFigure as showFigureIn, type ShownFigure } from '../show/figures';

/** What the paper reports, verbatim from its abstract; per-row values are in its Table and not transcribed here. */
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

const armLabel = (arm: string): string => (ARM_LABELS as Record<string, string>)[arm] ?? REFERENCE_LABELS[arm] ?? arm;

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
const pctOrDash = (x: number | undefined): string => (!fin(x) ? '—' : `${signed(x)}%`);
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

function scaleOf(records: FoldResult[]): 'smoke-test' | 'full' {
  return records.some((r) => (r.runInfo as { profile?: string } | undefined)?.profile === 'ci') ? 'smoke-test' : 'full';
}

function reportMarkdown(rep: Omit<SerReport, 'markdown' | 'files' | 'figures' | 'csv' | 'perClassCsv' | 'outputs'>, records: FoldResult[]): string {
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

function figureBase(experiment: string, mode: string): string {
  return `ser_${experiment}_${mode}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * The plotly figures of one report (shown inline in a notebook; HTML + PNG/SVG in `dir`, default the
 * report's figures folder, else the experiment's: $EMOLAB_RUNS/ser/<experiment>/figures).
 */
export function serFigures(rep: Pick<SerReport, 'experiment' | 'mode' | 'classes' | 'rows' | 'aggregates' | 'scale'> & { outputs?: { figures: string } }, dir?: string): ShownFigure[] {
  const base = figureBase(rep.experiment, rep.mode);
  const figDir = dir ?? rep.outputs?.figures ?? experimentOutputs(rep.experiment).figures;
  const showFigure = (fig: Parameters<typeof showFigureIn>[0], name: string, title: string): ShownFigure => showFigureIn(fig, name, title, { dir: figDir });
  const tag = rep.scale === 'smoke-test' ? ' [smoke-test scale]' : '';
  const out: ShownFigure[] = [];
  out.push(showFigure({
    data: rep.rows.filter((r) => r.runs > 0).map((r) => ({
      type: 'bar', name: r.label, marker: { color: ARM_COLORS[r.arm] }, x: METRIC_NAMES.map((m) => METRIC_LABELS[m]), y: METRIC_NAMES.map((m) => 100 * r.pooled[m]),
      error_y: { type: 'data', symmetric: false, array: METRIC_NAMES.map((m) => 100 * (r.ci[m][1] - r.pooled[m])), arrayminus: METRIC_NAMES.map((m) => 100 * (r.pooled[m] - r.ci[m][0])), visible: true },
    })),
    layout: { barmode: 'group', yaxis: { title: { text: '% (seed-ensembled, folds pooled; 95% CI over test speakers)' } }, legend: { orientation: 'h' } },
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
            type: 'bar', name: row.label, marker: { color: ARM_COLORS[a.arm] }, x: ms.map((m) => METRIC_LABELS[m]), y: ms.map((m) => a.vsBaseline![m].delta * 100),
            error_y: { type: 'data', symmetric: false, array: ms.map((m) => 100 * (a.vsBaseline![m].ci.high - a.vsBaseline![m].delta)), arrayminus: ms.map((m) => 100 * (a.vsBaseline![m].delta - a.vsBaseline![m].ci.low)) },
          };
        }),
        ...(baseArm ? [{
          type: 'scatter', mode: 'markers', name: "paper's best relative gain, applied to our baseline",
          x: ms.map((m) => METRIC_LABELS[m]), y: ms.map((m) => (PAPER_CLAIMS.relativeGainPct[m] ?? 0) * baseArm.pooled[m]),
          marker: { symbol: 'diamond', size: 12, color: 'black' },
        }] : []),
      ],
      layout: { barmode: 'group', yaxis: { title: { text: 'difference to baseline, percentage points (95% paired speaker-bootstrap CI)' }, zeroline: true }, legend: { orientation: 'h' } },
    }, `${base}_gain`, `Arm minus baseline (seed-ensembled, pooled predictions)${tag}`));
  }
  const n = rep.aggregates.length;
  out.push(showFigure({
    data: rep.aggregates.map((a, i) => ({
      type: 'heatmap', z: normalizeRows(a.ensembledConfusion ?? a.confusion).map((row) => row.map((x) => +(100 * x).toFixed(1))), x: rep.classes, y: rep.classes,
      colorscale: 'Blues', reversescale: true, zmin: 0, zmax: 100, showscale: i === n - 1, xaxis: `x${i === 0 ? '' : i + 1}`, yaxis: `y${i === 0 ? '' : i + 1}`,
      texttemplate: '%{z:.0f}', hovertemplate: 'true %{y}<br>predicted %{x}<br>%{z:.1f}%<extra></extra>',
    })),
    layout: {
      grid: { rows: 1, columns: n, pattern: 'independent' },
      annotations: rep.aggregates.map((a, i) => ({ text: armLabel(a.arm), xref: `x${i === 0 ? '' : i + 1} domain`, yref: 'paper', x: 0.5, y: 1.08, showarrow: false, font: { size: 11 } })),
      ...Object.fromEntries(rep.aggregates.flatMap((_, i) => [[`yaxis${i === 0 ? '' : i + 1}`, { autorange: 'reversed', showticklabels: i === 0 }], [`xaxis${i === 0 ? '' : i + 1}`, { tickangle: 45 }]])),
      width: Math.max(700, 330 * n), height: 420,
    },
  }, `${base}_confusion`, `Confusion matrices of the seed-ensembled predictions, row-normalised % (true class = row)${tag}`));
  out.push(showFigure({
    data: rep.aggregates.map((a) => ({ type: 'bar', name: armLabel(a.arm), marker: { color: ARM_COLORS[a.arm] }, x: rep.classes, y: a.pooled.perClassRecall.map((x) => 100 * x) })),
    layout: { barmode: 'group', yaxis: { title: { text: 'recall % (seed-ensembled, folds pooled)' } }, legend: { orientation: 'h' } },
  }, `${base}_per_class`, `Per-class recall${tag}`));
  return out;
}

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
