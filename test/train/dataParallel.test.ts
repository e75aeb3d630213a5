import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../lib/backend';
import { createModel, type SpeechModel } from '../../lib/models/heads';
import { encoderConfig } from '../../lib/models/encoder';
import { disposeParams } from '../../lib/models/layers';
import { trainingWorkers, describeWorkers } from '../../lib/accel/workers';
import { modelVariables, shardShares, splitByFrames, stopDataParallelWorkers } from '../../lib/train/dataParallel';
import { replicasFor, train } from '../../lib/train/trainer';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { EmolabError } from '../../lib/errors';
import { SYNTH_HEADS, syntheticExamples } from './synthetic';

await initBackend(process.env.EMOLAB_BACKEND === 'cpu' ? 'cpu' : 'wasm');
after(() => stopDataParallelWorkers());
const tiny = { ...encoderConfig('tiny'), dropout: 0 };

function flat(m: SpeechModel): Float64Array {
  const vs = Object.keys(m.params).sort().flatMap((k) => Array.from(m.params[k].dataSync()));
  return Float64Array.from(vs);
}
const relL2 = (a: Float64Array, b: Float64Array): number => {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) { d += (a[i] - b[i]) ** 2; n += a[i] ** 2; }
  return Math.sqrt(d / n);
};

test('splitByFrames: at most n non-empty shards, every row once, balanced by frames, deterministic', () => {
  const frames = [300, 120, 280, 90, 310, 305, 100, 95];
  const s = splitByFrames(frames, 2);
  assert.equal(s.length, 2);
  assert.deepEqual(s.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  const load = s.map((ix) => ix.reduce((t, i) => t + frames[i], 0));
  assert.ok(Math.abs(load[0] - load[1]) <= Math.max(...frames), `loads ${load}`);
  assert.deepEqual(splitByFrames(frames, 2), s);
  assert.deepEqual(splitByFrames([50], 4), [[0]]);
  assert.equal(splitByFrames(frames, 3).length, 3);
});

test('shard shares of each head sum to 1 over the shards (segment, utterance, frame heads)', () => {
  const data = syntheticExamples(6, 3);
  data[1] = { ...data[1], labels: { ...data[1].labels, ser: -1 } }; // an unlabelled row
  const model = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 1);
  const shares = shardShares(model, [data.slice(0, 2), data.slice(2)]);
  for (const h of SYNTH_HEADS.map((x) => x.name)) assert.ok(Math.abs(shares[0][h] + shares[1][h] - 1) < 1e-12, h);
  assert.ok(Math.abs(shares[0].ser - 1 / 5) < 1e-12); // 1 of the 5 labelled ser rows is in shard 0
  disposeParams(model.params);
});

test('modelVariables lists every parameter once, in the same order for two models of one config', () => {
  const a = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 1), b = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 2);
  const va = modelVariables(a), vb = modelVariables(b);
  assert.equal(va.length, Object.keys(a.params).length);
  assert.deepEqual(new Set(va), new Set(Object.values(a.params)));
  assert.deepEqual(va.map((v) => v.shape), vb.map((v) => v.shape));
  disposeParams(a.params);
  disposeParams(b.params);
});

// Same model, same batches, no dropout: 2 replicas must give the 1-replica updates up to float summation
// order. Why rel 1e-4: the shard sums reorder float32 additions (~1e-7 relative per gradient value); AdamW
// divides by sqrt(v) so early steps amplify a gradient's relative error where it is tiny, and 6 steps
// compound it; measured 1e-6..1e-5 (wasm and native), so 1e-4 leaves room without hiding a wrong
// weighting, which shows as >1e-2 (e.g. plain per-shard means instead of target shares).
test('2 workers vs 1: same loss curve and weights (rel 1e-4 after 6 steps, all 4 head kinds, clipping on)', async () => {
  const data = syntheticExamples(8, 7, 20, 44);
  data[2] = { ...data[2], labels: { ...data[2].labels, ser: -1 } };
  const opts = { epochs: 6, batchSize: 8, lr: 3e-3, warmup: 1, seed: 5, quiet: true, clipNorm: 0.5 };
  const one = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 4);
  const two = createModel({ encoder: tiny, heads: SYNTH_HEADS }, 4);
  const r1 = await train(one, { train: data }, { ...opts, workers: 1 });
  const r2 = await train(two, { train: data }, { ...opts, workers: 2 });
  assert.equal(r1.workers, 1);
  assert.equal(r2.workers, 2);
  assert.equal(r2.steps, 6);
  r1.history.forEach((h, i) => {
    const l2 = r2.history[i].trainLoss;
    assert.ok(Math.abs(h.trainLoss - l2) / h.trainLoss < 1e-4, `epoch ${i + 1}: loss ${h.trainLoss} vs ${l2}`);
    for (const [head, v] of Object.entries(h.trainHeadLoss)) assert.ok(Math.abs(v - r2.history[i].trainHeadLoss[head]) / v < 1e-4, `${head} ${v} vs ${r2.history[i].trainHeadLoss[head]}`);
  });
  assert.ok(r1.history[5].trainLoss < r1.history[0].trainLoss, 'the model learns');
  const d = relL2(flat(one), flat(two));
  assert.ok(d < 1e-4, `weights differ by rel ${d}`);
  disposeParams(one.params);
  disposeParams(two.params);
});

