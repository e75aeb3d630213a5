import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { serFigures } from '../../lib/report/serFigures';
import { buildSerReports, evaluatedFromResult, formatDelta, formatMeanStd, requireSerReports, rowsToCsv, rowsToMarkdown, tableRows } from '../../lib/report/ser';
import { aggregateArms } from '../../lib/eval/aggregate';
import { FOLD_RESULT_SCHEMA, foldResultPath, listFoldResults, writeFoldResult, type FoldResult } from '../../lib/finetune/results';
import { classificationMetrics } from '../../lib/eval/metrics';
import { EmolabError } from '../../lib/errors';

const root = mkdtempSync(join(tmpdir(), 'emolab-ser-'));
after(() => rmSync(root, { recursive: true, force: true }));
const classes = ['anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness'];

/**
 * 60 test utterances per fold from two speakers (`${fold}a`, `${fold}b`: 30 each, 5 per class); the
 * arm gets `correct` of every 10 right, on both speakers alike. No probabilities stored (one-hot votes).
 */
function fold(arm: string, seed: number, f: string, correct: number, profile = 'ci', o: { experiment?: string; mode?: 'full' | 'frozen' } = {}): FoldResult {
  const truth = Array.from({ length: 60 }, (_, i) => i % 6);
  const pred = truth.map((t, i) => (Math.floor((i % 30) / 3) < correct ? t : (t + 1) % 6));
  const spk = (i: number): string => `${f}${i < 30 ? 'a' : 'b'}`;
  return {
    schema: FOLD_RESULT_SCHEMA, experiment: o.experiment ?? 'unit', protocol: 'emodb', arm, mode: o.mode ?? 'full', seed, fold: f, classes,
    init: { kind: 'scratch' }, test: { ids: truth.map((_, i) => `${spk(i)}-u${i}`), truth, pred, probs: [] },
    metrics: classificationMetrics(truth, pred, 6), history: [], bestEpoch: 1, config: { preset: 'tiny', epochs: 2 },
    speakers: { train: [], dev: [], test: [`${f}a`, `${f}b`] }, clips: { train: 0, dev: 0, test: 60 }, wallSeconds: 1, runInfo: { profile }, createdAt: 'now',
  };
}

for (const seed of [1, 2]) for (const f of ['f1', 'f2']) {
  writeFoldResult(fold('baseline', seed, f, 5), root);
  writeFoldResult(fold('energy', seed, f, 6), root);
}

test('fold results round-trip through runs/ser/<experiment>/<mode>/<arm>/seed-<s>/<fold>.json', () => {
  const all = listFoldResults({ root });
  assert.equal(all.length, 8);
  assert.ok(foldResultPath(all[0], root).includes(join('ser', 'unit', 'full')));
  assert.throws(() => foldResultPath({ ...all[0], arm: '../x' }, root), EmolabError);
});

