/**
 * Unit by unit: two runs folders of the same main job (say wasm vs native kernels, issue 17, bench/NOTES.md
 * attempt 17.7), compared per trained unit:
 *
 *   npm run bench -- units <runs A> <runs B> [--busy ISO/ISO,ISO/ISO] [--models-wall-s S] [--out file.json]
 *
 * A unit is a pretraining run (runs/<name>/run.json, read by lib/train's `readPretrainRun`: `wallS`) or an
 * SER model record (runs/ser/..., read by lib/finetune's `listFoldResults`: `wallSeconds`). Every unit B
 * finished that A finished too is matched; the pair must have the same metrics (every number within
 * METRIC_RTOL relative) and the same epoch count. Prints B / A wall time per unit and as a ratio of sums.
 * Units of B that ran (even partly) inside a --busy window (UTC ISO start/end) are listed but left out of
 * the ratio: another job shared the cores then. With --models-wall-s (A's whole models stage, wall s) it
 * also prints B's models stage extrapolated as A's x the ratio (an estimate, not a measurement).
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { flagFloat, flagString, parseArgs } from '../lib/args';
import { EmolabError } from '../lib/errors';
import { foldResultPath, listFoldResults } from '../lib/finetune/results';
import { isPretrainRun, PRETRAIN_RUN_FILE, readPretrainRun } from '../lib/train/pretrainRun';

/**
 * Metrics agree when every number is within this relative difference: the wasm and native kernels sum in
 * a different order, so a test loss may differ in its 7th digit; counts, accuracies and F1 must not.
 */
export const METRIC_RTOL = 1e-5;

export interface Unit {
  kind: 'pretrain' | 'ser';
  wallS: number;
  /** Unix seconds: end (the record's time) minus wallS, and the end. */
  start: number;
  end: number;
  metrics: unknown;
  epochs: number;
  kernels: unknown;
}

export interface UnitRow {
  unit: string;
  kind: Unit['kind'];
  aWallS: number;
  bWallS: number;
  ratio: number;
  metricsMaxRelDiff: number;
  sameMetrics: boolean;
  sameEpochs: boolean;
  /** False when B's unit overlapped a busy window (left out of the ratios). */
  quiet: boolean;
  bStart: string;
  bEnd: string;
}

export interface KindSummary { units: number; aWallS: number; bWallS: number; ratioOfSums: number; ratioRange: [number, number] }

/** Largest relative difference between two metric trees; Infinity when their shapes or non-numbers differ. */
export function maxRelDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length !== b.length ? Infinity : a.reduce((m: number, x, i) => Math.max(m, maxRelDiff(x, b[i])), 0);
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join('\0') !== kb.join('\0')) return Infinity;
    return ka.reduce((m, k) => Math.max(m, maxRelDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])), 0);
  }
  return a === b ? 0 : Infinity;
}

/** Every finished unit of a runs folder, keyed by its path relative to the folder. */
export function readUnits(root: string): Map<string, Unit> {
  const out = new Map<string, Unit>();
  for (const name of readdirSync(root).sort()) {
    const r = readPretrainRun(join(root, name), 'bench');
    if (!r || !isPretrainRun(r)) continue;
    const end = statSync(join(root, name, PRETRAIN_RUN_FILE)).mtimeMs / 1000;
    out.set(join(name, PRETRAIN_RUN_FILE), { kind: 'pretrain', wallS: r.wallS, start: end - r.wallS, end, metrics: r.metrics.test, epochs: r.metrics.perEpoch.length, kernels: r.run.kernels ?? null });
  }
  for (const r of listFoldResults({ root })) {
    const end = Date.parse(r.createdAt) / 1000;
    out.set(relative(root, foldResultPath(r, root)), { kind: 'ser', wallS: r.wallSeconds, start: end - r.wallSeconds, end, metrics: r.metrics, epochs: r.history.length, kernels: r.runInfo.kernels ?? null });
  }
  return out;
}

const clock = (s: number): string => new Date(s * 1000).toISOString().slice(11, 19);