test('2 workers: a frozen-encoder view trains only its head, and resume from a checkpoint equals the uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-dp-'));
  try {
    const data = syntheticExamples(8, 11);
    const opts = { epochs: 2, batchSize: 4, lr: 3e-3, seed: 3, quiet: true, workers: 2 };
    const heads = (m: SpeechModel): SpeechModel => ({ ...m, params: Object.fromEntries(Object.entries(m.params).filter(([k]) => k.startsWith('head.'))) });
    const a = createModel({ encoder: { ...tiny, dropout: 0.1 }, heads: SYNTH_HEADS }, 6);
    const enc0 = a.params['encoder.proj.w'].dataSync().slice();
    const ra = await train(heads(a), { train: data }, { ...opts, checkpointDir: join(dir, 'a') });
    assert.deepEqual(a.params['encoder.proj.w'].dataSync(), enc0, 'frozen encoder untouched');
    const b = createModel({ encoder: { ...tiny, dropout: 0.1 }, heads: SYNTH_HEADS }, 6);
    const rb1 = await train(heads(b), { train: data }, { ...opts, checkpointDir: join(dir, 'b'), stopAfterSteps: 3 });
    assert.equal(rb1.interrupted, true);
    const rb2 = await train(heads(b), { train: data }, { ...opts, checkpointDir: join(dir, 'b') });
    assert.equal(rb2.resumedFromStep, 3);
    assert.deepEqual(rb2.history.map((h) => h.trainLoss), ra.history.map((h) => h.trainLoss));
    for (const [k, v] of Object.entries(heads(a).params)) assert.deepEqual(b.params[k].dataSync(), v.dataSync(), k);
    assert.deepEqual(readCheckpoint(join(dir, 'b', 'last.safetensors')).params['head.ser.out.w']?.data, readCheckpoint(join(dir, 'a', 'last.safetensors')).params['head.ser.out.w']?.data);
    disposeParams(a.params);
    disposeParams(b.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker count: EMOLAB_WORKERS, else cores / grid job processes (at least 1); bad values are errors', () => {
  assert.equal(trainingWorkers({}, 2).workers, 2);
  assert.equal(trainingWorkers({ EMOLAB_POOL_PROCESSES: '2' }, 2).workers, 1);
  assert.equal(trainingWorkers({ EMOLAB_POOL_PROCESSES: '2' }, 8).workers, 4);
  assert.equal(trainingWorkers({ EMOLAB_POOL_PROCESSES: '3' }, 2).workers, 1);
  assert.equal(trainingWorkers({ EMOLAB_WORKERS: '3', EMOLAB_POOL_PROCESSES: '2' }, 2).workers, 3);
  assert.equal(trainingWorkers({ EMOLAB_WORKERS: 'auto' }, 4).workers, 4);
  assert.match(describeWorkers(trainingWorkers({ EMOLAB_POOL_PROCESSES: '2' }, 2)), /^workers=1 \(auto: 2 cores \/ 2 job processes\)$/);
  assert.throws(() => trainingWorkers({ EMOLAB_WORKERS: '0' }, 2), (e: unknown) => e instanceof EmolabError && /EMOLAB_WORKERS must be an integer/.test(e.message));
  assert.throws(() => trainingWorkers({ EMOLAB_WORKERS: 'two' }, 2), EmolabError);
});

test('auto replicas: 1 for a model with dropout > 0 (shards would draw other masks), cores/processes without; explicit counts obeyed', () => {
  const withDropout = { config: { encoder: { ...encoderConfig('tiny'), dropout: 0.1 }, heads: [] } };
  const noDropout = { config: { encoder: { ...encoderConfig('tiny'), dropout: 0 }, heads: [] } };
  const auto = { EMOLAB_WORKERS: 'auto' } as NodeJS.ProcessEnv;
  const cores = trainingWorkers(auto).workers;
  assert.equal(replicasFor(withDropout, undefined, auto), 1);
  assert.equal(replicasFor(noDropout, undefined, auto), cores);
  assert.equal(replicasFor(withDropout, undefined, { EMOLAB_WORKERS: '2' } as NodeJS.ProcessEnv), 2, 'EMOLAB_WORKERS=2 is obeyed');
  assert.equal(replicasFor(withDropout, 3, auto), 3, 'TrainOptions.workers is obeyed');
  assert.equal(replicasFor(noDropout, undefined, { EMOLAB_WORKERS: 'auto', EMOLAB_POOL_PROCESSES: String(cores) } as NodeJS.ProcessEnv), 1, 'grid jobs on every core: 1 each');
});
