import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureNormalizer, featureStats, normalizeUtterance, normalizeWithStats } from '../../lib/train/batches';

// Two training clips of 2 frames x 2 bins (frame-major), one dev clip of 1 frame.
//   bin 0 over the training frames: 1, 3, 5, 7    -> mean 4,  variance 5
//   bin 1 over the training frames: 10, 10, 20, 20 -> mean 15, variance 25
const train = [
  { features: Float32Array.from([1, 10, 3, 10]), frames: 2 },
  { features: Float32Array.from([5, 20, 7, 20]), frames: 2 },
];
const dev = { features: Float32Array.from([4, 25]), frames: 1 };
const EPS = 1e-5; // added to the variance by featureStats

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5, what = ''): void => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('featureStats: per-bin mean and std over every frame of the training clips', () => {
  const s = featureStats(train, 2);
  assert.equal(s.frames, 4);
  close(s.mean, [4, 15], 1e-12, 'mean');
  close(s.std, [Math.sqrt(5 + EPS), Math.sqrt(25 + EPS)], 1e-12, 'std');
  assert.throws(() => featureStats([], 2), /at least one frame/);
  assert.throws(() => featureStats([{ features: new Float32Array(0), frames: 0 }], 2), /at least one frame/);
});

test('training-set normalisation: training clips end at mean 0 / std 1 per bin; dev clips use the training statistics', () => {
  const norm = featureNormalizer('training-set', train, 2);
  assert.deepEqual(norm.stats, featureStats(train, 2), 'the statistics are returned for the run manifest');
  const out = train.map((c) => norm.normalize(c.features, c.frames));
  // known values: bin 0 (x - 4) / sqrt(5), bin 1 (x - 15) / 5
  const r5 = Math.sqrt(5);
  close(out[0], [-3 / r5, -1, -1 / r5, -1], 1e-5, 'train clip 1');
  close(out[1], [1 / r5, 1, 3 / r5, 1], 1e-5, 'train clip 2');
  for (let d = 0; d < 2; d++) {
    const v = out.flatMap((o) => [o[d], o[2 + d]]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    assert.ok(Math.abs(mean) < 1e-6, `bin ${d} mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 1e-5, `bin ${d} std ${std}`);
  }
  // dev: (4 - 4) / sqrt(5) = 0 and (25 - 15) / 5 = 2 — its own statistics would give 0, 0
  close(norm.normalize(dev.features, dev.frames), [0, 2], 1e-5, 'dev clip');
  close(normalizeWithStats(dev.features, 1, 2, norm.stats!), [0, 2], 1e-5, 'normalizeWithStats');
  assert.ok(!(norm.normalize(dev.features, 1) as Float32Array).every((x, i) => x === normalizeUtterance(dev.features, 1, 2)[i]));
  // the input is not changed in place
  assert.deepEqual(Array.from(dev.features), [4, 25]);
  assert.throws(() => normalizeWithStats(dev.features, 1, 3, norm.stats!), /statistics have 2 bins, features 3/);
});

test('utterance normalisation: each clip by its own statistics, nothing recorded; unknown modes are refused', () => {
  const norm = featureNormalizer('utterance', train, 2);
  assert.equal(norm.stats, null);
  assert.deepEqual(norm.normalize(train[1].features, 2), normalizeUtterance(train[1].features, 2, 2));
  assert.throws(() => featureNormalizer('speaker' as 'utterance', train, 2), /unknown feature normalisation "speaker"/);
});
