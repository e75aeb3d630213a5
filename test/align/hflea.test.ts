import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../lib/backend';
import { EmolabError } from '../../lib/errors';
import { Rng } from '../../lib/random';
import { hubertFrameCount, hubertTinyConfig, type HubertConfig } from '../../lib/models/hubertConfig';
import { initHubert } from '../../lib/models/hubert';
import {
  createMaskedPredictionHead, evaluateSer, hfleaTinyDefaults, makeAudioBatch, maskedFraction, maskedPredictionLogits, maskedPredictionLoss,
  runHflea, spanMask, splitIds, type AlignClip, type HfleaConfig,
} from '../../lib/align/index';

test('span mask: spans of `length` inside the valid frames, at least minSpans, deterministic, ~1-(1-p)^l masked', () => {
  const o = { startProb: 0.08, length: 10, minSpans: 2 };
  const lengths = [400, 37, 5];
  const a = spanMask(lengths, 400, o, new Rng(3));
  assert.deepEqual(a, spanMask(lengths, 400, o, new Rng(3)));
  for (let b = 0; b < lengths.length; b++) {
    const row = a.subarray(b * 400, b * 400 + 400);
    for (let t = lengths[b]; t < 400; t++) assert.equal(row[t], 0, `padding frame ${t} of row ${b} masked`);
    // every masked run is at least min(length, len) long
    let run = 0;
    const runs: number[] = [];
    for (let t = 0; t <= 400; t++) { if (t < 400 && row[t]) run++; else if (run) { runs.push(run); run = 0; } }
    assert.ok(runs.length >= 1 && runs.every((r) => r >= Math.min(10, lengths[b])), `row ${b} runs ${runs}`);
  }
  assert.equal(a.subarray(800, 805).reduce((s, x) => s + x, 0), 5); // a 5-frame clip: one span covers it
  let frac = 0;
  for (let s = 0; s < 20; s++) frac += maskedFraction(spanMask([2000], 2000, o, new Rng(s)), [2000], 2000) / 20;
  assert.ok(Math.abs(frac - (1 - Math.pow(0.92, 10))) < 0.05, `masked fraction ${frac}`);
});

test('masked prediction: cosine logits / 0.1, loss log K for uniform logits, only weighted frames count', async () => {
  await initBackend('cpu');
  const head = createMaskedPredictionHead(4, 3, 1, 2, 0.1);
  // final_proj = identity on the first 2 dims; label embedding 1 points along dim 0.
  head.params['pretrain.final_proj.w'].assign(tf.tensor2d([[1, 0], [0, 1], [0, 0], [0, 0]]));
  head.params['pretrain.label_embs'].assign(tf.tensor2d([[5, 0], [0, -2], [-1, -1]]));
  const logits = maskedPredictionLogits(head, tf.tensor3d([[[3, 0, 7, 7], [0, 1, 0, 0]]]));
  const l = logits.arraySync()[0];
  assert.ok(Math.abs(l[0][0] - 10) < 1e-4 && Math.abs(l[0][1]) < 1e-4 && Math.abs(l[0][2] + 10 / Math.SQRT2) < 1e-4);
  assert.ok(Math.abs(l[1][1] + 10) < 1e-4);
  const uniform = tf.zeros([1, 4, 3]) as tf.Tensor3D;
  const r = maskedPredictionLoss(uniform, new Int32Array([0, 1, 2, -1]), new Float32Array([1, 1, 0, 0]));
  assert.ok(Math.abs(r.loss.dataSync()[0] - Math.log(3)) < 1e-5);
  assert.equal(r.count, 2);
  const sharp = tf.tensor3d([[[9, 0, 0], [0, 0, 9], [0, 9, 0]]]);
  const s = maskedPredictionLoss(sharp, new Int32Array([0, 1, 0]), new Float32Array([1, 1, 0]));
  assert.equal(s.correct.dataSync()[0], 1); // frame 0 right, frame 1 wrong, frame 2 not counted
  assert.ok(s.loss.dataSync()[0] > 4);
});

