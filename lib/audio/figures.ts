/**
 * Plotly figure specs for the audio front-end (shown and saved with lib/show/figures showFigure):
 * one clip's waveform, log-mel spectrogram, energy and F0 on a shared time axis, and per-group distributions.
 */
import { CLUSTER_PALETTE, HIGH_LOW_COLORS, withAlpha, type Figure } from '../show/figures';
import { inverseMelScale, melBanks, melScale } from './kaldi';
import type { FeatureMatrix } from './matrix';

/** Min/max envelope of a long signal in `points` columns (what a waveform plot can show anyway). */
export function waveformEnvelope(x: Float32Array, sampleRate: number, points = 1500): { t: number[]; lo: number[]; hi: number[] } {
  const step = Math.max(1, Math.ceil(x.length / points));
  const t: number[] = [], lo: number[] = [], hi: number[] = [];
  for (let i = 0; i < x.length; i += step) {
    let a = Infinity, b = -Infinity;
    for (let j = i; j < Math.min(x.length, i + step); j++) { if (x[j] < a) a = x[j]; if (x[j] > b) b = x[j]; }
    t.push(i / sampleRate); lo.push(a); hi.push(b);
  }
  return { t, lo, hi };
}

export interface ClipFigureInput {
  signal: Float32Array;
  sampleRate: number;
  fbank: FeatureMatrix;
  energyDb: Float32Array;
  f0: Float32Array;
  /** Frame shift in seconds (0.01). Frame t is centred at t * shift + frameLength / 2. */
  frameShiftS?: number;
  frameLengthS?: number;
  /** Display only: spectrogram columns are averaged in groups so at most this many are drawn (default 160). */
  maxColumns?: number;
  /** Pretext-task-1 segments (frame indices on the 10 ms grid, label 1 high / 0 low / -1 excluded), shaded on the level panel. */
  segments?: { start: number; end: number; label: number }[];
  /** Fixed F0 axis (Hz), e.g. [50, 400] for every emotion of a speaker, so the panels compare. */
  f0Range?: [number, number];
}

/**
 * One combined view of an utterance — four stacked panels sharing the time axis: waveform, 80-bin
 * log-mel spectrogram, RMS level (dB) with the task-1 high/low energy-variation segments shaded
 * (HIGH_LOW_COLORS; overlapping segments in alternating halves), and F0 (Hz, optionally on a fixed axis).
 */
export function clipFeaturesFigure(c: ClipFigureInput): Figure {
  const shift = c.frameShiftS ?? 0.01, len = c.frameLengthS ?? 0.025;
  const times = Array.from({ length: c.fbank.frames }, (_, t) => Math.round((t * shift + len / 2) * 1000) / 1000);
  const env = waveformEnvelope(c.signal, c.sampleRate, 700);
  // Spectrogram for display: average groups of `g` frames (keeps figures and their PNG exports small).
  const g = Math.max(1, Math.ceil(c.fbank.frames / (c.maxColumns ?? 160)));
  const cols = Math.ceil(c.fbank.frames / g);
  const specTimes = Array.from({ length: cols }, (_, j) => Math.round(((j * g + (Math.min(c.fbank.frames, (j + 1) * g) - 1)) / 2 * shift + len / 2) * 1000) / 1000);
  const z: number[][] = [];
  for (let b = 0; b < c.fbank.dims; b++) {
    const rowv: number[] = [];
    for (let j = 0; j < cols; j++) {
      let s = 0, n = 0;
      for (let t = j * g; t < Math.min(c.fbank.frames, (j + 1) * g); t++) { s += c.fbank.data[t * c.fbank.dims + b]; n++; }
      rowv.push(Math.round((s / n) * 10) / 10);
    }
    z.push(rowv);
  }
  const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
  const segColour = (l: number): string => (l === 1 ? withAlpha(HIGH_LOW_COLORS.high, 0.3) : l === 0 ? withAlpha(HIGH_LOW_COLORS.low, 0.26) : 'rgba(150,150,150,0.18)');
  const shapes = (c.segments ?? []).map((sg, k) => ({
    type: 'rect', xref: 'x', yref: 'y3 domain', x0: round(sg.start * shift, 3), x1: round(sg.end * shift + len - shift, 3),
    y0: k % 2 ? 0 : 0.5, y1: k % 2 ? 0.5 : 1, fillcolor: segColour(sg.label), line: { width: 0 }, layer: 'below',
  }));
  const legend = c.segments?.length ? [
    { type: 'scatter', mode: 'markers', x: [null], y: [null], marker: { color: segColour(1), size: 12, symbol: 'square' }, name: 'high energy variation (task 1)', xaxis: 'x', yaxis: 'y3' },
    { type: 'scatter', mode: 'markers', x: [null], y: [null], marker: { color: segColour(0), size: 12, symbol: 'square' }, name: 'low energy variation', xaxis: 'x', yaxis: 'y3' },
  ] : [];
  return {
    data: [
      { type: 'scatter', x: env.t.map((v) => Math.round(v * 10000) / 10000), y: env.hi.map((v) => Math.round(v * 1000) / 1000), mode: 'lines', line: { width: 0.5, color: '#1f77b4' }, name: 'waveform', showlegend: false, xaxis: 'x', yaxis: 'y' },
      { type: 'scatter', x: env.t.map((v) => Math.round(v * 10000) / 10000), y: env.lo.map((v) => Math.round(v * 1000) / 1000), mode: 'lines', line: { width: 0.5, color: '#1f77b4' }, fill: 'tonexty', showlegend: false, xaxis: 'x', yaxis: 'y', hoverinfo: 'skip' },
      { type: 'heatmap', x: specTimes, z, colorscale: 'Viridis', showscale: false, xaxis: 'x', yaxis: 'y2', hovertemplate: 't %{x}s, mel bin %{y}: %{z}<extra></extra>' },
      { type: 'scatter', x: times, y: Array.from(c.energyDb, (v) => round(v)), mode: 'lines', name: 'RMS level (dBFS)', line: { color: '#d62728' }, xaxis: 'x', yaxis: 'y3', showlegend: false },
      { type: 'scatter', x: times, y: Array.from(c.f0, (v) => (v > 0 ? round(v, 1) : null)), mode: 'markers', marker: { size: 3, color: '#2ca02c' }, name: 'F0 (Hz)', xaxis: 'x', yaxis: 'y4', showlegend: false },
      ...legend,
    ],
    layout: {
      height: 720,
      grid: { rows: 4, columns: 1, pattern: 'coupled', roworder: 'top to bottom' },
      xaxis: { title: { text: 'time (s)' } },
      yaxis: { title: { text: 'amplitude' }, domain: [0.8, 1] },
      yaxis2: { title: { text: 'mel bin' }, domain: [0.42, 0.77] },
      yaxis3: { title: { text: 'level (dB)' }, domain: [0.22, 0.4] },
      yaxis4: { title: { text: 'F0 (Hz)' }, domain: [0, 0.2], ...(c.f0Range ? { range: c.f0Range, autorange: false } : { rangemode: 'tozero' }) },
      margin: { t: 50, l: 70, r: 20, b: 50 },
      shapes,
      showlegend: legend.length > 0, legend: { orientation: 'h', y: -0.12 },
    },
  };
}

