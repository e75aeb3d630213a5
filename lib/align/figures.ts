/**
 * HFLEA figures (plotly through lib/report/figures showFigure): one utterance's waveform, the
 * step-(d) attention weights over its frames and its frame cluster ids on a shared time axis; the
 * training curves of the three training steps; and the cluster/emotion co-occurrence of step (b).
 */
import { showFigure, type ShownFigure } from '../report/figures';
import type { AlignClip, HfleaResult } from './hflea';

/** Centre time (s) of HuBERT frame t: receptive field [320 t, 320 t + 400) samples at 16 kHz. */
export const frameTime = (t: number): number => (320 * t + 200) / 16000;

/** Min/max envelope of a waveform in `bins` bins (keeps a 3 s clip's shape in ~1,000 points). */
export function envelope(x: Float32Array, bins: number, sampleRate = 16000): { t: number[]; lo: number[]; hi: number[] } {
  const n = Math.max(1, Math.min(bins, x.length));
  const per = x.length / n;
  const t: number[] = [], lo: number[] = [], hi: number[] = [];
  for (let i = 0; i < n; i++) {
    let a = Infinity, b = -Infinity;
    for (let j = Math.floor(i * per); j < Math.min(x.length, Math.floor((i + 1) * per)); j++) { if (x[j] < a) a = x[j]; if (x[j] > b) b = x[j]; }
    t.push((i + 0.5) * per / sampleRate); lo.push(a === Infinity ? 0 : a); hi.push(b === -Infinity ? 0 : b);
  }
  return { t, lo, hi };
}

/**
 * Waveform, attention weights (bars) and cluster ids (colour strip) of one test utterance.
 * `attention` and `clusterIds` are per frame; the clip is shown up to the evaluated length.
 */
export function utteranceAlignmentFigure(clip: AlignClip, attention: Float32Array, clusterIds: Int32Array, k: number, classes: string[], predicted: number, name: string): ShownFigure {
  const frames = Math.max(attention.length, clusterIds.length);
  const shown = clip.audio.subarray(0, Math.min(clip.audio.length, 320 * frames + 80));
  const env = envelope(shown, 1000);
  const ft = Array.from({ length: frames }, (_, t) => frameTime(t));
  const fig = {
    data: [
      { type: 'scatter', x: [...env.t, ...env.t.slice().reverse()], y: [...env.hi, ...env.lo.slice().reverse()], fill: 'toself', mode: 'none', fillcolor: 'rgba(60,60,60,0.6)', name: 'waveform', xaxis: 'x', yaxis: 'y' },
      { type: 'bar', x: ft.slice(0, attention.length), y: Array.from(attention), name: 'attention weight (step d)', marker: { color: '#d62728' }, xaxis: 'x', yaxis: 'y2' },
      { type: 'heatmap', x: ft.slice(0, clusterIds.length), y: ['cluster'], z: [Array.from(clusterIds)], zmin: 0, zmax: k - 1, colorscale: 'Portland', showscale: true, colorbar: { title: { text: 'cluster id' }, len: 0.25, y: 0.12 }, xaxis: 'x', yaxis: 'y3', hovertemplate: 't=%{x:.2f}s cluster %{z}<extra></extra>' },
    ],
    layout: {
      height: 560,
      grid: { rows: 3, columns: 1, shared_xaxes: true },
      xaxis: { title: { text: 'time (s)' }, anchor: 'y3' },
      yaxis: { domain: [0.62, 1], title: { text: 'input signal' } },
      yaxis2: { domain: [0.27, 0.58], title: { text: 'attention α_t' } },
      yaxis3: { domain: [0, 0.2], showticklabels: false, title: { text: 'k-means id' } },
      showlegend: false,
      annotations: [{ text: `${clip.id} (speaker ${clip.speaker}): true ${classes[clip.label]}, predicted ${classes[predicted]}`, xref: 'paper', yref: 'paper', x: 0, y: 1.08, showarrow: false }],
    },
  };
  return showFigure(fig, name, `Frame-level alignment of ${clip.id}: where the attention pooling looks, and the frame pseudo-labels`);
}

/** Loss curves of (a), (c), (d) and the masked-frame accuracy of (c). */
export function trainingCurvesFigure(r: HfleaResult, name: string): ShownFigure {
  const idx = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  return showFigure({
    data: [
      { type: 'scatter', mode: 'lines', name: '(a) SER fine-tune loss', x: idx(r.finetune.losses.length), y: r.finetune.losses },
      { type: 'scatter', mode: 'lines', name: '(c) masked-prediction loss', x: idx(r.pretrain.losses.length), y: r.pretrain.losses },
      { type: 'scatter', mode: 'lines', name: '(d) attention fine-tune loss', x: idx(r.aligned.losses.length), y: r.aligned.losses },
      { type: 'scatter', mode: 'lines', name: '(c) masked-frame accuracy', x: idx(r.pretrain.maskedAccuracy.length), y: r.pretrain.maskedAccuracy, yaxis: 'y2', line: { dash: 'dot' } },
    ],
    layout: { xaxis: { title: { text: 'update step' } }, yaxis: { title: { text: 'cross-entropy' } }, yaxis2: { title: { text: 'accuracy' }, overlaying: 'y', side: 'right', range: [0, 1] }, legend: { orientation: 'h' } },
  }, name, 'HFLEA training: losses per step');
}

/** Share of each emotion's training frames in each cluster (rows = clusters), step (b). */
export function clusterEmotionFigure(frameIds: Int32Array[], clips: AlignClip[], k: number, classes: string[], name: string): ShownFigure {
  const counts = Array.from({ length: k }, () => new Array(classes.length).fill(0));
  frameIds.forEach((ids, i) => { for (const id of ids) counts[id][clips[i].label]++; });
  const z = counts.map((row) => { const s = row.reduce((a, b) => a + b, 0) || 1; return row.map((x) => +(100 * x / s).toFixed(1)); });
  return showFigure({
    data: [{ type: 'heatmap', z, x: classes, y: counts.map((_, j) => `c${j} (${counts[j].reduce((a, b) => a + b, 0)})`), colorscale: 'Blues', zmin: 0, zmax: 100, texttemplate: '%{z:.0f}' }],
    layout: { height: Math.max(350, 22 * k + 120), yaxis: { autorange: 'reversed' }, xaxis: { title: { text: 'utterance emotion of the frame' } } },
  }, name, 'Frame clusters vs the emotion of their utterance (% of the cluster\'s training frames)');
}
