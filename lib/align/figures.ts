/**
 * HFLEA figures (plotly through lib/report/figures showFigure): one utterance's waveform, the
 * step-(d) attention weights over its frames and its frame cluster ids on a shared time axis; the
 * training curves of the three training steps; and the cluster/emotion co-occurrence of step (b).
 */
import { kaldiFbank } from '../audio/kaldi';
import { confusionMatrix } from '../eval/metrics';
import { ARM_COLORS, categoricalColorscale, confusionFigure, embeddingPanelsFigure, EMOTION_COLORS, showFigure, type ShownFigure } from '../show/figures';
import type { AlignClip, HfleaResult, SerEvaluation } from './hflea';

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
 * Log-mel spectrogram (Kaldi fbank, 80 bins, 10 ms), the attention weights alpha_t of the attention
 * model over its 20 ms frames (overlaid as a line on the spectrogram and as bars below it), and each
 * frame's cluster id (categorical colours), on one time axis. `attention` and `clusterIds` are per frame.
 */
export function utteranceAlignmentFigure(clip: AlignClip, attention: Float32Array, clusterIds: Int32Array, k: number, classes: string[], predicted: number, name: string, label = 'attention α_t'): ShownFigure {
  const frames = Math.max(attention.length, clusterIds.length);
  const shown = clip.audio.subarray(0, Math.min(clip.audio.length, 320 * frames + 80));
  // display scale only: the tiny model's input is normalised to unit variance; fbank wants [-1, 1]
  let peak = 0;
  for (const v of shown) peak = Math.max(peak, Math.abs(v));
  const fb = kaldiFbank(peak > 1 ? shown.map((v) => v / peak) : shown);
  const g = Math.max(1, Math.ceil(fb.frames / 300));
  const cols = Math.ceil(fb.frames / g);
  const st = Array.from({ length: cols }, (_, j) => Math.round(((j * g + Math.min(fb.frames, (j + 1) * g) - 1) / 2 * 0.01 + 0.0125) * 1000) / 1000);
  const z: number[][] = [];
  for (let b = 0; b < fb.dims; b++) {
    const r: number[] = [];
    for (let j = 0; j < cols; j++) { let sum = 0, n = 0; for (let t = j * g; t < Math.min(fb.frames, (j + 1) * g); t++) { sum += fb.data[t * fb.dims + b]; n++; } r.push(Math.round(10 * sum / n) / 10); }
    z.push(r);
  }
  const ft = Array.from({ length: frames }, (_, t) => Math.round(frameTime(t) * 1000) / 1000);
  const att = Array.from(attention, (v) => Math.round(v * 1e5) / 1e5);
  const amax = Math.max(1e-9, ...att);
  const fig = {
    data: [
      { type: 'heatmap', x: st, z, colorscale: 'Greys', reversescale: true, showscale: false, xaxis: 'x', yaxis: 'y', hovertemplate: 't=%{x:.2f}s mel bin %{y}<extra></extra>' },
      { type: 'scatter', mode: 'lines', x: ft.slice(0, att.length), y: att.map((v) => Math.round(79 * v / amax * 10) / 10), line: { color: ARM_COLORS.hflea, width: 2 }, name: `${label} (scaled to the panel)`, xaxis: 'x', yaxis: 'y', hoverinfo: 'skip' },
      { type: 'bar', x: ft.slice(0, att.length), y: att, name: label, marker: { color: ARM_COLORS.hflea }, xaxis: 'x', yaxis: 'y2' },
      { type: 'heatmap', x: ft.slice(0, clusterIds.length), y: ['cluster'], z: [Array.from(clusterIds)], zmin: -0.5, zmax: k - 0.5, colorscale: categoricalColorscale(k), showscale: true, colorbar: { title: { text: 'cluster id' }, len: 0.25, y: 0.1, tickvals: Array.from({ length: k }, (_, i) => i) }, xaxis: 'x', yaxis: 'y3', hovertemplate: 't=%{x:.2f}s cluster %{z}<extra></extra>' },
    ],
    layout: {
      height: 600,
      xaxis: { title: { text: 'time (s)' }, anchor: 'y3' },
      yaxis: { domain: [0.5, 1], title: { text: 'log-mel bin' } },
      yaxis2: { domain: [0.24, 0.46], title: { text: 'α_t' }, rangemode: 'tozero' },
      yaxis3: { domain: [0, 0.18], showticklabels: false, title: { text: 'k-means id' } },
      showlegend: false,
      annotations: [{ text: `${clip.id} (speaker ${clip.speaker}): true ${classes[clip.label]}, predicted ${classes[predicted]}; uniform weight would be 1/${att.length} = ${(1 / Math.max(1, att.length)).toFixed(3)}`, xref: 'paper', yref: 'paper', x: 0, y: 1.07, showarrow: false }],
      margin: { t: 70 },
    },
  };
  return showFigure(fig, name, `Where the attention looks in ${clip.id}: ${label} over the spectrogram, and the frame pseudo-labels`);
}