test('report: baseline 50% vs energy 60% on every one of 4 speakers -> +10 pts (+20%), exact speaker-level p = 2/16', () => {
  const [rep] = buildSerReports({ root, experiment: 'unit', figures: false, outDir: join(root, 'results'), bootstrap: 200, permutations: 200 });
  assert.equal(rep.rows.length, 2);
  assert.deepEqual(rep.rows.map((r) => r.arm), ['baseline', 'energy']);
  const [b, e] = rep.rows;
  assert.equal(b.runs, 4);
  assert.equal(b.speakers, 4);
  assert.equal(b.unit, 'speaker');
  assert.equal(b.utterances, 120);
  assert.ok(Math.abs(b.pooled.wa - 0.5) < 1e-12 && Math.abs(e.pooled.wa - 0.6) < 1e-12);
  assert.ok(Math.abs(b.mean.wa - 0.5) < 1e-12 && Math.abs(b.mean.ua - 0.5) < 1e-12);
  assert.equal(b.std.wa, 0);
  assert.ok(Math.abs(e.delta!.wa - 0.1) < 1e-12);
  assert.ok(Math.abs(e.relGainPct!.wa - 20) < 1e-9);
  // the same +10 pts on every speaker: only "no swap" and "all swapped" reach |delta| -> p = 2/16
  assert.equal(e.exact, true);
  assert.equal(e.pValue!.wa, 0.125);
  assert.ok(Math.abs(e.detectable!.wa - 0.1) < 1e-12);
  // all speakers alike: the speaker bootstrap of the difference is a point
  assert.ok(Math.abs(e.deltaCi!.wa[0] - 0.1) < 1e-12 && Math.abs(e.deltaCi!.wa[1] - 0.1) < 1e-12);
  assert.equal(rep.noiseFloor.length, 1);
  assert.equal(rep.noiseFloor[0].tests.f1.delta, 0);
  assert.equal(rep.scale, 'smoke-test');
  assert.match(rep.markdown, /SMOKE-TEST SCALE/);
  assert.match(rep.markdown, /\+5\.1%/);
  assert.match(rep.markdown, /\| Task 1: energy variation \| 4 \| 0 \| /);
  assert.match(rep.markdown, /\+10\.0 pts \(\+20\.0%\)/);
  assert.match(rep.markdown, /Seed-to-seed noise floor/);
  assert.match(rep.markdown, /Field & Welsh 2007/);
  const csv = readFileSync(rep.files.csv, 'utf8').trim().split('\n');
  assert.equal(csv.length, 3);
  assert.match(csv[0], /^arm,label,reference,runs,seeds,folds,failed,speakers,utterances,unit,precision_pooled,/);
  assert.match(csv[2], /^energy,Task 1: energy variation,false,4,2,2,0,4,120,speaker,/);
  assert.equal(rowsToCsv(rep.rows), readFileSync(rep.files.csv, 'utf8'));
});

test('formatting: differences in points and relative; never "± 0.0" from one fold or one run', () => {
  assert.equal(formatDelta(0.012, 2.3), '+1.2 pts (+2.3%)');
  assert.equal(formatDelta(-0.05), '-5.0 pts');
  assert.equal(formatDelta(undefined), '—');
  assert.equal(formatMeanStd(0.5, 0, 1), '50.0, n=1');
  assert.equal(formatMeanStd(0.5, 0.021, 5), '50.0 ± 2.1');
  // one fold, one seed per arm
  const single = [fold('baseline', 1, 'f1', 5), fold('energy', 1, 'f1', 7)].map(evaluatedFromResult);
  assert.deepEqual(single[0].speakers!.slice(28, 32), ['f1a', 'f1a', 'f1b', 'f1b']);
  const aggs = aggregateArms(single, ['baseline', 'energy'], { bootstrap: 50 });
  const md = rowsToMarkdown(tableRows(aggs));
  assert.doesNotMatch(md, /± 0\.0/);
  assert.match(md, /n=1/);
  assert.ok(tableRows(aggs).every((r) => Number.isNaN(r.std.f1)));
});

