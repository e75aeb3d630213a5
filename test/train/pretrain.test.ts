import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initBackend } from '../../lib/backend';
import { repoRoot } from '../../lib/paths';
import { pretrain } from '../../lib/train/pretrain';
import { finishedPretrainRun, pretrainConfigFingerprint, type PretrainSettings } from '../../lib/train/pretrainRun';
import { buildExamples, spreadOverSpeakers, type TaskLabels } from '../../lib/train/pretextExamples';
import type { ClipAudio } from '../../lib/audio/clipFeatures';
import { goncalves2022Settings, pretrainSettingsFor } from '../../lib/experiments/goncalves2022';
import { loadModel } from '../../lib/train/checkpoint';
import { train } from '../../lib/train/trainer';
import { createModel } from '../../lib/models/heads';
import { encoderConfig } from '../../lib/models/encoder';
import { disposeParams } from '../../lib/models/layers';
import { pca } from '../../lib/show/pca';
import { nearestNeighbourAccuracy } from '../../lib/train/pretextFigures';
import type { Clip } from '../../lib/data/types';
import type { LabelSetSummary } from '../../lib/pseudo/labelsets';
import { SYNTH_HEADS, syntheticExamples } from './synthetic';
import { featureNormalizer, normalizeUtterance } from '../../lib/train/batches';

process.env.EMOLAB_DATA ??= resolve(repoRoot, '../shared/datasets');
await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');

const clip = (id: string, speaker: string): Clip => ({ id, corpus: 't', speaker });
const summary = (task: string): LabelSetSummary => ({ format: 'emolab-pseudo-labels/1', task, perClip: [] } as unknown as LabelSetSummary);

test('buildExamples attaches segment and utterance targets, drops excluded segments, cuts long clips', () => {
  const frames = 250;
  const items: ClipAudio[] = [
    { clip: clip('a', 's1'), fbank: new Float32Array(frames * 80).map((_, i) => i % 7), frames, energyDb: new Float32Array(frames) },
    { clip: clip('b', 's2'), fbank: new Float32Array(30 * 80).fill(1), frames: 30, energyDb: new Float32Array(30) },
  ];
  const energy: TaskLabels = { task: 'energy', summary: summary('energy'), tensors: {
    'a/segments': { data: Int32Array.from([0, 100, 50, 150, 100, 200, 150, 250]), shape: [4, 2] },
    'a/labels': { data: Int8Array.from([1, 0, -1, 1]), shape: [4] },
  } };
  const au: TaskLabels = { task: 'au', summary: summary('au'), tensors: { 'a/label': { data: Int32Array.from([3]), shape: [1] } } };
  const ex = buildExamples(items, [energy, au], { maxFrames: 120, normalize: (f, n) => normalizeUtterance(f, n, 80) });
  // clip b has no targets: left out; clip a (250 frames) is cut into 120 + 120 frames (a 10-frame tail, < 20, is dropped)
  assert.deepEqual(ex.map((e) => [e.id, e.frames]), [['a#0', 120], ['a#1', 120]]);
  assert.deepEqual(ex[0].segments!.energy, [{ start: 0, end: 100, label: 1 }]);
  assert.deepEqual(ex[1].segments, {}); // [100,200) excluded (-1); [150,250) crosses the cut at 240
  assert.deepEqual(ex.map((e) => e.labels!.au), [3, 3]);
  // features are normalised over the whole utterance, then cut
  assert.deepEqual(ex[1].features, normalizeUtterance(items[0].fbank, frames, 80).slice(120 * 80, 240 * 80));
  // with training-set statistics, every piece is normalised by the given normaliser (clip b's stats here), then cut
  const norm = featureNormalizer('training-set', [{ features: items[1].fbank, frames: 30 }], 80);
  const ts = buildExamples(items, [energy, au], { maxFrames: 120, normalize: norm.normalize });
  assert.deepEqual(ts[0].features, norm.normalize(items[0].fbank, frames).slice(0, 120 * 80));
});