/** The matched units of B in A (B's order), and the ratio of sums per kind over the quiet ones. */
export function compareUnits(A: Map<string, Unit>, B: Map<string, Unit>, busy: [number, number][] = []): { rows: UnitRow[]; summary: Partial<Record<Unit['kind'] | 'all', KindSummary>> } {
  const rows: UnitRow[] = [];
  for (const [unit, b] of [...B].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const a = A.get(unit);
    if (!a) continue;
    const diff = maxRelDiff(a.metrics, b.metrics);
    rows.push({
      unit, kind: b.kind, aWallS: a.wallS, bWallS: b.wallS, ratio: b.wallS / a.wallS,
      metricsMaxRelDiff: diff, sameMetrics: diff <= METRIC_RTOL, sameEpochs: a.epochs === b.epochs,
      quiet: busy.every(([lo, hi]) => b.end <= lo || b.start >= hi), bStart: clock(b.start), bEnd: clock(b.end),
    });
  }
  const summary: Partial<Record<Unit['kind'] | 'all', KindSummary>> = {};
  for (const kind of ['pretrain', 'ser', 'all'] as const) {
    const q = rows.filter((r) => r.quiet && (kind === 'all' || r.kind === kind));
    if (!q.length) continue;
    const aWallS = q.reduce((s, r) => s + r.aWallS, 0);
    const bWallS = q.reduce((s, r) => s + r.bWallS, 0);
    summary[kind] = { units: q.length, aWallS, bWallS, ratioOfSums: bWallS / aWallS, ratioRange: [Math.min(...q.map((r) => r.ratio)), Math.max(...q.map((r) => r.ratio))] };
  }
  return { rows, summary };
}

function parseBusy(raw: string | undefined): [number, number][] {
  if (!raw) return [];
  return raw.split(',').map((w) => {
    const [lo, hi] = w.split('/').map((t) => Date.parse(t) / 1000);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) throw new EmolabError('bench', `bench units: --busy takes START/END UTC ISO times (comma-separated windows), got "${w}"`);
    return [lo, hi];
  });
}

export async function run(argv: string[]): Promise<void> {
  const usage = 'usage: npm run bench -- units <runs A> <runs B> [--busy ISO/ISO,ISO/ISO] [--models-wall-s S] [--out file.json]';
  const a = parseArgs('bench units', argv, { values: ['busy', 'models-wall-s', 'out'] });
  if (a.flags.help) { console.log(usage); return; }
  if (a.positionals.length !== 2) throw new EmolabError('bench', `bench units takes two runs folders, got ${a.positionals.length}`, { hint: usage });
  const [dirA, dirB] = a.positionals.map((p) => resolve(p));
  const busy = parseBusy(flagString(a, 'busy'));
  const modelsWallS = flagFloat(a, 'bench units', 'models-wall-s', { min: 0 });
  const A = readUnits(dirA);
  const B = readUnits(dirB);
  const { rows, summary } = compareUnits(A, B, busy);
  if (!rows.length) throw new EmolabError('bench', 'bench units: no unit of B is finished in A too', { file: dirB });
  const f1 = (x: number): string => x.toFixed(1);
  for (const r of rows) console.log(`${r.unit.padEnd(62)} ${f1(r.aWallS).padStart(7)} ${f1(r.bWallS).padStart(8)} ${r.ratio.toFixed(2).padStart(6)}x  ${r.sameMetrics ? 'same' : 'DIFF'}  ${r.bStart}-${r.bEnd}${r.quiet ? '' : '  (shared cores: left out)'}`);
  for (const [kind, s] of Object.entries(summary)) console.log(`quiet ${kind}: ${s.units} units, B/A = ${s.ratioOfSums.toFixed(2)}x (per unit ${s.ratioRange[0].toFixed(2)}-${s.ratioRange[1].toFixed(2)}x)`);
  const worst = Math.max(...rows.map((r) => r.metricsMaxRelDiff));
  console.log(`same metrics (every number within ${METRIC_RTOL} relative) in ${rows.filter((r) => r.sameMetrics).length} of ${rows.length} matched units (largest relative difference ${worst.toPrecision(2)}); same epochs in ${rows.filter((r) => r.sameEpochs).length}`);
  const extrapolated = modelsWallS !== undefined && summary.all ? modelsWallS * summary.all.ratioOfSums : null;
  if (extrapolated !== null) console.log(`B's models stage, extrapolated: ${modelsWallS!.toFixed(0)} s x ${summary.all!.ratioOfSums.toFixed(2)} = ${extrapolated.toFixed(1)} s`);
  const out = flagString(a, 'out');
  if (out) {
    // Infinity (metrics of different shape) is not JSON: written as null.
    const json = { benchmark: 'units', a: dirA, b: dirB, aKernels: A.values().next().value?.kernels ?? null, bKernels: B.values().next().value?.kernels ?? null, busy: flagString(a, 'busy') ?? null, rows, summary, modelsWallS: modelsWallS ?? null, bModelsWallSExtrapolated: extrapolated };
    writeFileSync(out, JSON.stringify(json, (_k, v: unknown) => (v === Infinity ? null : v), 2) + '\n');
    console.log(`-> ${out}`);
  }
}