/** Box plots (all points shown) of one value per item, one box per group, in the given group order. */
export function groupBoxFigure(groups: { name: string; values: number[] }[], yTitle: string): Figure {
  return {
    data: groups.map((g) => ({ type: 'box', name: `${g.name} (n=${g.values.length})`, y: g.values.map((v) => Math.round(v * 100) / 100), boxpoints: 'all', jitter: 0.4, pointpos: 0, marker: { size: 3 } })),
    layout: { yaxis: { title: { text: yTitle } }, showlegend: false, margin: { t: 50, b: 80 } },
  };
}

/**
 * Kaldi's mel filterbank (lib/audio/kaldi melBanks): top, the mel scale m(f) = 1127 ln(1 + f/700);
 * bottom, the `numBins` triangular filters over the FFT bins (512-point FFT at 16 kHz, 20 Hz to
 * Nyquist), equally spaced in mel, so narrow at low and wide at high frequencies.
 */
export function melFilterbankFigure(numBins = 80, sampleRate = 16000, paddedSize = 512, lowFreq = 20): Figure {
  const banks = melBanks(numBins, paddedSize, sampleRate, lowFreq, 0);
  const hzPerBin = sampleRate / paddedSize;
  const data: Record<string, unknown>[] = banks.map((b, i) => ({
    type: 'scatter', mode: 'lines', x: [b.start - 1, ...Array.from(b.weights, (_, j) => b.start + j), b.start + b.weights.length].map((k) => Math.round(k * hzPerBin)),
    y: [0, ...Array.from(b.weights, (w) => Math.round(w * 1000) / 1000), 0], line: { width: 1, color: CLUSTER_PALETTE[i % 10] }, name: `filter ${i}`, showlegend: false, xaxis: 'x2', yaxis: 'y2', hoverinfo: 'name',
  }));
  const fs = Array.from({ length: 81 }, (_, i) => i * (sampleRate / 2) / 80);
  data.push({ type: 'scatter', mode: 'lines', x: fs, y: fs.map((f) => Math.round(melScale(f))), name: 'm(f) = 1127 ln(1 + f/700)', line: { color: '#333' }, xaxis: 'x', yaxis: 'y', showlegend: false });
  const centres = Array.from({ length: numBins }, (_, i) => inverseMelScale(melScale(lowFreq) + (i + 1) * (melScale(sampleRate / 2) - melScale(lowFreq)) / (numBins + 1)));
  data.push({ type: 'scatter', mode: 'markers', x: centres.map((f) => Math.round(f)), y: centres.map((f) => Math.round(melScale(f))), name: 'filter centres', marker: { size: 4, color: '#d62728' }, xaxis: 'x', yaxis: 'y', showlegend: false });
  return {
    data,
    layout: {
      height: 620,
      xaxis: { domain: [0, 1], anchor: 'y', title: { text: 'frequency f (Hz)' } },
      yaxis: { domain: [0.62, 1], title: { text: 'mel m(f)' } },
      xaxis2: { domain: [0, 1], anchor: 'y2', title: { text: 'frequency (Hz), FFT bins of 31.25 Hz' } },
      yaxis2: { domain: [0, 0.48], title: { text: 'filter weight' }, range: [0, 1.05] },
      margin: { t: 50, l: 70, r: 20, b: 50 },
    },
  };
}
