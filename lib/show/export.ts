/**
 * PNG and SVG export of plotly figures through headless Chromium (playwright-core).
 *
 * One browser per process ("per run"), started lazily on the first figure and reused for every
 * later one. The browser lives in a worker thread; the caller blocks on `Atomics.wait` until the
 * worker has written the files, so `showFigure()` stays synchronous for every notebook and CLI
 * that already calls it, and a notebook kernel that is shut down right after its last cell never
 * loses a half-exported figure. Measured on this machine: launch + plotly load ~2.7 s once, then
 * ~50 ms per PNG and ~30 ms per SVG.
 *
 * Chromium: `CHROMIUM_PATH`, else /usr/bin/chromium. When it is absent (or fails to start), export
 * is skipped with a reason (`exportStatus()`), and HTML figures are still written by figures.ts.
 * `EMOLAB_FIGURE_EXPORT=0` turns export off, `=1` forces it on; by default it is on, except under
 * `node --test` (NODE_TEST_CONTEXT set) so unrelated unit tests never start a browser.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { repoRoot } from '../paths';

export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage',
];

/** The Chromium executable to use (not checked for existence). */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_PATH && env.CHROMIUM_PATH.trim() ? env.CHROMIUM_PATH.trim() : '/usr/bin/chromium';
}

/** Whether figures should be exported by default in this process. */
export function exportWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.EMOLAB_FIGURE_EXPORT?.trim();
  if (v === '0' || v === 'false' || v === 'off') return false;
  if (v === '1' || v === 'true' || v === 'on') return true;
  return env.NODE_TEST_CONTEXT === undefined;
}

export interface FigureSpec { data: unknown[]; layout: Record<string, unknown> }

export interface ExportRequest {
  spec: FigureSpec;
  /** Output paths; written atomically. */
  pngPath: string;
  svgPath: string;
  width?: number;
  height?: number;
  /** PNG pixel ratio for the file (default 2). */
  scale?: number;
  /** Also return a 1x PNG for embedding in a notebook output. */
  inline?: boolean;
}

export interface ExportResult { png?: string; svg?: string; inlinePng?: Uint8Array; skipped?: string }

