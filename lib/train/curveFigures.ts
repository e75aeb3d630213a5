/**
 * Training curves: a plotly figure of train loss, dev loss and dev accuracy per epoch (with the
 * dev majority-class rate as a dashed line), and a live version for notebooks.
 *
 * `liveCurves()` returns an `onEpoch` hook for `train()` / `pretrain()`. In a tslab notebook the
 * first epoch sends one display output with a Jupyter display id and every later epoch replaces it
 * (update_display_data, which JupyterLab and nbconvert/nbclient both honour), so the figure grows
 * in place while training runs; `finish()` swaps it for the final figure, saved under figures/ by
 * lib/report showFigure (HTML, PNG, SVG). Outside notebooks the hook does nothing (the progress bar
 * reports in the terminal) and `finish()` only saves the figure.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inNotebook, inlineFigureHtml, showFigure, type Figure, type ShownFigure } from '../show/figures';
import { repoRoot } from '../paths';
import type { EpochRecord } from './trainer';

const req = createRequire(join(repoRoot, 'package.json'));

/** The curves of a history as a two-panel plotly figure (losses left, accuracies right). */
export function trainingCurvesFigure(history: EpochRecord[]): Figure {
  const epochs = history.map((h) => h.epoch);
  const heads = [...new Set(history.flatMap((h) => Object.keys(h.dev ?? {})))];
  const data: Record<string, unknown>[] = [
    { x: epochs, y: history.map((h) => h.trainLoss), name: 'train loss (all heads)', mode: 'lines+markers', xaxis: 'x', yaxis: 'y' },
  ];
  for (const head of heads) {
    data.push({ x: epochs, y: history.map((h) => h.dev?.[head]?.loss ?? null), name: `dev loss ${head}`, mode: 'lines+markers', xaxis: 'x', yaxis: 'y', line: { dash: 'dot' } });
    data.push({ x: epochs, y: history.map((h) => h.dev?.[head]?.accuracy ?? null), name: `dev accuracy ${head}`, mode: 'lines+markers', xaxis: 'x2', yaxis: 'y2' });
    data.push({ x: epochs, y: history.map((h) => h.dev?.[head]?.majorityRate ?? null), name: `dev majority rate ${head}`, mode: 'lines', xaxis: 'x2', yaxis: 'y2', line: { dash: 'dash', width: 1 } });
  }
  return {
    data,
    layout: {
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: 'loss' } },
      xaxis2: { title: { text: 'epoch' } }, yaxis2: { title: { text: 'accuracy' }, range: [0, 1] },
      height: 420, legend: { orientation: 'h', y: -0.25 },
    },
  };
}

type DisplayWriter = (d: unknown, update: boolean) => void;

function displayWriter(): DisplayWriter | undefined {
  if (!inNotebook()) return undefined;
  try {
    return (req('tslab/dist/jupyter') as { lastWriteDisplayData?: DisplayWriter }).lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

export interface LiveCurves {
  /** Pass as `onEpoch`. */
  onEpoch: (record: EpochRecord, history: EpochRecord[]) => void;
  /** Replace the live output by the final figure (saved as figures/<name>.*). */
  finish: (history: EpochRecord[]) => ShownFigure;
}

let liveCounter = 0;

/** Live-updating training curves for a notebook (see the module comment). */
export function liveCurves(name: string, title: string): LiveCurves {
  const displayId = `emolab-live-${process.pid}-${++liveCounter}`;
  let shown = false;
  const send = (html: string, text: string) => {
    const write = displayWriter();
    if (!write) return;
    write({ data: { 'text/html': html, 'text/plain': text }, metadata: {}, transient: { display_id: displayId } }, shown);
    shown = true;
  };
  return {
    onEpoch(record, history) {
      const dev = Object.entries(record.dev ?? {}).map(([h, m]) => `${h} dev acc ${(100 * m.accuracy).toFixed(1)}%`).join(', ');
      send(inlineFigureHtml(trainingCurvesFigure(history), `${title} (epoch ${record.epoch})`), `epoch ${record.epoch}: train loss ${record.trainLoss.toFixed(4)}${dev ? ', ' + dev : ''}`);
    },
    finish(history) {
      if (shown) send(`<p>${title}: ${history.length} epochs; final curves below.</p>`, `${title}: ${history.length} epochs`);
      return showFigure(trainingCurvesFigure(history), name, title);
    },
  };
}