test('functionals reference row (single seed, other mode), absent records and a failure list: counted, footnoted, no crash', () => {
  const exp = 'withref';
  for (const seed of [1, 2]) for (const f of ['f1', 'f2']) {
    writeFoldResult(fold('baseline', seed, f, 5, 'full', { experiment: exp, mode: 'frozen' }), root);
    // energy seed 2 fold f2 failed: no record
    if (!(seed === 2 && f === 'f2')) writeFoldResult(fold('energy', seed, f, 6, 'full', { experiment: exp, mode: 'frozen' }), root);
  }
  // the functionals reference: deterministic, seed 0, stored under mode 'full'; it joins the frozen table
  for (const f of ['f1', 'f2']) writeFoldResult(fold('functionals', 0, f, 4, 'full', { experiment: exp, mode: 'full' }), root);
  const failures = [
    { arm: 'energy', mode: 'frozen', seed: 2, fold: 'f2', message: 'out of memory\n  at train()' },
    { arm: 'au', mode: 'frozen', seed: 1, fold: 'f1', message: 'no AU labels' },
    { arm: 'au', mode: 'full', seed: 1, fold: 'f1', message: 'another mode: not in this table' },
  ];
  const [rep] = buildSerReports({ root, experiment: exp, figures: false, write: false, bootstrap: 100 }, failures);
  assert.equal(rep.mode, 'frozen');
  assert.deepEqual(rep.rows.map((r) => r.arm), ['baseline', 'energy', 'au', 'functionals']);
  const byArm = Object.fromEntries(rep.rows.map((r) => [r.arm, r]));
  assert.equal(byArm.energy.runs, 3);
  assert.equal(byArm.energy.failed, 1);
  assert.equal(byArm.au.runs, 0);
  assert.equal(byArm.au.failed, 1);
  assert.equal(byArm.functionals.reference, true);
  assert.equal(byArm.functionals.seeds, 1);
  assert.ok(Math.abs(byArm.functionals.delta!.wa - -0.1) < 1e-12);
  assert.ok(Math.abs(byArm.energy.pooled.wa - 0.6) < 1e-12, 'fold f2 ensembles the one seed it has');
  assert.equal(rep.failures.length, 2);
  assert.match(rep.markdown, /Failed models \(2\)/);
  assert.match(rep.markdown, /seed 2, fold f2: out of memory at train\(\)/);
  assert.match(rep.markdown, /Functionals \+ logistic regression \(reference, non-neural\)/);
  assert.match(rep.markdown, /a reference row/);
  assert.doesNotMatch(rep.markdown, /another mode/);
  // the paper comparison picks pretraining arms only
  assert.doesNotMatch(rep.markdown.split("## The paper's claim")[1], /Functionals/);
  // the same through opts.failures
  const [again] = buildSerReports({ root, experiment: exp, figures: false, write: false, bootstrap: 100, failures });
  assert.equal(again.rows.find((r) => r.arm === 'au')!.failed, 1);
});

test('a corrupt fold file is a clear report error naming the file', () => {
  const bad = join(root, 'ser', 'broken', 'full', 'baseline', 'seed-1', 'f1.json');
  mkdirSync(dirname(bad), { recursive: true });
  writeFileSync(bad, '{"schema": "emolab.ser-fold.v1", "experiment": "broken"');
  assert.throws(() => listFoldResults({ root, experiment: 'broken' }), (e: unknown) => e instanceof EmolabError && e.message.includes(bad));
  rmSync(join(root, 'ser', 'broken'), { recursive: true });
});

test('no results yet -> clear message pointing at notebook 08', () => {
  assert.throws(() => requireSerReports({ root: join(root, 'empty'), figures: false, write: false }), /notebook 08/);
});

test('serFigures: metrics, gain, confusion and per-class figures; confusion axes say true and predicted class; one colour per arm', () => {
  const [rep] = buildSerReports({ root, experiment: 'unit', figures: false, write: false, bootstrap: 100, permutations: 100 });
  const dir = join(root, 'figs');
  const figs = serFigures(rep, dir);
  assert.deepEqual(figs.map((f) => f.name), ['ser_unit_full_metrics', 'ser_unit_full_gain', 'ser_unit_full_confusion', 'ser_unit_full_per_class']);
  const confusion = readFileSync(figs[2].html, 'utf8');
  assert.match(confusion, /"predicted class"/);
  assert.match(confusion, /"true class"/);
  const metrics = readFileSync(figs[0].html, 'utf8');
  const colours = [...metrics.matchAll(/"marker":\{"color":"([^"]+)"\}/g)].map((m) => m[1]);
  assert.equal(colours.length, 2, 'one bar trace per arm, each with its colour');
  assert.notEqual(colours[0], colours[1]);
});
