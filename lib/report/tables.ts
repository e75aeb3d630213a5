/**
 * Tables in notebooks: rows (e.g. `dfd.toJSON(dataFrame)` from danfojs, or the SER table rows) shown
 * as an HTML table in a notebook and as console.table in a terminal; Markdown shown rendered in a
 * notebook and as text elsewhere. No danfojs import here (the CLI runs as ESM, where danfojs-node's
 * CommonJS dependencies do not load): notebooks build their DataFrames and pass the rows.
 */
import { notebookDisplay } from '../show/figures';
import { METRIC_NAMES } from '../eval/metrics';
import type { SerTableRow } from './ser';

export type Row = Record<string, unknown>;

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

function cell(v: unknown, digits: number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 10 ** digits) / 10 ** digits) : '—';
  if (v === undefined || v === null) return '—';
  return String(v);
}

/** An HTML table of rows (columns = union of keys, in first-seen order). Pure. */
export function tableHtml(rows: Row[], opts: { caption?: string; digits?: number } = {}): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const d = opts.digits ?? 3;
  const head = cols.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td>${esc(cell(r[c], d))}</td>`).join('')}</tr>`).join('\n');
  const cap = opts.caption ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${esc(opts.caption)}</caption>` : '';
  return `<table>${cap}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Show rows as a table (HTML in a notebook, console.table elsewhere). */
export function showTable(rows: Row[], opts: { caption?: string; digits?: number } = {}): void {
  const display = notebookDisplay();
  if (display) { display.html(tableHtml(rows, opts)); return; }
  if (opts.caption) console.log(opts.caption);
  console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? +cell(v, opts.digits ?? 3) : v]))));
}

/** Show Markdown (rendered in a notebook, plain text elsewhere). */
export function showMarkdown(md: string): void {
  const display = notebookDisplay();
  if (display) display.raw('text/markdown', md);
  else console.log(md);
}

const r1 = (x: number | undefined, scale = 100): number | undefined => (x === undefined || !Number.isFinite(x) ? undefined : +(scale * x).toFixed(1));

/**
 * The SER table as flat rows (values in %), for a danfojs DataFrame. Pure. Per metric: the pooled
 * seed-ensembled value (`f1_%`) and the fold mean and sd (`f1_fold_mean`, `f1_fold_sd`; the sd is
 * empty with a single fold); against the baseline: ΔF1 in points and relative, its speaker-level p
 * and the ΔF1 needed for p < 0.05.
 */
export function serTableRows(rows: SerTableRow[]): Row[] {
  return rows.map((r) => ({
    pretraining: r.label,
    models: r.runs,
    failed: r.failed ?? 0,
    reference: r.reference ?? false,
    ...Object.fromEntries(METRIC_NAMES.flatMap((m) => [[`${m}_%`, r1(r.pooled?.[m])], [`${m}_fold_mean`, r1(r.mean[m])], [`${m}_fold_sd`, r.folds >= 2 ? r1(r.std[m]) : undefined]])),
    f1_ci95: Number.isFinite(r.f1Ci[0]) ? `${(100 * r.f1Ci[0]).toFixed(1)}–${(100 * r.f1Ci[1]).toFixed(1)}` : undefined,
    f1_delta_pts: r1(r.delta?.f1),
    f1_rel_gain_pct: r1(r.relGainPct?.f1, 1),
    p_f1: r.pValue ? +r.pValue.f1.toFixed(3) : undefined,
    f1_delta_needed_pts: r1(r.detectable?.f1),
  }));
}