test('spreadOverSpeakers takes clips round-robin over speakers', () => {
  const clips = ['a1', 'a2', 'a3', 'b1', 'c1', 'c2'].map((id) => clip(id, id[0]));
  assert.deepEqual(spreadOverSpeakers(clips, 4).map((c) => c.id), ['a1', 'b1', 'c1', 'a2']);
});

test('PCA recovers the direction of a line and nearest-neighbour accuracy separates two clusters', () => {
  const rows = Array.from({ length: 20 }, (_, i) => [i, 2 * i, 0.5]);
  const r = pca(rows, 2);
  assert.ok(r.explained[0] > 0.999);
  const c = r.components[0];
  assert.ok(Math.abs(Math.abs(c[1] / c[0]) - 2) < 1e-6 && Math.abs(c[2]) < 1e-9);
  const pts = [[1, 0], [1.1, 0.1], [0, 1], [0.1, 1.2]];
  assert.equal(nearestNeighbourAccuracy(pts, ['x', 'x', 'y', 'y']), 1);
  assert.equal(nearestNeighbourAccuracy(pts, ['x', 'y', 'x', 'y']), 0);
});

test('resuming a checkpoint written with other settings is refused with a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-fp-'));
  try {
    const data = syntheticExamples(4, 11);
    const m1 = createModel({ encoder: encoderConfig('tiny'), heads: SYNTH_HEADS }, 1);
    await train(m1, { train: data }, { epochs: 2, batchSize: 2, lr: 1e-3, seed: 1, quiet: true, checkpointDir: dir, stopAfterSteps: 1 });
    const m2 = createModel({ encoder: encoderConfig('tiny'), heads: SYNTH_HEADS }, 1);
    await assert.rejects(train(m2, { train: data }, { epochs: 2, batchSize: 2, lr: 5e-3, seed: 1, quiet: true, checkpointDir: dir }), /other settings or data/);
    disposeParams(m1.params); disposeParams(m2.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pretrain on real EmoDB clips writes run.json and a loadable encoder', async () => {
  const out = mkdtempSync(join(tmpdir(), 'emolab-pretrain-'));
  try {
    const base = pretrainSettingsFor(goncalves2022Settings('ci'), 'energy', { root: out });
    const settings: PretrainSettings = { ...base, data: 'emodb', out, featureStore: null, maxClips: 9, seed: 3, budget: { ...base.budget, epochs: 1, batchSize: 4 } };
    const r = await pretrain(settings, { resume: true, quiet: true });
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    for (const k of ['config', 'dataset', 'split', 'seed', 'backend', 'run', 'metrics', 'wallS']) assert.ok(k in run, `run.json lacks ${k}`);
    assert.equal(run.dataset.corpus, 'emodb');
    assert.equal(run.metrics.perEpoch.length, 1);
    // speaker-independent: no speaker in two sets
    const sp = run.split.speakers;
    assert.equal(new Set([...sp.train, ...sp.dev, ...sp.test]).size, sp.train.length + sp.dev.length + sp.test.length);
    assert.ok(r.test.energy.n > 0 && r.test.energy.majorityRate >= 0.5);
    assert.ok(existsSync(join(out, 'checkpoints', 'last.safetensors')));
    // the complete settings and their fingerprint are recorded; training-set CMVN statistics come with them
    assert.equal(run.configFingerprint, pretrainConfigFingerprint(settings));
    assert.deepEqual(run.settings, JSON.parse(JSON.stringify(settings)));
    assert.equal(run.normalization.mode, 'training-set');
    assert.equal(run.normalization.stats.mean.length, 80);
    assert.ok(finishedPretrainRun(out, settings), 'a finished run with the same settings is found');
    assert.equal(finishedPretrainRun(out, { ...settings, budget: { ...settings.budget, epochs: 2 } }), undefined, 'other settings: not reused');
    const loaded = loadModel(join(out, 'model.safetensors'));
    assert.deepEqual(Array.from(loaded.params['encoder.proj.w'].dataSync()), Array.from(r.model.params['encoder.proj.w'].dataSync()));
    disposeParams(loaded.params);
    disposeParams(r.model.params);
    await assert.rejects(pretrain({ ...settings, task: 'nope' as 'energy' }, { resume: true, quiet: true }), /unknown pretext task/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
