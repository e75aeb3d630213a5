/**
 * Plotly figures: shown inline in the notebook and written to `figures/` as interactive HTML
 * (which loads `figures/plotly.min.js`, copied from plotly.js-dist-min, so it works offline).
 * PNG/SVG export through headless Chromium lives in ./export.ts.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { figuresDir, repoRoot } from '../paths';
import { writeFileAtomic } from '../atomic';
import { exportFigureSync } from './export';
import { pca } from './pca';

export interface Figure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

const req = createRequire(join(repoRoot, 'package.json'));
export const plotlyVersion: string = (req('plotly.js-dist-min/package.json') as { version: string }).version;
const plotlyJsPath = (): string => req.resolve('plotly.js-dist-min/plotly.min.js');

/** True inside a tslab kernel (notebooks), false in the CLI and tests. */
export function inNotebook(): boolean {
  return process.argv.some((a) => a.includes('tslab')) && process.argv.includes('kernel');
}

function safeName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`figure name "${name}" must use letters, digits, "_", "-", "."`);
  return name;
}

/** A standalone HTML page for a figure; `plotlySrc` is the script URL to load plotly from. */
export function figureHtml(fig: Figure, title: string, plotlySrc: string): string {
  const spec = JSON.stringify({ data: fig.data, layout: { title: { text: title }, ...fig.layout }, config: { responsive: true, ...fig.config } });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<script src="${plotlySrc}"></script></head>
<body style="margin:0"><div id="fig" style="width:100%;height:100vh"></div>
<script>const s = ${spec}; Plotly.newPlot('fig', s.data, s.layout, s.config);</script>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));
}

/** Write `figures/<name>.html` (and plotly.min.js beside it once). Returns the path. */
export function saveFigureHtml(fig: Figure, name: string, title = name, dir = figuresDir()): string {
  mkdirSync(dir, { recursive: true });
  const lib = join(dir, 'plotly.min.js');
  if (!existsSync(lib)) copyFileSync(plotlyJsPath(), lib);
  const out = join(dir, `${safeName(name)}.html`);
  writeFileAtomic(out, figureHtml(fig, title, 'plotly.min.js'));
  return out;
}

let counter = 0;

/** HTML fragment that draws the figure inside a notebook output (plotly from its CDN, by version). */
export function inlineFigureHtml(fig: Figure, title: string): string {
  const id = `emolab-fig-${process.pid}-${++counter}`;
  const spec = JSON.stringify({ data: fig.data, layout: { title: { text: title }, ...fig.layout } });
  const cdn = `https://cdn.plot.ly/plotly-${plotlyVersion}.min.js`;
  return `<div id="${id}" style="width:100%;min-height:420px"></div>
<script>(function(){const s=${spec};const draw=()=>Plotly.newPlot('${id}',s.data,s.layout,{responsive:true});
if(window.Plotly){draw();}else{const t=document.createElement('script');t.src='${cdn}';t.onload=draw;document.head.appendChild(t);}})();</script>`;
}

/** Display hook for tslab; undefined outside a notebook. */
export function notebookDisplay(): { html(s: string): void; png(b: Uint8Array): void; raw(type: string, b: string | Uint8Array): unknown } | undefined {
  if (!inNotebook()) return undefined;
  try {
    return (req('tslab') as { display: { html(s: string): void; png(b: Uint8Array): void; raw(type: string, b: string | Uint8Array): unknown } }).display;
  } catch {
    return undefined;
  }
}

export interface ShownFigure {
  name: string;
  html: string;
  png?: string;
  svg?: string;
  /** Why PNG/SVG were not written (no Chromium, export disabled, ...); undefined when they were. */
  exportSkipped?: string;
}

/** Options of showFigure; the defaults suit every notebook. */
export interface ShowFigureOptions {
  /** Pixel size of the PNG/SVG export (default: layout.width/height, else 1000 x 550). */
  width?: number;
  height?: number;
  /** Output folder (default figures/). */
  dir?: string;
}

let skipNoted = false;

