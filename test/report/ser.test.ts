import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { buildSerReports, requireSerReports, rowsToCsv } from '../../lib/report/ser';
import { FOLD_RESULT_SCHEMA, foldResultPath, listFoldResults, writeFoldResult, type FoldResult } from '../../lib/finetune/results';
import { classificationMetrics } from '../../lib/eval/metrics';
import { EmolabError } from '../../lib/errors';

const root = mkdtempSync(join(tmpdir(), 'emolab-ser-'));
after(() => rmSync(root, { recursive: true, force: true }));
const classes = ['anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness'];

/** 60 test utterances per fold, 10 per class; the arm gets `correct` of every 10 right. */
function fold(arm: string, seed: number, f: string, correct: number, profile = 'ci'): FoldResult {
  const truth = Array.from({ length: 60 }, (_, i) => i % 6);
  const pred = truth.map((t, i) => (Math.floor(i / 6) < correct ? t : (t + 1) % 6));
  return {
    schema: FOLD_RESULT_SCHEMA, experiment: 'unit', protocol: 'emodb', arm, mode: 'full', seed, fold: f, classes,
    init: { kind: 'scratch' }, test: { ids: truth.map((_, i) => `${f}-u${i}`), truth, pred, probs: [] },
    metrics: classificationMetrics(truth, pred, 6), history: [], bestEpoch: 1, config: { preset: 'tiny', epochs: 2 },
    speakers: { train: [], dev: [], test: [] }, clips: { train: 0, dev: 0, test: 60 }, wallSeconds: 1, runInfo: { profile }, createdAt: 'now',
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

test('report: baseline 50% vs energy 60% accuracy -> relative gain +20% and a significant paired test', () => {
  const [rep] = buildSerReports({ root, figures: false, outDir: join(root, 'results'), bootstrap: 200, permutations: 200 });
  assert.equal(rep.rows.length, 2);
  assert.deepEqual(rep.rows.map((r) => r.arm), ['baseline', 'energy']);
  const [b, e] = rep.rows;
  assert.equal(b.runs, 4);
  assert.ok(Math.abs(b.mean.wa - 0.5) < 1e-12 && Math.abs(e.mean.wa - 0.6) < 1e-12);
  assert.ok(Math.abs(b.mean.ua - 0.5) < 1e-12);
  assert.equal(b.std.wa, 0);
  assert.ok(Math.abs(e.relGainPct!.wa - 20) < 1e-9);
  assert.ok(e.pValue!.wa < 0.01);
  assert.equal(rep.scale, 'smoke-test');
  assert.match(rep.markdown, /SMOKE-TEST SCALE/);
  assert.match(rep.markdown, /\+5\.1%/);
  const csv = readFileSync(rep.files.csv, 'utf8').trim().split('\n');
  assert.equal(csv.length, 3);
  assert.match(csv[0], /^arm,label,runs,seeds,folds,precision_mean/);
  assert.match(csv[2], /^energy,Task 1: energy variation,4,2,2,/);
  assert.equal(rowsToCsv(rep.rows), readFileSync(rep.files.csv, 'utf8'));
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
