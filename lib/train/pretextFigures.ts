/**
 * Figures and tables for the pretext notebooks (05-07): one utterance's frame curve with its
 * labelled segments, held-out accuracy next to the majority-class rate, and a 2-D PCA projection
 * of utterance embeddings coloured by a label. Pure: each returns plotly figure specs or rows.
 */
import { HIGH_LOW_COLORS, withAlpha, type Figure } from '../show/figures';
import { pca } from '../show/pca';
import type { HeadMetrics } from './losses';
import type { LabelledSegment } from './batches';

/** A frame curve (e.g. energy in dB, 10 ms frames) with segments shaded in the project's high / low colours (HIGH_LOW_COLORS). */
export function segmentCurveFigure(curve: ArrayLike<number>, segments: LabelledSegment[], yTitle: string, hopS = 0.01): Figure {
  const x = Array.from({ length: curve.length }, (_, i) => i * hopS);
  const shapes = segments.map((s, k) => ({
    type: 'rect', xref: 'x', yref: 'paper', x0: s.start * hopS, x1: s.end * hopS,
    y0: k % 2 ? 0 : 0.5, y1: k % 2 ? 0.5 : 1, // alternate rows so overlapping segments stay visible
    fillcolor: s.label === 1 ? withAlpha(HIGH_LOW_COLORS.high, 0.28) : s.label === 0 ? withAlpha(HIGH_LOW_COLORS.low, 0.24) : 'rgba(150,150,150,0.18)', line: { width: 0 },
  }));
  return {
    data: [
      { x, y: Array.from(curve), mode: 'lines', name: yTitle },
      { x: [null], y: [null], mode: 'markers', marker: { color: withAlpha(HIGH_LOW_COLORS.high, 0.5), size: 12, symbol: 'square' }, name: 'high segment' },
      { x: [null], y: [null], mode: 'markers', marker: { color: withAlpha(HIGH_LOW_COLORS.low, 0.5), size: 12, symbol: 'square' }, name: 'low segment' },
    ],
    layout: { shapes, xaxis: { title: { text: 'time (s)' } }, yaxis: { title: { text: yTitle } }, height: 380 },
  };
}

export interface HeldOutRow {
  head: string;
  targets: number;
  accuracy: number;
  majorityRate: number;
  /** accuracy - majorityRate, in percentage points. */
  gainPts: number;
}

/** Rows of held-out accuracy vs the majority-class rate, per head (percentages). */
export function heldOutRows(test: Record<string, HeadMetrics>): HeldOutRow[] {
  return Object.entries(test).map(([head, m]) => ({
    head, targets: m.n,
    accuracy: +(100 * m.accuracy).toFixed(1),
    majorityRate: +(100 * m.majorityRate).toFixed(1),
    gainPts: +(100 * (m.accuracy - m.majorityRate)).toFixed(1),
  }));
}

/** 2-D PCA of embeddings, one trace per group (e.g. emotion); hover shows the item name. */
export function embeddingFigure(embeddings: number[][], groups: string[], names: string[] = []): { figure: Figure; explained: number[] } {
  const { projected, explained } = pca(embeddings, 2);
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => (byGroup.get(g) ?? byGroup.set(g, []).get(g)!).push(i));
  const data = [...byGroup.keys()].sort().map((g) => {
    const idx = byGroup.get(g)!;
    return { x: idx.map((i) => projected[i][0]), y: idx.map((i) => projected[i][1] ?? 0), text: idx.map((i) => names[i] ?? ''), mode: 'markers', type: 'scatter', name: g, marker: { size: 7 } };
  });
  return {
    figure: {
      data,
      layout: {
        xaxis: { title: { text: `PC 1 (${(100 * (explained[0] ?? 0)).toFixed(1)}% of variance)` } },
        yaxis: { title: { text: `PC 2 (${(100 * (explained[1] ?? 0)).toFixed(1)}% of variance)` } },
        height: 480,
      },
    },
    explained,
  };
}

/**
 * How well embeddings separate groups: leave-one-out 1-nearest-neighbour accuracy (cosine), a
 * simple number to put next to the picture. Returns NaN for fewer than 2 items.
 */
export function nearestNeighbourAccuracy(embeddings: number[][], groups: string[]): number {
  const n = embeddings.length;
  if (n < 2) return NaN;
  const norm = embeddings.map((e) => Math.hypot(...e) || 1);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity, arg = -1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let dot = 0;
      for (let d = 0; d < embeddings[i].length; d++) dot += embeddings[i][d] * embeddings[j][d];
      const cos = dot / (norm[i] * norm[j]);
      if (cos > best) { best = cos; arg = j; }
    }
    if (groups[arg] === groups[i]) hits++;
  }
  return hits / n;
}

/**
 * Per-segment statistic of a binary pretext target (e.g. mean facial activation per segment), one
 * bar per segment at its mid-time in the high / low colours (HIGH_LOW_COLORS), grey = excluded, with the threshold.
 */
export function segmentValuesFigure(segments: ArrayLike<number>, values: ArrayLike<number>, labels: ArrayLike<number>, threshold: number | undefined, yTitle: string, hopS = 0.01): Figure {
  const n = labels.length;
  const groups: Record<string, { x: number[]; y: number[] }> = { high: { x: [], y: [] }, low: { x: [], y: [] }, excluded: { x: [], y: [] } };
  for (let i = 0; i < n; i++) {
    const mid = ((Number(segments[2 * i]) + Number(segments[2 * i + 1])) / 2) * hopS;
    const g = labels[i] === 1 ? 'high' : labels[i] === 0 ? 'low' : 'excluded';
    groups[g].x.push(mid);
    groups[g].y.push(Number.isFinite(values[i]) ? values[i] : 0);
  }
  const colors: Record<string, string> = { high: HIGH_LOW_COLORS.high, low: HIGH_LOW_COLORS.low, excluded: 'rgb(150,150,150)' };
  const data: Record<string, unknown>[] = Object.entries(groups).filter(([, g]) => g.x.length).map(([name, g]) => ({ x: g.x, y: g.y, type: 'bar', name, marker: { color: colors[name] }, width: 0.4 }));
  const shapes = threshold !== undefined && Number.isFinite(threshold) ? [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: threshold, y1: threshold, line: { dash: 'dash' } }] : [];
  return { data, layout: { shapes, xaxis: { title: { text: 'segment centre (s)' } }, yaxis: { title: { text: yTitle } }, height: 360, barmode: 'overlay' } };
}
