/**
 * The results explorer: `npx emolab report --html` writes ONE self-contained interactive page
 * (results/explorer.html) with plotly inlined and every number computed from the records, so it
 * opens from disk with no network.
 *
 * It gathers every experiment under the runs folder (or results/reference with --reference):
 * - SER fine-tuning records (runs/ser/<experiment>/<mode>/<arm>/seed-<s>/<fold>.json), one group
 *   per (experiment, mode), the functionals reference joining each mode (as lib/report/ser does);
 * - HFLEA records (runs/hflea/<experiment>/<fold>.json, lib/align/experiment), one group per
 *   experiment, the fine-tuned model as baseline;
 * - pretext runs (runs/<name>/run.json, lib/report/compare): held-out accuracy vs majority rate;
 * - the committed tables of lib/report/ser (the "official" numbers, all records);
 * - the papers' claims.
 *
 * The page filters the models by corpus, profile, arm, mode, fold and seed and recomputes, in the
 * browser (lib/report/explorer.client.js), exactly what lib/eval computes for the table's "pooled"
 * column: each utterance's class probabilities averaged over the selected seeds (ties to the lowest
 * seed's prediction, else the lowest class; lib/eval/ensemble), all selected folds pooled, then
 * macro precision / recall / F1, UA and WA from the confusion matrix (lib/eval/metrics). CIs on
 * the page are plain percentile bootstraps over test speakers (400 resamples, fixed seed; paired
 * for the differences); the committed tables use the expanded percentile interval and the exact
 * randomization test, so their CIs are a little wider for few speakers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { REFERENCE_ARMS } from '../eval/aggregate';
import { ARM_LABELS, listFoldResults, type FoldResult } from '../finetune/results';
import { repoRoot, resultsDir, runsRoot } from '../paths';
import { writeFileAtomic } from '../atomic';
import { pretrainSummaries } from './compare';
import { ARM_COLORS } from '../show/figures';
import { buildSerReports, evaluatedFromResult, PAPER_CLAIMS, REFERENCE_LABELS } from './ser';

/** Li et al.'s claim, from their abstract (the per-row table is not transcribed). */
export const LI2024_CLAIMS = {
  citation: 'Q. Li et al., "Frame-level emotional state alignment method for speech emotion recognition", ICASSP 2024',
  corpus: 'IEMOCAP (4 classes)',
  statement: 'the frame-level alignment (pseudo-label pretraining + attention fine-tuning) on top of the TAPT fine-tuned HuBERT performs better than state-of-the-art methods',
} as const;

export interface ExplorerGroup {
  key: string;
  source: 'ser' | 'hflea';
  experiment: string;
  corpus: string;
  mode: string;
  classes: string[];
  baseline: string;
  armLabels: Record<string, string>;
  armOrder: string[];
}

export interface ExplorerModel {
  /** Index into groups. */
  g: number;
  arm: string;
  mode: string;
  fold: string;
  seed: number;
  profile: string;
  corpus: string;
  ids: string[];
  truth: number[];
  pred: number[];
  /** Class probabilities rounded to 6 decimals (as stored); absent: the model counts as a one-hot vote. */
  probs?: number[][];
  speakers: (string | null)[];
}

export interface ExplorerPretext {
  run: string;
  task: string;
  corpus: string;
  profile: string;
  head: string;
  accuracy: number;
  majorityRate: number;
  n: number;
}

export interface ExplorerData {
  title: string;
  /** Where the records came from, relative to the repository (never a machine path). */
  source: string;
  groups: ExplorerGroup[];
  models: ExplorerModel[];
  pretext: ExplorerPretext[];
  tables: { title: string; markdown: string }[];
  claims: { goncalves: typeof PAPER_CLAIMS; li: typeof LI2024_CLAIMS };
  armColors: Record<string, string>;
}

/** One HFLEA record (written by lib/align/experiment per fold): predictions of each stage's model. */
export interface HfleaFoldRecord {
  schema: 'emolab.hflea-fold.v1';
  experiment: string;
  corpus: string;
  profile: string;
  fold: string;
  seed: number;
  classes: string[];
  ids: string[];
  speakers: string[];
  truth: number[];
  /** Per evaluated model (e.g. 'ft', 'hflea'): its test predictions. */
  arms: Record<string, { label: string; pred: number[] }>;
  baseline: string;
}

export const hfleaRecordsRoot = (root: string = runsRoot()): string => join(root, 'hflea');

function hfleaRecords(root: string): HfleaFoldRecord[] {
  const base = hfleaRecordsRoot(root);
  if (!existsSync(base)) return [];
  const out: HfleaFoldRecord[] = [];
  for (const exp of readdirSync(base).sort()) {
    const dir = join(base, exp);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.json') || f.includes('.tmp')) continue;
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as HfleaFoldRecord;
      if (r.schema === 'emolab.hflea-fold.v1') out.push(r);
    }
  }
  return out;
}

