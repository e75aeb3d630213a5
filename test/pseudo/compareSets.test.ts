import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLabelSets } from '../../lib/pseudo/compareSets';
import { LABEL_SET_FORMAT, type LabelSetSummary, type PseudoTask } from '../../lib/pseudo/labelsets';
import type { TensorMap } from '../../lib/store/safetensors';

const summary = (task: PseudoTask, ids: string[]): LabelSetSummary => ({
  format: LABEL_SET_FORMAT, task, corpus: 'unit', unit: task === 'au' ? 'utterance' : 'segment', classes: task === 'au' ? ['a', 'b', 'c'] : ['low', 'high'],
  balance: {}, clips: ids.length, params: {}, perClip: ids.map((id) => ({ id, speaker: 's', counts: {} })), quarantine: [], extra: {}, tensorsFile: 'x.safetensors',
});

/** A binary (task 1/2) clip as build.ts stores it: `<clip>/segments` I32 [S, 2], `<clip>/labels` I8 [S], `<clip>/values` F32 [S]. */
function binaryClip(out: TensorMap, id: string, segs: [number, number][], labels: number[], values: number[]): void {
  out[`${id}/segments`] = { dtype: 'I32', shape: [segs.length, 2], data: Int32Array.from(segs.flat()) };
  out[`${id}/labels`] = { dtype: 'I8', shape: [labels.length], data: Int8Array.from(labels) };
  out[`${id}/values`] = { dtype: 'F32', shape: [values.length], data: Float32Array.from(values) };
}

test('binary label sets: segment agreement, Cohen\'s kappa, value correlation and excludedInOne on the shared clips', () => {
  const ta: TensorMap = {}, tb: TensorMap = {};
  // c1: A excludes the 4th segment, B labels it; B has a 5th segment A lacks (not compared)
  binaryClip(ta, 'c1', [[0, 10], [10, 20], [20, 30], [30, 40]], [1, 0, 1, -1], [5, 1, 4, 0]);
  binaryClip(tb, 'c1', [[0, 10], [10, 20], [20, 30], [30, 40], [40, 50]], [1, 1, 1, 0, 1], [6, 2, 3, 9, 1]);
  // c2 (id with "/"): B stores its segments in another order (matched by start-end); (15,25) excluded in B only; (35,45) only in A
  binaryClip(ta, 'grid/s2/c2', [[0, 5], [5, 15], [15, 25], [25, 35], [35, 45]], [0, 0, 1, 1, 1], [1, 2, 3, 7, 9]);
  binaryClip(tb, 'grid/s2/c2', [[5, 15], [0, 5], [15, 25], [25, 35]], [0, 1, -1, 1], [2, 1.5, 0, 8]);
  // a segment excluded in both is neither a unit nor excludedInOne
  binaryClip(ta, 'c5', [[0, 10]], [-1], [0]);
  binaryClip(tb, 'c5', [[0, 10]], [-1], [0]);
  // clips in one set only: ignored
  binaryClip(ta, 'c3', [[0, 10]], [1], [100]);
  binaryClip(tb, 'c4', [[0, 10]], [0], [-100]);
  const r = compareLabelSets(
    { summary: summary('activation', ['c1', 'grid/s2/c2', 'c3', 'c5']), tensors: ta },
    { summary: summary('activation', ['c4', 'c5', 'grid/s2/c2', 'c1']), tensors: tb },
  );
  // pairs (A, B): c1 (1,1) (0,1) (1,1); c2 (0,1) (0,0) (1,1)
  assert.equal(r.clips, 3);
  assert.equal(r.units, 6);
  assert.equal(r.excludedInOne, 2);
  assert.ok(Math.abs(r.agreement - 4 / 6) < 1e-12);
  // po = 4/6; A: three 1s, three 0s; B: five 1s, one 0 -> pe = 3/6*5/6 + 3/6*1/6 = 1/2; kappa = (2/3 - 1/2) / (1/2) = 1/3
  assert.ok(Math.abs(r.kappa - 1 / 3) < 1e-12, `kappa ${r.kappa}`);
  // values A [5,1,4,1,2,7], B [6,2,3,1.5,2,8]: sxy = 30.5, sxx = 88/3, syy = 34.875 -> r = 30.5 / sqrt(1023)
  assert.ok(Math.abs(r.valueCorrelation - 30.5 / Math.sqrt(1023)) < 1e-9, `r ${r.valueCorrelation}`);
});

test('binary label sets: identical sets agree fully (kappa 1, r 1); nothing shared gives NaN', () => {
  const t: TensorMap = {};
  binaryClip(t, 'x', [[0, 10], [10, 20], [20, 30]], [1, 0, 1], [3, 1, 2]);
  const s = summary('energy', ['x']);
  const same = compareLabelSets({ summary: s, tensors: t }, { summary: s, tensors: t });
  assert.deepEqual([same.clips, same.units, same.agreement, same.kappa, same.excludedInOne], [1, 3, 1, 1, 0]);
  assert.ok(Math.abs(same.valueCorrelation - 1) < 1e-12);
  const none = compareLabelSets({ summary: s, tensors: t }, { summary: summary('energy', ['y']), tensors: {} });
  assert.equal(none.clips, 0);
  assert.equal(none.units, 0);
  assert.ok(Number.isNaN(none.agreement) && Number.isNaN(none.kappa) && Number.isNaN(none.valueCorrelation));
});

test('utterance-level sets (`<clip>/label`): clip agreement and kappa; no value correlation', () => {
  const lab = (m: Record<string, number>): TensorMap => Object.fromEntries(Object.entries(m).flatMap(([id, l]) => [
    [`${id}/label`, { dtype: 'I32' as const, shape: [1], data: Int32Array.of(l) }],
    [`${id}/soft`, { dtype: 'F32' as const, shape: [3], data: Float32Array.of(0.2, 0.3, 0.5) }],
  ]));
  const a = lab({ u1: 0, 'grid/s1/u2': 1, u3: 2, u4: 1, u5: 0 });
  const b = lab({ u1: 0, 'grid/s1/u2': 2, u3: 2, u4: 1, u6: 1 });
  const r = compareLabelSets(
    { summary: summary('au', ['u1', 'grid/s1/u2', 'u3', 'u4', 'u5']), tensors: a },
    { summary: summary('au', ['u1', 'grid/s1/u2', 'u3', 'u4', 'u6']), tensors: b },
  );
  assert.equal(r.clips, 4);
  assert.equal(r.units, 4);
  assert.ok(Math.abs(r.agreement - 3 / 4) < 1e-12);
  // A marginals 0:1 1:2 2:1, B 0:1 1:1 2:2 -> pe = (1 + 2 + 2)/16 = 5/16; kappa = (12/16 - 5/16)/(11/16) = 7/11
  assert.ok(Math.abs(r.kappa - 7 / 11) < 1e-12, `kappa ${r.kappa}`);
  assert.ok(Number.isNaN(r.valueCorrelation));
  assert.equal(r.excludedInOne, 0);
});
