import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../lib/backend';
import { encoderConfig } from '../../lib/models/encoder';
import { createModel } from '../../lib/models/heads';
import { disposeParams } from '../../lib/models/layers';
import { saveCheckpoint } from '../../lib/train/checkpoint';
import type { Example } from '../../lib/train/batches';
import { buildSerModel, classBalanced, finetuneFold, trainableParams, SER_HEAD } from '../../lib/finetune/finetuneFold';
import { EmolabError } from '../../lib/errors';
import { train } from '../../lib/train/trainer';
import { seededRandom } from '../../lib/eval/stats';

const dir = mkdtempSync(join(tmpdir(), 'emolab-ft-'));
before(async () => { await initBackend(); });
after(() => rmSync(dir, { recursive: true, force: true }));

const enc = encoderConfig('tiny', { inputDim: 8 });

/** Clips whose class shows as a raised feature channel: learnable in a few epochs. */
function clips(n: number, speaker: string, seed: number, classes = 3): Example[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const y = i % classes;
    const frames = 20 + Math.floor(r() * 20);
    const f = new Float32Array(frames * 8);
    for (let t = 0; t < frames; t++) for (let d = 0; d < 8; d++) f[t * 8 + d] = (r() - 0.5) + (d === y ? 2 : 0);
    return { id: `${speaker}-${i}`, speaker, features: f, frames, dim: 8, labels: { [SER_HEAD]: y } };
  });
}

test('classBalanced oversamples minority classes to the largest, seeded', () => {
  const ex = clips(7, 'a', 1, 3).slice(0, 5); // classes 0,1,2,0,1
  const b = classBalanced(ex, 3);
  const counts = [0, 0, 0];
  for (const e of b) counts[e.labels![SER_HEAD]]++;
  assert.deepEqual(counts, [2, 2, 2]);
  assert.deepEqual(b.map((e) => e.id), classBalanced(ex, 3).map((e) => e.id));
});

test('pretrained init copies every encoder weight; a different encoder config is refused', () => {
  const pre = createModel({ encoder: enc, heads: [{ kind: 'segment', name: 'energy' }] }, 99);
  const file = join(dir, 'pre.safetensors');
  saveCheckpoint(file, pre);
  const m = buildSerModel(enc, 6, { kind: 'pretrained', run: 'x', checkpoint: file, task: 'energy' }, 1);
  const scratch = buildSerModel(enc, 6, { kind: 'scratch' }, 1);
  for (const k of Object.keys(pre.params).filter((n) => n.startsWith('encoder.'))) {
    assert.deepEqual(m.params[k].dataSync(), pre.params[k].dataSync(), k);
  }
  // the SER head starts the same in both arms (same seed), the encoder does not
  assert.deepEqual(m.params[`head.${SER_HEAD}.out.w`].dataSync(), scratch.params[`head.${SER_HEAD}.out.w`].dataSync());
  assert.notDeepEqual(m.params['encoder.proj.w'].dataSync(), scratch.params['encoder.proj.w'].dataSync());
  assert.ok(Object.keys(trainableParams(m, 'frozen')).every((k) => k.startsWith(`head.${SER_HEAD}.`)));
  assert.equal(Object.keys(trainableParams(m, 'full')).length, Object.keys(m.params).length);
  assert.throws(() => buildSerModel(encoderConfig('tiny', { inputDim: 8, dModel: 16 }), 6, { kind: 'pretrained', run: 'x', checkpoint: file, task: 'energy' }, 1), EmolabError);
  [pre.params, m.params, scratch.params].forEach(disposeParams);
});

test('finetuneFold learns a separable toy task and returns speaker-independent test predictions', async () => {
  const fold = { name: 'toy', train: [...clips(24, 's1', 1), ...clips(24, 's2', 2)], dev: clips(9, 's3', 3), test: clips(12, 's4', 4) };
  const r = await finetuneFold({
    experiment: 'toy', protocol: 'emodb', arm: 'baseline', init: { kind: 'scratch' }, mode: 'full', seed: 1, fold,
    classes: ['a', 'b', 'c'], encoder: enc, runInfo: {}, quiet: true,
    hyper: { epochs: 6, batchSize: 8, lr: 3e-3, weightDecay: 0.01, patience: 0, warmup: 0.1, classBalanced: false, monitor: 'ua' },
  });
  assert.equal(r.test.ids.length, 12);
  assert.deepEqual(r.speakers.test, ['s4']);
  assert.ok(r.metrics.wa > 0.8, `accuracy ${r.metrics.wa}`);
  assert.equal(r.history.length, 6);
  assert.ok(r.test.probs.every((p) => Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-3));
});

test('a speaker in both test and train is refused', async () => {
  const fold = { name: 'leak', train: clips(6, 's1', 1), dev: [], test: clips(3, 's1', 2) };
  await assert.rejects(finetuneFold({
    experiment: 'toy', protocol: 'emodb', arm: 'baseline', init: { kind: 'scratch' }, mode: 'full', seed: 1, fold,
    classes: ['a', 'b', 'c'], encoder: enc, runInfo: {}, quiet: true,
    hyper: { epochs: 1, batchSize: 8, lr: 1e-3, weightDecay: 0, patience: 0, warmup: 0.1, classBalanced: false, monitor: 'ua' },
  }), /not speaker-independent/);
});

test('frozen mode: training the head-only view leaves every encoder weight unchanged', async () => {
  const m = buildSerModel(enc, 3, { kind: 'scratch' }, 5);
  const before = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Array.from(v.dataSync())]));
  await train({ ...m, params: trainableParams(m, 'frozen') }, { train: clips(16, 's1', 7) }, { epochs: 2, batchSize: 8, lr: 1e-2, seed: 1, quiet: true });
  for (const [k, v] of Object.entries(m.params)) {
    const same = Array.from(v.dataSync()).every((x, i) => x === before[k][i]);
    if (k.startsWith('encoder.')) assert.ok(same, `${k} changed`);
  }
  assert.ok(!Array.from(m.params[`head.${SER_HEAD}.out.w`].dataSync()).every((x, i) => x === before[`head.${SER_HEAD}.out.w`][i]), 'head did not train');
  disposeParams(m.params);
});
