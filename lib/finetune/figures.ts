/**
 * Figures of the SER fine-tuning models: where the attention pooling of one model looks
 * (`serModelAttention`), drawn over the clips' spectrograms on one time axis per clip.
 */
import { ARM_COLORS, type Figure } from '../show/figures';
import type { SerAttentionClip } from './serAttention';

/** Centre (s) of 10 ms input frame t (25 ms window). */
const inputFrameTime = (t: number): number => t * 0.01 + 0.0125;

/**
 * The log-mel spectrogram of a clip averaged down to at most `maxCols` columns: [bins][cols] and
 * the columns' centre times. Pure.
 */
export function spectrogramColumns(fbank: SerAttentionClip['fbank'], maxCols = 300): { t: number[]; z: number[][] } {
  const g = Math.max(1, Math.ceil(fbank.frames / maxCols));
  const cols = Math.ceil(fbank.frames / g);
  const t: number[] = [];
  const z: number[][] = Array.from({ length: fbank.dims }, () => new Array<number>(cols).fill(0));
  for (let j = 0; j < cols; j++) {
    const a = j * g, b = Math.min(fbank.frames, a + g);
    t.push(Math.round(1000 * (inputFrameTime(a) + inputFrameTime(b - 1)) / 2) / 1000);
    for (let d = 0; d < fbank.dims; d++) {
      let sum = 0;
      for (let f = a; f < b; f++) sum += fbank.data[f * fbank.dims + d];
      z[d][j] = Math.round(10 * sum / (b - a)) / 10;
    }
  }
  return { t, z };
}

/** Centre time (s) of each encoder frame: frame j covers input frames [j·S, (j+1)·S). Pure. */
export function encoderFrameTimes(frames: number, subsampling: number): number[] {
  return Array.from({ length: frames }, (_, j) => Math.round(1000 * inputFrameTime(j * subsampling + (subsampling - 1) / 2)) / 1000);
}

/**
 * One row per clip: the spectrogram (grey) with α_t overlaid as a line scaled to the panel, and
 * below it α_t as bars with the uniform weight 1/T' dashed, so frames above the line get more than
 * their share. `arm` picks the colour (one per arm across the notebooks).
 */
export function serAttentionFigure(clips: SerAttentionClip[], arm: string, title = ''): Figure {
  const color = ARM_COLORS[arm] ?? ARM_COLORS.baseline;
  const n = clips.length;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = { height: 330 * n + 60, showlegend: false, margin: { t: 60, l: 60, r: 20, b: 50 }, annotations: [] as unknown[] };
  const rowH = 1 / n, gap = 0.07;
  // plotly names the first axes x / y (xaxis / yaxis), then x2, y2, ...
  const suffix = (k: number): string => (k === 1 ? '' : String(k));
  clips.forEach((c, i) => {
    const top = 1 - i * rowH, bottom = top - rowH + gap;
    const split = bottom + (top - bottom) * 0.38;
    const xa = `x${suffix(i + 1)}`, ys = `y${suffix(2 * i + 1)}`, yb = `y${suffix(2 * i + 2)}`;
    const spec = spectrogramColumns(c.fbank);
    const tt = encoderFrameTimes(c.attention.length, c.subsampling);
    const att = Array.from(c.attention, (v) => Math.round(v * 1e5) / 1e5);
    const amax = Math.max(1e-9, ...att);
    const uniform = 1 / Math.max(1, att.length);
    data.push(
      { type: 'heatmap', x: spec.t, z: spec.z, colorscale: 'Greys', reversescale: true, showscale: false, xaxis: xa, yaxis: ys, hovertemplate: 't=%{x:.2f}s mel bin %{y}<extra></extra>' },
      { type: 'scatter', mode: 'lines', x: tt, y: att.map((v) => Math.round(10 * (c.fbank.dims - 1) * v / amax) / 10), line: { color, width: 2 }, xaxis: xa, yaxis: ys, hoverinfo: 'skip' },
      { type: 'bar', x: tt, y: att, marker: { color }, xaxis: xa, yaxis: yb, hovertemplate: 't=%{x:.2f}s α=%{y:.4f}<extra></extra>' },
      { type: 'scatter', mode: 'lines', x: [tt[0] ?? 0, tt[tt.length - 1] ?? 0], y: [uniform, uniform], line: { color: '#333', width: 1, dash: 'dash' }, xaxis: xa, yaxis: yb, hoverinfo: 'skip' },
    );
    layout[`xaxis${suffix(i + 1)}`] = { anchor: yb, domain: [0, 1], title: i === n - 1 ? { text: 'time (s)' } : undefined };
    layout[`yaxis${suffix(2 * i + 1)}`] = { domain: [split + 0.01, top], anchor: xa, title: { text: 'log-mel bin' } };
    layout[`yaxis${suffix(2 * i + 2)}`] = { domain: [bottom, split - 0.01], anchor: xa, title: { text: 'α_t' }, rangemode: 'tozero' };
    (layout.annotations as unknown[]).push({
      text: `${c.id} (speaker ${c.speaker}): true ${c.truth}, predicted ${c.predicted} (p = ${Math.max(...c.probs).toFixed(2)}); ${att.length} encoder frames, uniform weight 1/${att.length} = ${uniform.toFixed(4)} (dashed), max α = ${amax.toFixed(4)}`,
      xref: 'paper', yref: 'paper', x: 0, y: top + 0.005, xanchor: 'left', yanchor: 'bottom', showarrow: false, font: { size: 11 },
    });
  });
  if (title) (layout.annotations as unknown[]).push({ text: title, xref: 'paper', yref: 'paper', x: 0.5, y: 1.04, showarrow: false });
  return { data, layout };
}
