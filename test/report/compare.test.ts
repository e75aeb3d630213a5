import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encoderConfig } from '../../lib/models/encoder';
import { createEncoder } from '../../lib/models/encoder';
import { countParams, disposeParams } from '../../lib/models/layers';
import { detectableGains, encoderParamCount, pretrainingSpeakerOverlap, pretrainSummaries } from '../../lib/report/compare';
import { aggregateArms } from '../../lib/eval/aggregate';

test('encoderParamCount matches the parameters the encoder really creates', () => {
  for (const preset of ['tiny', 'small'] as const) {
    const cfg = encoderConfig(preset);
    const enc = createEncoder(cfg, 1);
    assert.equal(encoderParamCount(cfg), countParams(enc.params), preset);
    disposeParams(enc.params);
  }
});

test('pretrain summaries and the SER-test-speaker overlap check', () => {
  const root = mkdtempSync(join(tmpdir(), 'emolab-cmp-'));
  try {
    mkdirSync(join(root, 'pretrain-energy'));
    writeFileSync(join(root, 'pretrain-energy', 'run.json'), JSON.stringify({
      command: 'pretrain', task: 'energy', dataset: { corpus: 'emodb', clipsUsed: 48, examples: { train: 30, dev: 9, test: 9 } },
      split: { speakers: { train: ['03', '08', '10'], dev: ['11'], test: ['12'] } },
      metrics: { test: { energy: { accuracy: 0.7, majorityRate: 0.55, n: 100 } }, perEpoch: [{}, {}] },
      config: { model: { encoder: encoderConfig('tiny') } }, run: { profile: 'ci' }, wallS: 12,
    }));
    mkdirSync(join(root, 'other'));
    writeFileSync(join(root, 'other', 'run.json'), JSON.stringify({ command: 'something-else' }));
    const s = pretrainSummaries(root);
    assert.equal(s.length, 1);
    assert.equal(s[0].epochs, 2);
    assert.equal(s[0].test.energy.accuracy, 0.7);
    const ov = pretrainingSpeakerOverlap(s, [
      { protocol: 'emodb', speakers: { train: [], dev: [], test: ['08', '03'] } },
      { protocol: 'emodb', speakers: { train: [], dev: [], test: ['09', '10'] } },
    ]);
    assert.deepEqual(ov[0].heardTestSpeakers, ['03', '08', '10']);
    assert.deepEqual(pretrainingSpeakerOverlap(s, [{ protocol: 'crema-d', speakers: { train: [], dev: [], test: ['1001'] } }]), []);
    // records fine-tuned from the run: only their folds' test speakers count
    const init = { kind: 'pretrained' as const, run: 'pretrain-energy', checkpoint: 'x', task: 'energy' };
    const perRecord = pretrainingSpeakerOverlap(s, [
      { protocol: 'emodb', speakers: { train: [], dev: [], test: ['09', '13'] }, init },
      { protocol: 'emodb', speakers: { train: [], dev: [], test: ['08', '03'] }, init: { ...init, run: 'pretrain-energy-fold1' } },
      { protocol: 'emodb', speakers: { train: [], dev: [], test: ['10', '11'] }, init: { kind: 'scratch' } },
    ]);
    assert.deepEqual(perRecord[0].serTestSpeakers, ['09', '13']);
    assert.deepEqual(perRecord[0].heardTestSpeakers, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('detectableGains: the paper-size gain in points and our noise relative to it', () => {
  const truth = Array.from({ length: 120 }, (_, i) => i % 6);
  const base = truth.map((t, i) => (i % 2 === 0 ? t : (t + 1) % 6)); // 50% right
  const arm = truth.map((t, i) => (i % 5 !== 0 ? t : (t + 1) % 6)); // 80% right
  const aggs = aggregateArms([
    { arm: 'baseline', seed: 1, fold: 'f', classes: ['a', 'b', 'c', 'd', 'e', 'f'], ids: truth.map((_, i) => `u${i}`), truth, pred: base },
    { arm: 'energy', seed: 1, fold: 'f', classes: ['a', 'b', 'c', 'd', 'e', 'f'], ids: truth.map((_, i) => `u${i}`), truth, pred: arm },
  ], ['baseline', 'energy'], { bootstrap: 200, permutations: 100 });
  const rows = detectableGains({ aggregates: aggs });
  assert.equal(rows.length, 3);
  const f1 = rows.find((r) => r.metric === 'f1')!;
  assert.ok(Math.abs(f1.paperGainPp - 0.049 * f1.baselinePct) < 1e-9);
  assert.ok(f1.oursPp > 20 && f1.ciLowPp > 0);
  assert.ok(f1.noiseToEffect > 1, 'with 120 utterances a ~2.5-point gain is inside the noise');
});
