/**
 * lib/train/loop, the step loop of HFLEA's stages and TAPT: on a small least-squares problem whose
 * batches come from a stateful seeded stream, a run stopped midway and resumed equals the run never
 * stopped, bit for bit; the best epoch's weights are restored; patience stops early; a finished run
 * is loaded, not retrained; a checkpoint of other settings is not resumed; ResumableRng replays.
 * The trainer's path: caller-computed gradients equal the loop's own, uneven epochs (`epochSteps`)
 * end where they should, and a caller's checkpoint store is written at epoch ends and every N steps.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../lib/backend';
import { EmolabError } from '../../lib/errors';
import { epochBoundaries, readLoopState, ResumableRng, runStepLoop, type LoopCheckpointStore, type LoopPosition, type StepLoopSpec } from '../../lib/train/loop';

const dir = mkdtempSync(join(tmpdir(), 'emolab-loop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const X = Array.from({ length: 32 }, (_, i) => [Math.sin(i), Math.cos(3 * i), 1]);
const Y = X.map(([a, b, c]) => 2 * a - b + 0.5 * c);

/** A fresh problem: weights w [3], batches of 4 rows drawn from a stateful stream, dev = -(full MSE) per epoch. */
function problem(o: { ckpt?: string; fingerprint?: string; stopAfter?: number; patience?: number; devFlip?: boolean; every?: number } = {}): { spec: StepLoopSpec; w: tf.Variable } {
  const w = tf.variable(tf.zeros([3]), true, `w${Math.random()}`);
  const rng = new ResumableRng(7);
  let devCalls = 0;
  const spec: StepLoopSpec = {
    params: { w }, steps: 12, stepsPerEpoch: 4, weightDecay: 0, lr: (s) => 0.1 * (1 - s / 12), clipNorm: 5, label: 'loop test', quiet: true,
    loss: () => tf.tidy(() => {
      const rows = Array.from({ length: 4 }, () => rng.int(X.length));
      const x = tf.tensor2d(rows.map((r) => X[r]));
      const y = tf.tensor1d(rows.map((r) => Y[r]));
      return tf.mean(tf.square(tf.sub(tf.sum(tf.mul(x, w), 1), y))) as tf.Scalar;
    }),
    evaluate: () => {
      devCalls++;
      // devFlip: the dev metric is best at epoch 0, so restoring the best must undo epochs 1-2
      if (o.devFlip) return -devCalls;
      return tf.tidy(() => -tf.mean(tf.square(tf.sub(tf.sum(tf.mul(tf.tensor2d(X), w), 1), tf.tensor1d(Y)))).dataSync()[0]);
    },
    patience: o.patience,
    state: { save: () => ({ draws: rng.draws, devCalls }), load: (s) => { const v = s as { draws: number; devCalls: number }; rng.seek(v.draws); devCalls = v.devCalls; } },
    ...(o.ckpt ? { checkpoint: { dir: o.ckpt, every: o.every ?? 3, fingerprint: o.fingerprint ?? 'fp' } } : {}),
    stopAfter: o.stopAfter,
  };
  return { spec, w };
}

test('step loop: stopped at step 5 and resumed = never stopped, bit for bit; a finished run is loaded', async () => {
  await initBackend('wasm');
  const a = problem();
  const ra = await runStepLoop(a.spec);
  assert.equal(ra.steps, 12);
  assert.equal(ra.dev.length, 3);
  assert.ok(ra.dev[2] > ra.dev[0], `dev improves: ${ra.dev}`);
  const b1 = problem({ ckpt: join(dir, 'b'), stopAfter: 5 });
  const rb1 = await runStepLoop(b1.spec);
  assert.equal(rb1.interrupted, true);
  assert.equal(rb1.steps, 5);
  assert.deepEqual(readLoopState(join(dir, 'b'), 'fp'), { step: 5, done: false });
  const b2 = problem({ ckpt: join(dir, 'b') });
  const rb2 = await runStepLoop(b2.spec);
  assert.equal(rb2.resumedFrom, 5);
  assert.deepEqual(rb2.losses, ra.losses);
  assert.deepEqual(rb2.dev, ra.dev);
  assert.deepEqual(Array.from(b2.w.dataSync()), Array.from(a.w.dataSync()));
  // finished: loaded without a single update
  const c = problem({ ckpt: join(dir, 'b') });
  const rc = await runStepLoop(c.spec);
  assert.equal(rc.seconds, 0);
  assert.equal(rc.resumedFrom, 12);
  assert.deepEqual(Array.from(c.w.dataSync()), Array.from(a.w.dataSync()));
  // another fingerprint does not take this checkpoint
  const d = problem({ ckpt: join(dir, 'b'), fingerprint: 'other', stopAfter: 2 });
  assert.equal((await runStepLoop(d.spec)).resumedFrom, 0);
});

