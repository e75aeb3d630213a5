/**
 * Plotly figure specs for the face front-end (notebook 03): frames with their landmarks drawn on
 * them, blendshape / AU traces over time, and activation beside the audio energy. Pure builders;
 * show them with lib/show/figures `showFigure`.
 */
import type { Figure } from '../show/figures';
import { LOWER_FACE, RIGID_ANCHORS, UPPER_FACE } from './activation';
import { N_LANDMARKS } from './landmarker';

export interface OverlayFrame {
  /** JPEG of the frame (frames.ts `frameJpeg`). */
  jpeg: Uint8Array;
  /** The frame's landmarks [478 * 3], MediaPipe normalised. */
  landmarks: ArrayLike<number>;
  /** Title above the frame. */
  label: string;
  /** Pixel size the JPEG was made at. */
  width: number;
  height: number;
}

const REGIONS: { name: string; idx: readonly number[]; color: string; size: number }[] = [
  { name: 'upper face (activation)', idx: UPPER_FACE, color: '#e45756', size: 5 },
  { name: 'lower face', idx: LOWER_FACE, color: '#4c78a8', size: 4 },
  { name: 'rigid anchors (alignment)', idx: RIGID_ANCHORS, color: '#f2cf5b', size: 6 },
];

/** Frames side by side, each with its 478 landmarks (regions coloured). */
export function landmarkOverlayFigure(frames: OverlayFrame[]): Figure {
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = { height: 420, showlegend: true, legend: { orientation: 'h', y: -0.05 }, margin: { l: 10, r: 10, t: 60, b: 10 }, annotations: [] };
  const gap = 0.02;
  const w = (1 - gap * (frames.length - 1)) / frames.length;
  const inRegion = new Set([...UPPER_FACE, ...LOWER_FACE, ...RIGID_ANCHORS]);
  frames.forEach((f, i) => {
    const ax = i === 0 ? '' : String(i + 1);
    const xa = `x${ax}`, ya = `y${ax}`;
    data.push({ type: 'image', source: `data:image/jpeg;base64,${Buffer.from(f.jpeg).toString('base64')}`, xaxis: xa, yaxis: ya, hoverinfo: 'skip' });
    const pts = (idx: readonly number[]) => ({
      x: idx.map((k) => f.landmarks[3 * k] * f.width),
      y: idx.map((k) => f.landmarks[3 * k + 1] * f.height),
      text: idx.map((k) => `landmark ${k}`),
    });
    const others = Array.from({ length: N_LANDMARKS }, (_, k) => k).filter((k) => !inRegion.has(k));
    data.push({ type: 'scattergl', mode: 'markers', name: 'other landmarks', legendgroup: 'other', showlegend: i === 0, ...pts(others), marker: { size: 2, color: 'rgba(255,255,255,0.6)' }, xaxis: xa, yaxis: ya });
    for (const r of REGIONS) data.push({ type: 'scattergl', mode: 'markers', name: r.name, legendgroup: r.name, showlegend: i === 0, ...pts(r.idx), marker: { size: r.size, color: r.color }, xaxis: xa, yaxis: ya });
    layout[`xaxis${ax}`] = { domain: [i * (w + gap), i * (w + gap) + w], range: [0, f.width], visible: false, constrain: 'domain' };
    layout[`yaxis${ax}`] = { range: [f.height, 0], visible: false, scaleanchor: xa, constrain: 'domain' };
    (layout.annotations as unknown[]).push({ text: f.label, xref: 'paper', yref: 'paper', x: i * (w + gap) + w / 2, y: 1.08, showarrow: false });
  });
  return { data, layout };
}

/** Several named series over time as lines. */
export function tracesFigure(times: ArrayLike<number>, series: { name: string; values: ArrayLike<number> }[], yTitle: string): Figure {
  return {
    data: series.map((s) => ({ type: 'scatter', mode: 'lines', name: s.name, x: Array.from(times), y: Array.from(s.values, (v) => (Number.isFinite(v) ? v : null)) })),
    layout: { height: 380, xaxis: { title: { text: 'time (s)' } }, yaxis: { title: { text: yTitle } }, legend: { orientation: 'h', y: -0.25 } },
  };
}

/** A [rows x columns] matrix as a heatmap (e.g. AUs over time, or AU presence per emotion). */
export function heatmapFigure(z: number[][], x: (string | number)[], y: string[], title: { x: string; colorbar: string }, zmax = 1): Figure {
  return {
    data: [{ type: 'heatmap', z, x, y, zmin: 0, zmax, colorscale: 'Viridis', colorbar: { title: { text: title.colorbar } } }],
    layout: { height: Math.max(300, 22 * y.length + 120), xaxis: { title: { text: title.x } }, yaxis: { automargin: true } },
  };
}

/** Facial activation (left axis) beside the audio energy (right axis), on one time axis. */
export function activationEnergyFigure(
  faceTimes: ArrayLike<number>,
  upper: ArrayLike<number>,
  lower: ArrayLike<number>,
  energyTimes: ArrayLike<number>,
  energyDb: ArrayLike<number>,
): Figure {
  const clean = (a: ArrayLike<number>) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
  return {
    data: [
      { type: 'scatter', mode: 'lines', name: 'upper-face activation', x: Array.from(faceTimes), y: clean(upper), line: { color: '#e45756' } },
      { type: 'scatter', mode: 'lines', name: 'lower-face activation', x: Array.from(faceTimes), y: clean(lower), line: { color: '#4c78a8' } },
      { type: 'scatter', mode: 'lines', name: 'audio energy (dBFS, 10 ms)', x: Array.from(energyTimes), y: clean(energyDb), yaxis: 'y2', line: { color: '#9d9d9d', width: 1 } },
    ],
    layout: {
      height: 420,
      xaxis: { title: { text: 'time (s)' } },
      yaxis: { title: { text: 'landmark speed (inter-ocular distances / s)' } },
      yaxis2: { title: { text: 'energy (dBFS)' }, overlaying: 'y', side: 'right', showgrid: false },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}
