/**
 * bench/runUnits.ts on hand-made runs folders with known answers: units are matched by path, read
 * through lib's own readers (pretraining run.json, SER fold records), ratios are B / A per unit and of
 * sums, a unit inside a busy window is left out, and metrics count as the same only within METRIC_RTOL.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compareUnits, maxRelDiff, METRIC_RTOL, readUnits } from '../../bench/runUnits';
import { FOLD_RESULT_SCHEMA, writeFoldResult, type FoldResult } from '../../lib/finetune/results';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-units-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.parse('2026-12-03T12:00:00Z') / 1000;

function pretrainRun(root: string, name: string, wallS: number, loss: number, endS: number): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'run.json');
  writeFileSync(file, JSON.stringify({ command: 'pretrain', schemaVersion: 1, task: 'energy', wallS, run: { kernels: { set: 'x' } }, metrics: { test: { energy: { accuracy: 0.5, loss } }, perEpoch: [{}, {}, {}], steps: 30 } }));
  utimesSync(file, endS, endS);
}

function serModel(root: string, seed: number, wallSeconds: number, endS: number, epochs: number): void {
  const truth = [0, 1, 0, 1];
  const r: FoldResult = {
    schema: FOLD_RESULT_SCHEMA, experiment: 'unit', protocol: 'emodb', arm: 'baseline', mode: 'full', seed, fold: 'f1', classes: ['a', 'b'],
    init: { kind: 'scratch' }, test: { ids: ['u0', 'u1', 'u2', 'u3'], truth, pred: truth, probs: [] },
    metrics: { accuracy: 1 } as unknown as FoldResult['metrics'], history: Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, trainLoss: 1, devLoss: 1, devAccuracy: 0.5, seconds: 1 })),
    bestEpoch: 1, config: {}, speakers: { train: [], dev: [], test: ['s'] }, clips: { train: 0, dev: 0, test: 4 },
    wallSeconds, runInfo: { kernels: 'x' }, createdAt: new Date(endS * 1000).toISOString(),
  };
  writeFoldResult(r, root);
}

const A = join(tmp, 'a');
const B = join(tmp, 'b');
pretrainRun(A, 'pretrain-energy', 10, 0.7, T0);
pretrainRun(B, 'pretrain-energy', 30, 0.7 * (1 + 1e-7), T0 + 100); // B ran 70-100 s after T0
serModel(A, 1, 5, T0, 4);
serModel(B, 1, 20, T0 + 200, 4); // 180-200 s
serModel(B, 2, 7, T0 + 300, 4); // only in B: not matched
mkdirSync(join(A, 'features')); // a folder without run.json is no unit
mkdirSync(join(B, 'features'));

test('maxRelDiff: 0 for equal trees, the largest relative gap for numbers, Infinity for other shapes', () => {
  assert.equal(maxRelDiff({ a: [1, 2], b: 'x' }, { b: 'x', a: [1, 2] }), 0);
  assert.equal(maxRelDiff({ a: [1, 4] }, { a: [1, 5] }), 0.2);
  assert.equal(maxRelDiff({ a: 1 }, { a: 1, b: 2 }), Infinity);
  assert.equal(maxRelDiff([1], [1, 2]), Infinity);
  assert.equal(maxRelDiff('x', 'y'), Infinity);
});

test('readUnits reads pretraining runs and SER records with their times', () => {
  const u = readUnits(B);
  assert.deepEqual([...u.keys()].sort(), ['pretrain-energy/run.json', 'ser/unit/full/baseline/seed-1/f1.json', 'ser/unit/full/baseline/seed-2/f1.json']);
  const p = u.get('pretrain-energy/run.json')!;
  assert.equal(p.kind, 'pretrain');
  assert.equal(p.epochs, 3);
  assert.ok(Math.abs(p.end - (T0 + 100)) < 1 && Math.abs(p.start - (T0 + 70)) < 1);
  const s = u.get('ser/unit/full/baseline/seed-1/f1.json')!;
  assert.deepEqual([s.kind, s.wallS, s.start, s.end, s.epochs], ['ser', 20, T0 + 180, T0 + 200, 4]);
});

test('compareUnits: B / A per unit and of sums; same metrics within METRIC_RTOL; a busy window leaves a unit out', () => {
  const { rows, summary } = compareUnits(readUnits(A), readUnits(B));
  assert.deepEqual(rows.map((r) => [r.unit, r.ratio, r.sameMetrics, r.sameEpochs, r.quiet]), [
    ['pretrain-energy/run.json', 3, true, true, true],
    ['ser/unit/full/baseline/seed-1/f1.json', 4, true, true, true],
  ]);
  assert.ok(rows[0].metricsMaxRelDiff > 0 && rows[0].metricsMaxRelDiff < METRIC_RTOL);
  assert.equal(summary.all!.ratioOfSums, 50 / 15);
  assert.deepEqual(summary.all!.ratioRange, [3, 4]);

  const busy = compareUnits(readUnits(A), readUnits(B), [[T0 + 190, T0 + 250]]);
  assert.deepEqual(busy.rows.map((r) => r.quiet), [true, false]);
  assert.equal(busy.summary.all!.ratioOfSums, 3);
  assert.equal(busy.summary.ser, undefined);

  pretrainRun(join(tmp, 'c'), 'pretrain-energy', 10, 0.8, T0);
  const diff = compareUnits(readUnits(join(tmp, 'c')), readUnits(B));
  assert.equal(diff.rows[0].sameMetrics, false);
});