test('step loop: the best epoch is restored (also across a resume), patience stops early', async () => {
  await initBackend('wasm');
  const full = problem({ devFlip: true });
  const r = await runStepLoop(full.spec);
  assert.deepEqual(r.best, { epoch: 0, metric: -1 });
  const epoch0 = problem({ devFlip: true });
  await runStepLoop({ ...epoch0.spec, steps: 4 });
  // the lr hook is a function of the step alone, so a 4-step run makes epoch 0's updates
  assert.deepEqual(Array.from(full.w.dataSync()), Array.from(epoch0.w.dataSync()));
  const k1 = problem({ devFlip: true, ckpt: join(dir, 'k'), stopAfter: 9, every: 2 });
  await runStepLoop(k1.spec);
  assert.ok(existsSync(join(dir, 'k', 'best.safetensors')));
  const k2 = problem({ devFlip: true, ckpt: join(dir, 'k'), every: 2 });
  await runStepLoop(k2.spec);
  assert.deepEqual(Array.from(k2.w.dataSync()), Array.from(full.w.dataSync()));
  const early = problem({ devFlip: true, patience: 1 });
  const re = await runStepLoop(early.spec);
  assert.equal(re.stoppedEarly, true);
  assert.equal(re.steps, 8, 'epoch 1 did not improve: stop after it');
});

test('step loop: gradients from the caller = the loop\'s own, bit for bit; uneven epochs; a caller\'s store', async () => {
  await initBackend('wasm');
  const a = problem();
  const ra = await runStepLoop(a.spec);
  // the same updates with the gradients taken by the caller (the trainer's path, e.g. data-parallel)
  const b = problem();
  const lossOf = b.spec.loss!;
  const rb = await runStepLoop({
    ...b.spec, loss: undefined,
    gradients: async (step) => {
      const { value, grads } = tf.variableGrads(() => lossOf(step), [b.w]);
      const loss = value.dataSync()[0];
      value.dispose();
      return { loss, grads: { w: grads[b.w.name] } };
    },
  });
  assert.deepEqual(rb.losses, ra.losses);
  assert.deepEqual(rb.dev, ra.dev);
  assert.deepEqual(Array.from(b.w.dataSync()), Array.from(a.w.dataSync()));
  // epochs of 3, 5 and 4 updates: the epoch ends come after updates 3, 8 and 12; a store sees every save
  const c = problem();
  const ends: { epoch: number; step: number; improved: boolean }[] = [];
  let done = 0;
  const saves: { step: number; done: boolean }[] = [];
  const bests: number[] = [];
  const store: LoopCheckpointStore = {
    finalWeights: 'last-update',
    resume: () => undefined,
    save: (_opt, pos: LoopPosition) => { saves.push({ step: pos.step, done: pos.done }); },
    saveBest: (pos) => { bests.push(pos.best!.epoch); },
    loadBest: () => undefined,
  };
  const rc = await runStepLoop({
    ...c.spec, stepsPerEpoch: undefined, epochSteps: [3, 5, 4],
    onStep: () => { done++; },
    epochEnd: (epoch, info) => { ends.push({ epoch, step: done, improved: info.improved }); },
    checkpoint: { store, every: 5, atEpochEnd: true },
  });
  assert.equal(rc.steps, 12);
  assert.deepEqual(ends.map((e) => [e.epoch, e.step]), [[0, 3], [1, 8], [2, 12]]);
  assert.equal(rc.dev.length, 3);
  assert.deepEqual(bests, ends.filter((e) => e.improved).map((e) => e.epoch));
  // at epoch ends (3, 8), every 5 steps (5, 10), and once at the end (12, done)
  assert.deepEqual(saves, [{ step: 3, done: false }, { step: 5, done: false }, { step: 8, done: false }, { step: 10, done: false }, { step: 12, done: true }]);
  const ep = epochBoundaries(12, { epochSteps: [3, 5, 4] });
  assert.deepEqual([0, 2, 3, 7, 8, 11].map((s) => ep.at(s)), [{ epoch: 0, index: 0 }, { epoch: 0, index: 2 }, { epoch: 1, index: 0 }, { epoch: 1, index: 4 }, { epoch: 2, index: 0 }, { epoch: 2, index: 3 }]);
  assert.deepEqual([1, 3, 8, 12].map(ep.epochEndingAt), [-1, 0, 1, 2]);
});

test('step loop: bad settings refused; ResumableRng replays its stream and refuses normal()', async () => {
  await initBackend('wasm');
  const p = problem();
  await assert.rejects(runStepLoop({ ...p.spec, steps: 0 }), (e: unknown) => e instanceof EmolabError && /steps must be a positive integer/.test(e.message));
  await assert.rejects(runStepLoop({ ...p.spec, checkpoint: { dir: join(dir, 'x'), every: 0, fingerprint: 'f' } }), (e: unknown) => e instanceof EmolabError && /checkpoint every 0/.test(e.message));
  await assert.rejects(runStepLoop({ ...p.spec, epochSteps: [4, 4] }), (e: unknown) => e instanceof EmolabError && /epochSteps \[4, 4\] must be positive integers summing to steps \(12\)/.test(e.message));
  await assert.rejects(runStepLoop({ ...p.spec, gradients: () => ({ loss: 0, grads: {} }) }), (e: unknown) => e instanceof EmolabError && /exactly one of loss and gradients/.test(e.message));
  const a = new ResumableRng(3);
  const first = Array.from({ length: 10 }, () => a.next());
  const b = new ResumableRng(3);
  b.seek(4);
  assert.deepEqual(Array.from({ length: 6 }, () => b.next()), first.slice(4));
  assert.throws(() => b.seek(2), /cannot seek back/);
  assert.throws(() => a.normal(), /not resumable/);
});