const profileOf = (r: FoldResult): string => String((r.runInfo as { profile?: unknown } | undefined)?.profile ?? '?');
const armLabel = (arm: string): string => (ARM_LABELS as Record<string, string>)[arm] ?? REFERENCE_LABELS[arm] ?? arm;

/** Everything the page shows, from the records under `root` alone. */
export function explorerData(root: string = runsRoot(), opts: { tables?: boolean } = {}): ExplorerData {
  const groups: ExplorerGroup[] = [];
  const models: ExplorerModel[] = [];
  const ser = listFoldResults({ root });
  const nonRef = ser.filter((r) => !REFERENCE_ARMS.includes(r.arm));
  const keyOf = (e: string, m: string): string => `ser|${e}|${m}`;
  for (const r of nonRef) {
    const key = keyOf(r.experiment, r.mode);
    if (!groups.some((g) => g.key === key)) {
      groups.push({ key, source: 'ser', experiment: r.experiment, corpus: r.protocol, mode: r.mode, classes: r.classes, baseline: 'baseline', armLabels: {}, armOrder: [] });
    }
  }
  const addModel = (gi: number, r: FoldResult): void => {
    const e = evaluatedFromResult(r);
    const g = groups[gi];
    if (!g.armOrder.includes(r.arm)) { g.armOrder.push(r.arm); g.armLabels[r.arm] = armLabel(r.arm); }
    models.push({
      g: gi, arm: r.arm, mode: g.mode, fold: r.fold, seed: r.seed, profile: profileOf(r), corpus: r.protocol,
      ids: e.ids, truth: e.truth, pred: e.pred, probs: e.probs, speakers: (e.speakers ?? e.ids.map(() => undefined)).map((s) => s ?? null),
    });
  };
  for (const r of nonRef) addModel(groups.findIndex((g) => g.key === keyOf(r.experiment, r.mode)), r);
  // reference arms join every mode of their experiment (the mode's own records when there are any)
  for (const [gi, g] of groups.entries()) {
    const refs = ser.filter((r) => REFERENCE_ARMS.includes(r.arm) && r.experiment === g.experiment);
    for (const arm of new Set(refs.map((r) => r.arm))) {
      const mine = refs.filter((r) => r.arm === arm);
      const modes = [...new Set(mine.map((r) => r.mode))].sort();
      const pick = mine.some((r) => r.mode === g.mode) ? mine.filter((r) => r.mode === g.mode) : mine.filter((r) => r.mode === modes[0]);
      for (const r of pick) addModel(gi, r);
    }
  }
  const order = ['baseline', 'energy', 'activation', 'au', 'all', ...REFERENCE_ARMS];
  for (const g of groups) g.armOrder.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  for (const r of hfleaRecords(root)) {
    const key = `hflea|${r.experiment}`;
    let gi = groups.findIndex((g) => g.key === key);
    if (gi < 0) {
      groups.push({ key, source: 'hflea', experiment: r.experiment, corpus: r.corpus, mode: 'hflea', classes: r.classes, baseline: r.baseline, armLabels: {}, armOrder: [] });
      gi = groups.length - 1;
    }
    for (const [arm, a] of Object.entries(r.arms)) {
      const g = groups[gi];
      if (!g.armOrder.includes(arm)) { g.armOrder.push(arm); g.armLabels[arm] = a.label; }
      models.push({ g: gi, arm, mode: 'hflea', fold: r.fold, seed: r.seed, profile: r.profile, corpus: r.corpus, ids: r.ids, truth: r.truth, pred: a.pred, speakers: r.speakers });
    }
  }
  const pretext: ExplorerPretext[] = pretrainSummaries(root).flatMap((p) => Object.entries(p.test).map(([head, t]) => ({
    run: p.run, task: p.task, corpus: p.corpus, profile: p.profile, head, accuracy: t.accuracy, majorityRate: t.majorityRate, n: t.n,
  })));
  const tables = opts.tables === false ? [] : buildSerReports({ root, write: false, figures: false }).map((rep) => ({ title: `SER: ${rep.experiment}, ${rep.mode} fine-tuning`, markdown: rep.markdown }));
  const rel = relative(repoRoot, root);
  const source = rel.startsWith('..') || rel === '' ? (rel === '' ? '.' : '$EMOLAB_RUNS') : rel;
  return { title: 'emolab results explorer', source, groups, models, pretext, tables, claims: { goncalves: PAPER_CLAIMS, li: LI2024_CLAIMS }, armColors: { ...ARM_COLORS } };
}

const req = createRequire(join(repoRoot, 'package.json'));