/** Send one notebook output carrying both the interactive HTML and a static PNG. */
function displayBundle(html: string, png: Uint8Array | undefined): void {
  const display = notebookDisplay();
  if (!display) return;
  if (!png) { display.html(html); return; }
  const b64 = Buffer.from(png).toString('base64');
  // The <img> is the fallback where scripts do not run (GitHub, nbviewer); plotly removes it once drawn.
  const imgId = `emolab-img-${process.pid}-${++counter}`;
  const withFallback = `<img id="${imgId}" src="data:image/png;base64,${b64}" style="max-width:100%"/>\n${html}
<script>(function(){const i=document.getElementById('${imgId}');if(i&&window.Plotly)i.remove();else if(i)setTimeout(()=>{if(window.Plotly)i.remove();},1500);})();</script>`;
  try {
    const jupyter = req('tslab/dist/jupyter') as { lastWriteDisplayData?: (d: unknown, update: boolean) => void };
    if (jupyter.lastWriteDisplayData) {
      // The PNG travels once, inside the HTML: a second image/png copy would double notebook size.
      jupyter.lastWriteDisplayData({ data: { 'text/html': withFallback, 'text/plain': 'plotly figure' }, metadata: {}, transient: {} }, false);
      return;
    }
  } catch { /* fall through to the public API */ }
  display.html(withFallback);
}

/**
 * Save a figure under figures/ as interactive HTML and, through the process' one headless Chromium
 * (./export.ts), as PNG and SVG; show it inline when running in a notebook (HTML plus the PNG, so
 * renderers without JavaScript still show it). Returns the paths; when Chromium is absent the
 * HTML is still written, `exportSkipped` says why, and a notebook prints that once.
 */
export function showFigure(fig: Figure, name: string, title = name, opts: ShowFigureOptions = {}): ShownFigure {
  const dir = opts.dir ?? figuresDir();
  const html = saveFigureHtml(fig, name, title, dir);
  const layout = { title: { text: title }, ...fig.layout };
  const num = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  const exported = exportFigureSync({
    spec: { data: fig.data, layout },
    pngPath: join(dir, `${name}.png`),
    svgPath: join(dir, `${name}.svg`),
    width: opts.width ?? num(fig.layout?.width),
    height: opts.height ?? num(fig.layout?.height),
    inline: inNotebook(),
  });
  if (inNotebook()) {
    displayBundle(inlineFigureHtml(fig, title), exported.inlinePng);
    if (exported.skipped && !skipNoted) {
      skipNoted = true;
      console.log(`PNG/SVG export skipped: ${exported.skipped}. Interactive HTML written to ${html}.`);
    }
  }
  return { name, html, png: exported.png, svg: exported.svg, exportSkipped: exported.skipped };
}

/**
 * One colour per arm (pretext task or model), the same in every notebook figure and in the results
 * explorer: the SER arms of Goncalves & Busso, the non-neural reference, the pretext heads (same
 * colour as their arm) and the HFLEA stages' models.
 */
export const ARM_COLORS: Readonly<Record<string, string>> = {
  baseline: '#7f7f7f', energy: '#1f77b4', activation: '#2ca02c', au: '#9467bd', all: '#d62728', functionals: '#8c564b',
  ft: '#17becf', hflea: '#ff7f0e', 'ft-no-tapt': '#bcbd22',
};

/** High / low pretext classes (energy variation, facial activation), in every notebook. */
export const HIGH_LOW_COLORS: Readonly<{ high: string; low: string }> = { high: '#e6550d', low: '#3182bd' };

/** '#rrggbb' -> 'rgba(r,g,b,a)'. */
export const withAlpha = (hex: string, a: number): string => `rgba(${parseInt(hex.slice(1, 3), 16)},${parseInt(hex.slice(3, 5), 16)},${parseInt(hex.slice(5, 7), 16)},${a})`;

/** A categorical palette for cluster ids (Tableau 10 + 10 lighter tones); ids beyond 20 wrap. */
export const CLUSTER_PALETTE: readonly string[] = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63', '#d4a6c8', '#fabfd2', '#d7b5a6', '#79706e',
];

/** A stepwise plotly colorscale giving each integer id in [0, k) its own palette colour (zmin 0, zmax k - 1). */
export function categoricalColorscale(k: number, palette: readonly string[] = CLUSTER_PALETTE): [number, string][] {
  if (k <= 1) return [[0, palette[0]], [1, palette[0]]];
  const out: [number, string][] = [];
  for (let i = 0; i < k; i++) {
    const c = palette[i % palette.length];
    out.push([i / k, c], [(i + 1) / k, c]);
  }
  return out;
}

/**
 * Confusion matrix heatmap: rows = true class, columns = predicted class (axis titles say so), cells
 * coloured by the share of the true class (row-normalised, %) and labelled with the counts.
 */
