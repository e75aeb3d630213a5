/**
 * serModelAttention: one grid model is trained again from its record, checked against it and saved
 * outside runs/ser; its attention weights over test clips are a distribution per clip and its
 * probabilities are the record's. A second call loads the saved model; settings that give other test
 * clips are refused. The clip choice and the figure are checked as pure functions.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../../lib/backend';
import { repoRoot } from '../../lib/paths';
import { encodedLength } from '../../lib/models/encoder';
import { runSerExperiment } from '../../lib/finetune/experiment';
import { listFoldResults, type FoldResult } from '../../lib/finetune/results';
import { pickClips, serAttentionRoot, serModelAttention } from '../../lib/finetune/serAttention';
import { encoderFrameTimes, serAttentionFigure, spectrogramColumns } from '../../lib/finetune/figures';
import { goncalves2022Settings, serExperimentSettings } from '../../lib/experiments/goncalves2022';
import { smallEmodbStore } from './shared';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');

const root = mkdtempSync(join(tmpdir(), 'emolab-ser-attention-'));
const g = goncalves2022Settings('ci', { experiment: 'attention-test', finetune: { arms: ['baseline'], folds: 1, seeds: [1], pretrainPerFold: [], maxClips: { train: null, dev: null, test: null }, hyper: { epochs: 2, patience: 0 } }, compute: { workers: 1 } });
const s = serExperimentSettings(g, root);
let fold = '';

before(async () => {
  await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');
  await smallEmodbStore(s.featureStore, 3);
  const r = await runSerExperiment(s, { root, quiet: true, force: false });
  assert.equal(r.trained, 1, 'the grid trains its one model');
  fold = r.folds[0];
});

test('a missing record names the model; settings that give other test clips than the record are refused before training', async () => {
  await assert.rejects(serModelAttention(s, { arm: 'baseline', seed: 2, fold }, { root }), /no fine-tuning record for baseline\/full seed 2/);
  const fewer = serExperimentSettings(goncalves2022Settings('ci', { experiment: 'attention-test', finetune: { arms: ['baseline'], folds: 1, seeds: [1], pretrainPerFold: [], maxClips: { train: null, dev: null, test: 4 }, hyper: { epochs: 2, patience: 0 } }, compute: { workers: 1 } }), root);
  await assert.rejects(serModelAttention(fewer, { arm: 'baseline', seed: 1, fold }, { root }), /other test clips than its record/);
  assert.equal(existsSync(serAttentionRoot(s.experiment, root)), false, 'nothing was trained or saved');
});

test('the retrained model reproduces the grid record; attention is a distribution per clip; the second call loads it', async () => {
  const first = await serModelAttention(s, { arm: 'baseline', seed: 1, fold }, { root });
  assert.equal(first.trained, true);
  assert.ok(first.checkpoint.startsWith(serAttentionRoot(s.experiment, root)), first.checkpoint);
  assert.ok(existsSync(first.checkpoint));
  assert.equal(listFoldResults({ root }).length, 1, 'the retrained record is not one of the grid\'s (tables unchanged)');
  const { samePredictions, n, maxProbDiff } = first.reproduced;
  assert.equal(samePredictions, n, `the retrained model predicts like the grid's (${samePredictions}/${n})`);
  assert.ok(maxProbDiff < 1e-4, `probabilities agree (max diff ${maxProbDiff})`);
  assert.ok(first.clips.length >= 2, 'one clip per class present in the test set');
  for (const c of first.clips) {
    const i = first.record.test.ids.indexOf(c.id);
    assert.ok(i >= 0);
    assert.equal(c.attention.length, encodedLength(first.record.config.encoder as never, c.fbank.frames));
    const sum = c.attention.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `α sums to 1 (${sum})`);
    assert.ok(c.attention.every((v) => v >= 0));
    c.probs.forEach((p, k) => assert.ok(Math.abs(p - first.retrained.test.probs[i][k]) < 1e-4, `${c.id} class ${k}: ${p} vs ${first.retrained.test.probs[i][k]}`));
    assert.equal(c.truth, first.record.classes[first.record.test.truth[i]]);
  }
  const again = await serModelAttention(s, { arm: 'baseline', seed: 1, fold }, { root, ids: [first.clips[0].id] });
  assert.equal(again.trained, false, 'the saved model is loaded');
  assert.deepEqual(Array.from(again.clips[0].attention), Array.from(first.clips[0].attention));
});

test('pickClips: one clip per class, the most confident correct one; unknown ids are refused', () => {
  const r = {
    fold: 'f', classes: ['a', 'b', 'c'], speakers: { train: [], dev: [], test: ['s1'] },
    test: { ids: ['x1', 'x2', 'x3', 'x4'], truth: [0, 0, 1, 1], pred: [0, 0, 0, 0], probs: [[0.6, 0.3, 0.1], [0.9, 0.05, 0.05], [0.5, 0.4, 0.1], [0.7, 0.2, 0.1]] },
  } as unknown as FoldResult;
  assert.deepEqual(pickClips(r), ['x2', 'x3'], 'class a: x2 (0.9 > 0.6); class b: none right, its first clip; class c: no clip');
  assert.deepEqual(pickClips(r, { classes: ['b'] }), ['x3']);
  assert.throws(() => pickClips(r, { ids: ['nope'] }), /not test clips of fold f: nope/);
  assert.throws(() => pickClips(r, { classes: ['z'] }), /class "z" is not one of/);
});

test('figure: spectrogram columns, encoder frame times and one pair of panels per clip', () => {
  const frames = 650, dims = 4;
  const data = Float32Array.from({ length: frames * dims }, (_, i) => i % dims);
  const cols = spectrogramColumns({ data, frames, dims }, 300);
  assert.equal(cols.t.length, Math.ceil(frames / 3));
  assert.deepEqual(cols.z.map((r) => r[0]), [0, 1, 2, 3]);
  encoderFrameTimes(3, 2).forEach((t, j) => assert.ok(Math.abs(t - (0.0175 + 0.02 * j)) <= 0.001, `encoder frame ${j} at ${t} s: input frames ${2 * j}, ${2 * j + 1}`));
  const clip = { id: 'c', speaker: '03', truth: 'anger', predicted: 'anger', probs: [0.8, 0.2], fbank: { data, frames, dims }, attention: new Float32Array(325).fill(1 / 325), subsampling: 2 };
  const fig = serAttentionFigure([clip, { ...clip, id: 'd' }], 'energy');
  assert.equal(fig.data.length, 8);
  const layout = fig.layout as Record<string, unknown>;
  assert.ok(layout.xaxis && layout.yaxis && layout.yaxis4 && layout.xaxis2 && !layout.xaxis3 && !layout.xaxis1, Object.keys(layout).join(' '));
  assert.deepEqual(fig.data.map((d) => `${(d as { xaxis: string }).xaxis}/${(d as { yaxis: string }).yaxis}`), ['x/y', 'x/y', 'x/y2', 'x/y2', 'x2/y3', 'x2/y3', 'x2/y4', 'x2/y4']);
  assert.match(JSON.stringify(layout.annotations), /uniform weight 1\/325/);
});
