/**
 * Plotly figures: shown inline in the notebook and written to `figures/` as interactive HTML
 * (which loads `figures/plotly.min.js`, copied from plotly.js-dist-min, so it works offline).
 * PNG/SVG export through headless Chromium lives in ./export.ts.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { figuresDir, repoRoot } from '../paths';
import { writeFileAtomic } from '../store/atomic';

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

export interface ShownFigure { name: string; html: string; png?: string; svg?: string }

/**
 * Save a figure under figures/ and show it inline when running in a notebook. Returns the paths.
 */
export function showFigure(fig: Figure, name: string, title = name): ShownFigure {
  const html = saveFigureHtml(fig, name, title);
  notebookDisplay()?.html(inlineFigureHtml(fig, title));
  return { name, html };
}