// The worker is plain CommonJS JavaScript, evaluated as a string (no TypeScript loader needed inside).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { chromium } = require(workerData.playwright);
const { port, signal } = workerData;
let browser; let page; let startError;
const ready = (async () => {
  browser = await chromium.launch({ executablePath: workerData.executablePath, args: workerData.flags, headless: true, timeout: 60000 });
  page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ path: workerData.plotly });
})().catch((e) => { startError = e; });
function writeAtomic(file, data) {
  const tmp = file + '.tmp-' + process.pid;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
function reply(msg) { port.postMessage(msg); Atomics.store(signal, 0, 1); Atomics.notify(signal, 0); }
port.on('message', async (job) => {
  if (job.type === 'close') {
    try { await ready; if (browser) await browser.close(); } catch (e) {}
    reply({ id: job.id, closed: true });
    port.close();
    return;
  }
  try {
    await ready;
    if (startError) throw startError;
    const out = await page.evaluate(async ({ spec, width, height, scale, inline }) => {
      const fig = { data: spec.data, layout: Object.assign({}, spec.layout, { width, height }) };
      const png = await Plotly.toImage(fig, { format: 'png', width, height, scale });
      const svg = await Plotly.toImage(fig, { format: 'svg', width, height });
      const small = inline ? await Plotly.toImage(fig, { format: 'png', width, height, scale: 1 }) : undefined;
      return { png, svg, small };
    }, { spec: job.spec, width: job.width, height: job.height, scale: job.scale, inline: job.inline });
    const b64 = (u) => Buffer.from(u.slice(u.indexOf(',') + 1), 'base64');
    writeAtomic(job.pngPath, b64(out.png));
    const svgText = out.svg.startsWith('data:image/svg+xml;base64,') ? b64(out.svg).toString('utf8') : decodeURIComponent(out.svg.slice(out.svg.indexOf(',') + 1));
    writeAtomic(job.svgPath, svgText);
    reply({ id: job.id, png: job.pngPath, svg: job.svgPath, inlinePng: out.small ? new Uint8Array(b64(out.small)) : undefined });
  } catch (e) {
    reply({ id: job.id, error: String(e && e.message ? e.message : e).split('\\n')[0] });
  }
});
`;

interface Exporter { worker: Worker; port: MessagePort; signal: Int32Array; nextId: number }

let exporter: Exporter | undefined;
let disabledReason: string | undefined;

const req = createRequire(join(repoRoot, 'package.json'));

/** Why export is unavailable in this process, or undefined when it is (or may be) available. */
export function exportStatus(): { available: boolean; reason?: string; executablePath: string } {
  if (disabledReason) return { available: false, reason: disabledReason, executablePath: chromiumPath() };
  const exe = chromiumPath();
  if (!existsSync(exe)) return { available: false, reason: `Chromium not found at ${exe} (set CHROMIUM_PATH)`, executablePath: exe };
  return { available: true, executablePath: exe };
}

function openExporter(): Exporter | undefined {
  if (exporter) return exporter;
  const status = exportStatus();
  if (!status.available) { disabledReason = status.reason; return undefined; }
  let playwright: string;
  let plotly: string;
  try {
    playwright = req.resolve('playwright-core');
    plotly = req.resolve('plotly.js-dist-min/plotly.min.js');
  } catch (e) {
    disabledReason = `playwright-core or plotly.js-dist-min not installed (${(e as Error).message})`;
    return undefined;
  }
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { port: port2, signal, playwright, plotly, executablePath: status.executablePath, flags: [...CHROMIUM_FLAGS] },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  worker.on('error', (e) => { disabledReason = `figure export worker failed: ${e.message}`; exporter = undefined; });
  exporter = { worker, port: port1, signal, nextId: 1 };
  return exporter;
}

interface Reply { id: number; png?: string; svg?: string; inlinePng?: Uint8Array; error?: string; closed?: boolean }

function callSync(ex: Exporter, job: Record<string, unknown>, timeoutMs: number): Reply | undefined {
  const id = ex.nextId++;
  Atomics.store(ex.signal, 0, 0);
  ex.port.postMessage({ ...job, id });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = receiveMessageOnPort(ex.port);
    if (got) {
      const r = got.message as Reply;
      if (r.id === id) return r;
      continue; // a late reply to an earlier, timed-out job
    }
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    Atomics.wait(ex.signal, 0, 0, Math.min(left, 1000));
    Atomics.store(ex.signal, 0, 0);
  }
}

/**
 * Write `req.pngPath` and `req.svgPath` for a figure, synchronously, through the process' one
 * headless browser (started on first use). Never throws for a missing or failing browser: the
 * result says `skipped` with the reason instead.
 */
export function exportFigureSync(request: ExportRequest): ExportResult {
  if (!exportWanted()) return { skipped: 'figure export disabled (EMOLAB_FIGURE_EXPORT=0 or running under node --test)' };
  const first = exporter === undefined;
  const ex = openExporter();
  if (!ex) return { skipped: disabledReason };
  const reply = callSync(ex, {
    type: 'export', spec: request.spec, pngPath: request.pngPath, svgPath: request.svgPath,
    width: request.width ?? 1000, height: request.height ?? 550, scale: request.scale ?? 2, inline: request.inline ?? false,
  }, first ? 90_000 : 30_000);
  if (!reply) {
    disabledReason = 'headless Chromium did not answer in time; PNG/SVG export turned off for this run';
    return { skipped: disabledReason };
  }
  if (reply.error) {
    if (first) disabledReason = `headless Chromium could not start: ${reply.error}`;
    return { skipped: first ? disabledReason : `export failed: ${reply.error}` };
  }
  return { png: reply.png, svg: reply.svg, inlinePng: reply.inlinePng };
}

/** Close the browser (if one was started). Call at the end of a CLI run; notebooks may skip it. */
export async function closeFigureExporter(): Promise<void> {
  const ex = exporter;
  exporter = undefined;
  if (!ex) return;
  callSync(ex, { type: 'close' }, 15_000);
  ex.port.close();
  await ex.worker.terminate();
}

/** Forget a previous failure so the next export tries to start the browser again (tests). */
export function resetFigureExporter(): void {
  disabledReason = undefined;
}
