import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kmeansFit, assignClusters, clusterPurity, frameLabelsFromUtterances, saveKMeans, loadKMeans } from '../../lib/pseudo/kmeans';
import { Rng } from '../../lib/random';
import { EmolabError } from '../../lib/errors';

/** n points around each of the given 2-D centres (spread 0.1). */
function blobs(centres: number[][], n: number, seed = 1): { data: Float32Array; truth: Int32Array } {
  const rng = new Rng(seed);
  const data = new Float32Array(centres.length * n * 2);
  const truth = new Int32Array(centres.length * n);
  centres.forEach((c, j) => {
    for (let i = 0; i < n; i++) {
      const r = j * n + i;
      data[r * 2] = c[0] + 0.1 * rng.normal();
      data[r * 2 + 1] = c[1] + 0.1 * rng.normal();
      truth[r] = j;
    }
  });
  return { data, truth };
}

test('k-means recovers well separated blobs (Lloyd and mini-batch), purity 1', () => {
  const centres = [[0, 0], [10, 0], [0, 10], [10, 10]];
  const { data, truth } = blobs(centres, 200);
  for (const method of ['lloyd', 'minibatch'] as const) {
    const fit = kmeansFit(data, 2, 4, { seed: 3, method, batchSize: 64 });
    assert.equal(fit.method, method);
    const p = clusterPurity(fit.ids, truth, 4, 4);
    assert.equal(p.purity, 1, method);
    assert.ok(Math.abs(p.nmi - 1) < 1e-9);
    assert.equal(p.baseline, 0.25);
    // every true centre has a centroid within 0.05
    for (const c of centres) {
      const near = Array.from({ length: 4 }, (_, j) => Math.hypot(fit.centroids[j * 2] - c[0], fit.centroids[j * 2 + 1] - c[1]));
      assert.ok(Math.min(...near) < 0.05, `${method} ${c} ${near}`);
    }
    assert.ok(fit.inertia < 800 * 2 * 0.01 * 1.3);
  }
});

test('k-means is deterministic for a seed', () => {
  const { data } = blobs([[0, 0], [3, 1], [1, 4]], 100, 7);
  const a = kmeansFit(data, 2, 5, { seed: 11 });
  const b = kmeansFit(data, 2, 5, { seed: 11 });
  assert.deepEqual(a.centroids, b.centroids);
  assert.deepEqual(a.ids, b.ids);
  const m = kmeansFit(data, 2, 5, { seed: 11, method: 'minibatch', batchSize: 32 });
  const m2 = kmeansFit(data, 2, 5, { seed: 11, method: 'minibatch', batchSize: 32 });
  assert.deepEqual(m.centroids, m2.centroids);
});

test('assignment, purity and frame labels on hand-made values', () => {
  const cents = Float32Array.of(0, 0, 10, 10);
  const { ids, inertia } = assignClusters(Float32Array.of(1, 0, 9, 10, 0, 2), 2, cents);
  assert.deepEqual([...ids], [0, 1, 0]);
  assert.equal(inertia, 1 + 1 + 4);
  assert.deepEqual([...frameLabelsFromUtterances([2, 3], [4, 1])], [4, 4, 1, 1, 1]);
  // clusters: 0 -> labels [0,0,1], 1 -> [1,1]: purity (2 + 2) / 5
  const p = clusterPurity([0, 0, 0, 1, 1], [0, 0, 1, 1, 1], 2, 2);
  assert.equal(p.purity, 0.8);
  assert.deepEqual(p.contingency, [[2, 1], [0, 2]]);
  assert.deepEqual(p.perCluster.map((c) => c.majority), [0, 1]);
  assert.throws(() => clusterPurity([0, 2], [0, 0], 2, 1), EmolabError);
  assert.throws(() => kmeansFit(Float32Array.of(1, 2, 3), 2, 1), EmolabError);
  assert.throws(() => kmeansFit(Float32Array.of(1, 2), 2, 2), EmolabError);
  assert.throws(() => kmeansFit(Float32Array.of(1, NaN), 2, 1), EmolabError);
});

test('centroids round-trip through safetensors, byte-identical for identical fits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emolab-km-'));
  try {
    const { data } = blobs([[0, 0], [5, 5]], 50);
    const fit = kmeansFit(data, 2, 2, { seed: 1 });
    saveKMeans(join(dir, 'a.safetensors'), fit, { layer: 9, seed: 1 });
    saveKMeans(join(dir, 'b.safetensors'), kmeansFit(data, 2, 2, { seed: 1 }), { layer: 9, seed: 1 });
    assert.deepEqual(readFileSync(join(dir, 'a.safetensors')), readFileSync(join(dir, 'b.safetensors')));
    const back = loadKMeans(join(dir, 'a.safetensors'));
    assert.equal(back.k, 2);
    assert.equal(back.metadata.layer, '9');
    assert.deepEqual(assignClusters(data, 2, back.centroids).ids, fit.ids);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