/** `<`-escaped JSON, safe inside a <script> element. */
const scriptJson = (x: unknown): string => JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

/** The markdown of lib/report/ser (headings, paragraphs, pipe tables, **bold**) as HTML. */
export function markdownToHtml(md: string): string {
  const inline = (s: string): string => escapeHtml(s).replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>').replace(/`([^`]+)`/g, '<code>$1</code>');
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^\s*\|/.test(l)) {
      const rows: string[][] = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) { rows.push(lines[i].trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim())); i++; }
      i--;
      const body = rows.filter((r) => !r.every((c) => /^:?-+:?$/.test(c)));
      const [head, ...rest] = body;
      out.push(`<table class="md"><thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead><tbody>${rest.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`);
    } else if (/^#+ /.test(l)) {
      const level = Math.min(6, l.match(/^#+/)![0].length + 2);
      out.push(`<h${level}>${inline(l.replace(/^#+ /, ''))}</h${level}>`);
    } else if (l.trim()) out.push(`<p>${inline(l)}</p>`);
  }
  return out.join('\n');
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 18px}header h1{font-size:20px;margin:0}header p{margin:4px 0 0;font-size:13px;color:#cfd8dc}
main{display:flex;gap:16px;padding:12px 18px;align-items:flex-start}
#filters{min-width:210px;max-width:240px;position:sticky;top:8px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 10px;font-size:13px}
#filters fieldset{border:none;margin:0 0 8px;padding:0}#filters legend{font-weight:600;margin-bottom:2px}
#filters label{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#content{flex:1;min-width:0}section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin-bottom:14px}
section h2{font-size:17px;margin:2px 0 8px}table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#eceff1}td:first-child,th:first-child{text-align:left}
.note{font-size:12px;color:#555}.plot{width:100%;min-height:360px}.row{display:flex;gap:10px;flex-wrap:wrap}.row>div{flex:1;min-width:380px}
select{font-size:13px}.md td,.md th{font-size:12px}
`;

/** The page: data and the client script inline, plotly inline (no network). */
export function explorerHtml(data: ExplorerData): string {
  const plotly = readFileSync(req.resolve('plotly.js-dist-min/plotly.min.js'), 'utf8');
  const client = readFileSync(join(repoRoot, 'lib', 'report', 'explorer.client.js'), 'utf8');
  const tables = data.tables.map((t) => `<details><summary><b>${escapeHtml(t.title)}</b> (committed table, all records)</summary>${markdownToHtml(t.markdown)}</details>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<style>${STYLE}</style>
<script>${plotly.replace(/<\/script/gi, '<\\/script')}</script>
</head><body>
<header><h1>${escapeHtml(data.title)}</h1><p>records from <code>${escapeHtml(data.source)}</code>; every number below is computed in this page from those records (filters on the left).</p></header>
<main><aside id="filters"></aside>
<div id="content">
<section id="sec-tables"><h2>SER results of the selected models</h2><p class="note">Pooled over the selected folds after averaging each utterance's class probabilities over the selected seeds (as the committed tables' "pooled" value: identical when every model is selected). Metrics in %. CI: percentile bootstrap over test speakers (400 resamples); Δ: arm minus the group's baseline on the utterances both scored, with a paired speaker bootstrap CI.</p>
<label>Δ metric <select id="metric"><option value="f1">F1</option><option value="ua">UA</option><option value="wa">WA</option><option value="precision">Precision</option><option value="recall">Recall</option></select></label>
<div id="tables"></div></section>
<section id="sec-gain"><h2>Gain over the baseline, with 95% CIs</h2><div id="gain" class="plot"></div></section>
<section id="sec-confusion"><h2>Confusion matrix and per-class recall</h2><label>group <select id="cm-group"></select></label> <label>arm <select id="cm-arm"></select></label>
<div class="row"><div id="confusion" class="plot"></div><div id="perclass" class="plot"></div></div></section>
<section id="sec-pretext"><h2>Pretext tasks: held-out accuracy against the majority class</h2><div id="pretext" class="plot"></div><div id="pretext-table"></div></section>
<section id="sec-claims"><h2>The papers' claims beside ours</h2><div id="claims"></div></section>
<section id="sec-committed"><h2>Committed tables</h2>${tables || '<p class="note">no SER records</p>'}</section>
</div></main>
<script type="application/json" id="emolab-data">${scriptJson(data)}</script>
<script>${client.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}

/** Write the page (default results/explorer.html); returns its path. */
export function writeExplorer(root: string = runsRoot(), out: string = join(resultsDir(), 'explorer.html')): { file: string; data: ExplorerData } {
  const data = explorerData(root);
  writeFileAtomic(out, explorerHtml(data));
  return { file: out, data };
}