test('audio batches: crops start on the 320-sample frame grid, frame lengths per clip', async () => {
  await initBackend('cpu');
  const cfg = hubertTinyConfig();
  const clip = (id: string, n: number): AlignClip => ({ id, speaker: 's', label: 0, audio: Float32Array.from({ length: n }, (_, i) => i) });
  const b = makeAudioBatch(cfg, [clip('a', 16000), clip('b', 6000)], 8000, new Rng(1));
  assert.deepEqual(b.audio.shape, [2, 8000]);
  assert.deepEqual(b.frameLengths, [hubertFrameCount(cfg, 8000), hubertFrameCount(cfg, 6000)]);
  const first = b.audio.arraySync()[0][0];
  assert.equal(first, b.frameOffsets[0] * 320);
  assert.equal(b.frameOffsets[1], 0);
  assert.throws(() => makeAudioBatch(cfg, [clip('tiny', 300)], 8000), (e: unknown) => e instanceof EmolabError && /tiny/.test(e.message));
  assert.deepEqual(splitIds(new Int32Array([1, 2, 3, 4, 5]), [2, 3]).map((x) => Array.from(x)), [[1, 2], [3, 4, 5]]);
});

/** Two classes a tiny HuBERT separates easily: a low tone vs. white noise (different speakers per set). */
function toyClips(n: number, speaker: string, seed: number): AlignClip[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const f = 180 + 40 * rng.next();
    const audio = Float32Array.from({ length: 4800 }, (_, t) => (label === 0 ? Math.sin((2 * Math.PI * f * t) / 16000) : 2 * rng.next() - 1));
    return { id: `${speaker}-${i}`, speaker, label, audio };
  });
}

function toyConfig(): { model: HubertConfig; hflea: HfleaConfig } {
  const d = hfleaTinyDefaults();
  const st = { ...d.finetune, epochs: 4, batchSize: 4, lr: 3e-3, cropSeconds: 0.3 };
  return {
    model: { ...hubertTinyConfig(), numHiddenLayers: 1, hiddenDropout: 0, attentionDropout: 0 },
    hflea: { ...d, tapt: { ...d.tapt!, layer: 1, k: 3, steps: 4, batchSize: 4, cropSeconds: 0.3, checkpointEvery: 2 }, clusterLayer: 1, k: 3, finetune: st, pretrain: { ...st, epochs: 1 }, finetuneAttention: st, maxEvalSeconds: 0.3 },
  };
}

test('HFLEA stages (1)-(5) end to end on a toy task: learns it, clusters every train frame, keeps test speakers out', async () => {
  await initBackend('wasm');
  const { model, hflea } = toyConfig();
  const data = { train: toyClips(8, 'tr', 1), dev: toyClips(4, 'dv', 2), test: toyClips(4, 'te', 3), classes: ['tone', 'noise'] };
  const quiet = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let r;
  try {
    await assert.rejects(runHflea({ ...data, train: [...data.train, data.test[0]] }, hflea, () => initHubert(model, 0)), (e: unknown) => e instanceof EmolabError && /test speakers/.test(e.message));
    r = await runHflea(data, hflea, () => initHubert(model, 0));
  } finally { process.stderr.write = quiet; }
  const frames = hubertFrameCount(model, 4800);
  assert.equal(r.clusters.frames, 8 * frames);
  assert.equal(r.clusters.clusterSizes.reduce((a, b) => a + b, 0), 8 * frames);
  assert.equal(r.testFrameIds.length, 4);
  assert.ok(r.testFrameIds.every((ids) => ids.length === frames && ids.every((id) => id >= 0 && id < 3)));
  assert.equal(r.pretrain.losses.length, 2);
  assert.equal(r.tapt!.losses.length, 4, 'stage (1) TAPT ran its 4 updates');
  assert.equal(r.tapt!.targets.layer, 1);
  assert.ok(r.pretrain.maskedFraction > 0 && r.pretrain.maskedFraction < 1);
  for (const att of r.aligned.test.attention) {
    assert.equal(att.length, frames);
    assert.ok(Math.abs(att.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  }
  // Tone vs noise is separable: the fine-tuned models must beat chance on unseen speakers.
  assert.ok(r.finetune.test.metrics.wa >= 0.75, `(a) test WA ${r.finetune.test.metrics.wa}`);
  assert.ok(r.aligned.test.metrics.wa >= 0.75, `(d) test WA ${r.aligned.test.metrics.wa}`);
  assert.equal(evaluateSer(r.models.aligned, data.test, 2, 0.3).pred.length, 4);
});
