/**
 * Plotly figure specs for notebook 04 (shown and saved with lib/show/figures showFigure):
 * a frame curve with its labelled segments, an AU-prototype timeline, a confusion-matrix heatmap
 * and class-balance bars. Pure: they return `{ data, layout }`.
 */
import { HIGH_LOW_COLORS, withAlpha, type Figure } from '../show/figures';
import type { ConfusionMatrix } from '../eval/metrics';
import { AU_EMOTIONS, AU_LABELS } from './emfacs';
import type { Segment } from './segments';

/** High / low / excluded bands: the project's one high/low colour pair (lib/show/figures HIGH_LOW_COLORS). */
const SEGMENT_COLOURS: Record<number, string> = { 1: withAlpha(HIGH_LOW_COLORS.high, 0.28), 0: withAlpha(HIGH_LOW_COLORS.low, 0.24), [-1]: 'rgba(150,150,150,0.18)' };

/**
 * A per-frame curve (10 ms hop) with its segments drawn as bands under it: high (orange), low
 * (blue), excluded (grey) — HIGH_LOW_COLORS, as in every notebook. Overlapping segments are drawn in alternating rows (top and bottom
 * halves of the plot) so each one stays visible; the segment statistic is drawn as a step line on
 * the right axis.
 */
export function segmentsFigure(curve: ArrayLike<number>, segments: Segment[], labels: ArrayLike<number>, opts: { hopS?: number; yTitle?: string; statistic?: ArrayLike<number>; statName?: string; threshold?: number } = {}): Figure {
  const hop = opts.hopS ?? 0.01;
  const t = Array.from({ length: curve.length }, (_, i) => i * hop);
  const shapes = segments.map((s, k) => ({
    type: 'rect', xref: 'x', yref: 'paper', x0: s.start * hop, x1: s.end * hop,
    y0: k % 2 ? 0 : 0.5, y1: k % 2 ? 0.5 : 1, fillcolor: SEGMENT_COLOURS[labels[k]] ?? SEGMENT_COLOURS[-1], line: { width: 0 }, layer: 'below',
  }));
  const data: Record<string, unknown>[] = [
    { type: 'scatter', mode: 'lines', x: t, y: Array.from(curve, (v) => (Number.isFinite(v) ? v : null)), name: opts.yTitle ?? 'curve', line: { color: '#333', width: 1 } },
    { type: 'scatter', mode: 'markers', x: [null], y: [null], marker: { color: SEGMENT_COLOURS[1], size: 12, symbol: 'square' }, name: 'high segment' },
    { type: 'scatter', mode: 'markers', x: [null], y: [null], marker: { color: SEGMENT_COLOURS[0], size: 12, symbol: 'square' }, name: 'low segment' },
  ];
  if (opts.statistic) {
    const xs: number[] = [], ys: (number | null)[] = [];
    segments.forEach((s, k) => { xs.push(s.start * hop, s.end * hop, s.end * hop); const v = opts.statistic![k]; ys.push(Number.isFinite(v) ? v : null, Number.isFinite(v) ? v : null, null); });
    data.push({ type: 'scatter', mode: 'lines', x: xs, y: ys, name: opts.statName ?? 'segment statistic', yaxis: 'y2', line: { color: '#e66101', width: 2 } });
    if (opts.threshold !== undefined && Number.isFinite(opts.threshold)) {
      data.push({ type: 'scatter', mode: 'lines', x: [0, curve.length * hop], y: [opts.threshold, opts.threshold], name: 'reference (median)', yaxis: 'y2', line: { color: '#e66101', dash: 'dot', width: 1 } });
    }
  }
  return {
    data,
    layout: {
      shapes, xaxis: { title: { text: 'time (s)' } }, yaxis: { title: { text: opts.yTitle ?? '' } },
      yaxis2: { title: { text: opts.statName ?? '' }, overlaying: 'y', side: 'right', showgrid: false },
      legend: { orientation: 'h', y: -0.2 }, height: 380,
    },
  };
}

/** One colour per AU_LABELS class (neutral grey, then plotly's default colour cycle). */
export const AU_LABEL_COLOURS: readonly string[] = ['#999999', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/** Prototype scores per frame (one line each), the winning class per frame as markers in its colour. */
export function auTimelineFigure(scores: Float32Array[], winners: ArrayLike<number>, fps: number, threshold: number): Figure {
  const t = scores.map((_, i) => i / fps);
  const data: Record<string, unknown>[] = AU_EMOTIONS.map((e, k) => ({
    type: 'scatter', mode: 'lines', name: e, x: t, y: scores.map((r) => (Number.isFinite(r[k]) ? r[k] : null)), line: { color: AU_LABEL_COLOURS[k + 1] },
  }));
  data.push({ type: 'scatter', mode: 'markers', name: 'frame winner (grey: neutral)', x: t, y: Array.from(winners, () => 1.08), text: Array.from(winners, (w) => AU_LABELS[w]),
    marker: { symbol: 'square', size: 8, color: Array.from(winners, (w) => AU_LABEL_COLOURS[w]) }, hovertemplate: '%{text}<extra></extra>' });
  data.push({ type: 'scatter', mode: 'lines', name: 'match threshold', x: [0, scores.length / fps], y: [threshold, threshold], line: { dash: 'dot', color: '#888' } });
  return { data, layout: { xaxis: { title: { text: 'time (s)' } }, yaxis: { title: { text: 'prototype score (fraction of its AUs present)' }, range: [0, 1.15] }, height: 400, legend: { orientation: 'h', y: -0.25 } } };
}

/** Confusion matrix heatmap: colour = row-normalised share (recall per true class), text = counts. */
export function confusionFigure(cm: ConfusionMatrix, names: readonly string[], opts: { dropEmpty?: boolean } = {}): Figure {
  const keepRow = cm.map((r) => !opts.dropEmpty || r.some((x) => x > 0));
  const keepCol = names.map((_, j) => !opts.dropEmpty || cm.some((r) => r[j] > 0) || keepRow[j]);
  const rows = names.map((n, i) => ({ n, i })).filter(({ i }) => keepRow[i]);
  const cols = names.map((n, j) => ({ n, j })).filter(({ j }) => keepCol[j]);
  const z = rows.map(({ i }) => { const s = cm[i].reduce((a, b) => a + b, 0); return cols.map(({ j }) => (s ? cm[i][j] / s : 0)); });
  const text = rows.map(({ i }) => cols.map(({ j }) => String(cm[i][j])));
  return {
    data: [{ type: 'heatmap', z, x: cols.map((c) => c.n), y: rows.map((r) => r.n), text, texttemplate: '%{text}',
      colorscale: [[0, '#f7fbff'], [0.5, '#6baed6'], [1, '#08306b']], zmin: 0, zmax: 1, colorbar: { title: { text: 'share of row' } } }],
    layout: { xaxis: { title: { text: 'predicted class (rule label)' } }, yaxis: { title: { text: 'true class (acted emotion)', standoff: 12 }, autorange: 'reversed', automargin: true }, margin: { l: 120 }, height: 460 },
  };
}

/** Grouped bars: one group per category, one bar per series. */
export function barsFigure(categories: string[], series: { name: string; values: number[] }[], yTitle: string): Figure {
  return {
    data: series.map((s) => ({ type: 'bar', name: s.name, x: categories, y: s.values })),
    layout: { barmode: 'group', yaxis: { title: { text: yTitle } }, height: 360, legend: { orientation: 'h', y: -0.2 } },
  };
}