/** Confusion matrices (test speakers) of the evaluated models, side by side as separate figures. */
export function hfleaConfusionFigures(r: HfleaResult, classes: string[], name: string): ShownFigure[] {
  const one = (e: SerEvaluation, label: string, suffix: string): ShownFigure => {
    const cm = confusionMatrix(e.truth, e.pred, classes.length);
    return showFigure(confusionFigure(cm, classes), `${name}_${suffix}`, `${label}: confusion on the test speakers (UA ${(100 * e.metrics.ua).toFixed(1)}%, WA ${(100 * e.metrics.wa).toFixed(1)}%)`);
  };
  return [one(r.finetune.test, r.tapt ? 'TAPT + FT' : 'FT', 'ft'), one(r.aligned.test, 'HFLEA (attention FT)', 'hflea')];
}

/**
 * Utterance embeddings (mean of the last layer) after each stage, projected on their first two
 * principal components (PCA per stage): top row coloured by emotion, bottom row by speaker.
 */
export function embeddingStagesFigure(stages: { stage: string; vectors: number[][] }[], clips: AlignClip[], classes: string[], name: string): ShownFigure {
  const fig = embeddingPanelsFigure(stages, [
    { title: 'emotion', groups: clips.map((c) => classes[c.label]), colors: EMOTION_COLORS },
    { title: 'speaker', groups: clips.map((c) => c.speaker) },
  ], clips.map((c) => c.id));
  return showFigure(fig, name, 'Utterance embeddings (dev + test speakers, PCA of the mean last layer) after each stage');
}

/** Loss curves of the training stages (1) TAPT, (2) FT, (4) alignment pretraining, (5) attention FT, and the masked-frame accuracies of (1) and (4). */
export function trainingCurvesFigure(r: HfleaResult, name: string): ShownFigure {
  const idx = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const r4 = (xs: number[]) => xs.map((v) => Math.round(v * 1e4) / 1e4);
  const tapt = r.tapt ? [
    { type: 'scatter', mode: 'lines', name: '(1) TAPT masked-prediction loss', x: idx(r.tapt.losses.length), y: r4(r.tapt.losses), line: { color: '#9467bd' } },
    { type: 'scatter', mode: 'lines', name: '(1) TAPT masked-frame accuracy', x: idx(r.tapt.maskedAccuracy.length), y: r4(r.tapt.maskedAccuracy), yaxis: 'y2', line: { dash: 'dot', color: '#9467bd' } },
  ] : [];
  return showFigure({
    data: [
      ...tapt,
      { type: 'scatter', mode: 'lines', name: '(2) FT loss', x: idx(r.finetune.losses.length), y: r4(r.finetune.losses), line: { color: ARM_COLORS.ft } },
      { type: 'scatter', mode: 'lines', name: '(4) alignment pretraining loss', x: idx(r.pretrain.losses.length), y: r4(r.pretrain.losses), line: { color: '#8c564b' } },
      { type: 'scatter', mode: 'lines', name: '(5) attention FT loss', x: idx(r.aligned.losses.length), y: r4(r.aligned.losses), line: { color: ARM_COLORS.hflea } },
      { type: 'scatter', mode: 'lines', name: '(4) masked-frame accuracy', x: idx(r.pretrain.maskedAccuracy.length), y: r4(r.pretrain.maskedAccuracy), yaxis: 'y2', line: { dash: 'dot', color: '#8c564b' } },
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
