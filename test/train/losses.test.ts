import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend';
import { countPredictions, emptyCounts, finishCounts } from '../../lib/train/losses';

before(async () => { await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm'); });

/** One-hot-ish logits that predict `pred` for each row (4 classes). */
const logitsFor = (pred: number[]): tf.Tensor2D => tf.tensor2d(pred.map((p) => [0, 1, 2, 3].map((k) => (k === p ? 5 : 0))));

test('HeadMetrics ua and f1 on a hand-made confusion', () => {
  // targets -> predictions:
  //   class 0: 0 0 0 1   (recall 3/4)
  //   class 1: 1 0       (recall 1/2)
  //   class 2: 2 2 3     (recall 2/3)
  //   class 3: never a target, predicted once
  //   one ignored target (-1)
  const y = [0, 0, 0, 0, 1, 1, 2, 2, 2, -1];
  const p = [0, 0, 0, 1, 1, 0, 2, 2, 3, 2];
  const c = emptyCounts();
  // in two batches, as the trainer adds them up
  const a = logitsFor(p.slice(0, 5)), b = logitsFor(p.slice(5));
  countPredictions(c, 'utterance', a, y.slice(0, 5));
  countPredictions(c, 'utterance', b, y.slice(5));
  a.dispose(); b.dispose();
  const m = finishCounts(c);
  assert.equal(m.n, 9);
  assert.equal(m.accuracy, 6 / 9);
  assert.equal(m.majorityRate, 4 / 9);
  // UA: mean recall over the classes present among the targets (0, 1, 2)
  assert.ok(Math.abs(m.ua - (3 / 4 + 1 / 2 + 2 / 3) / 3) < 1e-12, `ua ${m.ua}`);
  // macro F1 = 2 tp / (true + predicted) per class, over classes among targets or predictions (0..3):
  //   class 0: 2*3/(4+4) = 0.75, class 1: 2*1/(2+2) = 0.5, class 2: 2*2/(3+2) = 0.8, class 3: 0/(0+1) = 0
  assert.ok(Math.abs(m.f1 - (0.75 + 0.5 + 0.8 + 0) / 4) < 1e-12, `f1 ${m.f1}`);
  assert.deepEqual(m.classCounts, [4, 2, 3]);
});

test('ua and f1 of perfect, constant and empty predictions; segment heads', () => {
  const perfect = emptyCounts();
  const l = logitsFor([0, 1, 2, 1]);
  countPredictions(perfect, 'utterance', l, [0, 1, 2, 1]);
  l.dispose();
  const pm = finishCounts(perfect);
  assert.equal(pm.ua, 1);
  assert.equal(pm.f1, 1);
  // always guessing the majority class: accuracy = majority rate, but UA = 1 / classes
  const constant = emptyCounts();
  const k = logitsFor([0, 0, 0, 0]);
  countPredictions(constant, 'utterance', k, [0, 0, 0, 1]);
  k.dispose();
  const cm = finishCounts(constant);
  assert.equal(cm.accuracy, 0.75);
  assert.equal(cm.ua, 0.5);
  assert.ok(Math.abs(cm.f1 - (2 * 3 / (3 + 4) + 0) / 2) < 1e-12);
  const empty = finishCounts(emptyCounts());
  assert.ok(Number.isNaN(empty.ua) && Number.isNaN(empty.f1) && Number.isNaN(empty.accuracy));
  // segment head: a positive logit predicts 1
  const seg = emptyCounts();
  const s = tf.tensor1d([2, -1, 3, -2]);
  countPredictions(seg, 'segment', s, [1, 1, 1, 0]);
  s.dispose();
  const sm = finishCounts(seg);
  assert.equal(sm.accuracy, 0.75);
  assert.ok(Math.abs(sm.ua - (1 + 2 / 3) / 2) < 1e-12); // class 0 recall 1/1, class 1 recall 2/3
});