export function confusionFigure(cm: number[][], classes: string[], title?: string): Figure {
  const z = cm.map((row) => { const s = row.reduce((a, b) => a + b, 0) || 1; return row.map((v) => Math.round(1000 * v / s) / 10); });
  return {
    data: [{ type: 'heatmap', z, x: classes, y: classes, text: cm, texttemplate: '%{text}', zmin: 0, zmax: 100, colorscale: 'Blues', colorbar: { title: { text: '% of true class' } }, hovertemplate: 'true %{y}, predicted %{x}: %{text} (%{z}% of the row)<extra></extra>' }],
    layout: {
      ...(title ? { annotations: [{ text: title, xref: 'paper', yref: 'paper', x: 0.5, y: 1.08, showarrow: false }] } : {}),
      xaxis: { title: { text: 'predicted class' }, side: 'bottom' }, yaxis: { title: { text: 'true class' }, autorange: 'reversed' },
      width: 560, height: 480, margin: { t: 60, l: 100, b: 80 },
    },
  };
}

/** Emotion colours shared by the embedding plots. */
export const EMOTION_COLORS: Readonly<Record<string, string>> = { anger: '#d62728', happiness: '#ff7f0e', neutral: '#7f7f7f', sadness: '#1f77b4', disgust: '#8c564b', fear: '#9467bd', boredom: '#bcbd22', surprise: '#e377c2', contempt: '#17becf' };

/**
 * Embeddings in 2-D, one column per stage (PCA of that stage's vectors: each column has its own
 * axes), one row per colouring (e.g. by emotion, by speaker). `names` label the points on hover.
 */
export function embeddingPanelsFigure(stages: { stage: string; vectors: number[][] }[], colourings: { title: string; groups: string[]; colors?: Readonly<Record<string, string>> }[], names: string[] = []): Figure {
  const n = stages.length, rows = colourings.length;
  const data: Record<string, unknown>[] = [];
  const annotations: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = { height: 300 * rows + 80, showlegend: true, legend: { orientation: 'h', y: -0.06 }, margin: { t: 70, l: 40, r: 10 } };
  const gap = 0.03, w = (1 - gap * (n - 1)) / n, rh = (1 - 0.08 * (rows - 1)) / rows;
  stages.forEach((st, i) => {
    const p = pca(st.vectors, 2);
    const xs = p.projected.map((q) => Math.round(q[0] * 1000) / 1000), ys = p.projected.map((q) => Math.round((q[1] ?? 0) * 1000) / 1000);
    const dom = [i * (w + gap), i * (w + gap) + w];
    annotations.push({ text: st.stage, xref: 'paper', yref: 'paper', x: (dom[0] + dom[1]) / 2, y: 1.04, showarrow: false, font: { size: 11 } });
    colourings.forEach((col, r) => {
      const k = r * n + i + 1, ax = k === 1 ? '' : String(k);
      const top = 1 - r * (rh + 0.08);
      layout[`xaxis${ax}`] = { domain: dom, anchor: `y${ax}`, showticklabels: false, zeroline: false, ...(r === rows - 1 ? { title: { text: `PC1 (${(100 * (p.explained[0] ?? 0)).toFixed(0)}%) / PC2 (${(100 * (p.explained[1] ?? 0)).toFixed(0)}%)`, font: { size: 10 } } } : {}) };
      layout[`yaxis${ax}`] = { domain: [top - rh, top], anchor: `x${ax}`, showticklabels: false, zeroline: false };
      const groups = [...new Set(col.groups)].sort();
      groups.forEach((g, gi) => {
        const idx = col.groups.map((x, j) => (x === g ? j : -1)).filter((j) => j >= 0);
        data.push({ type: 'scatter', mode: 'markers', x: idx.map((j) => xs[j]), y: idx.map((j) => ys[j]), name: `${col.title}: ${g}`, legendgroup: `${r}-${g}`, showlegend: i === 0,
          marker: { size: 5, symbol: r === 0 ? 'circle' : 'diamond', color: col.colors?.[g] ?? CLUSTER_PALETTE[(gi + 10 * r) % CLUSTER_PALETTE.length] }, xaxis: `x${ax}`, yaxis: `y${ax}`,
          ...(names.length ? { hovertext: idx.map((j) => names[j]), hoverinfo: 'text' } : {}) });
      });
      if (i === 0) annotations.push({ text: `by ${col.title}`, xref: 'paper', yref: 'paper', x: -0.025, y: top - rh / 2, textangle: -90, showarrow: false });
    });
  });
  layout.annotations = annotations;
  return { data, layout };
}
