/**
 * Stage (1) of HFLEA, TAPT (lib/align/tapt): masked prediction on k-means targets from a layer of the
 * model at hand. On a tiny HuBERT and hand-made audio: the loss decreases; the targets are the k-means
 * ids of exactly the chosen layer of the model before TAPT; an interrupted run resumes to the same
 * weights and losses as an uninterrupted one; a finished run is loaded, not retrained; bad settings
 * are refused before any work.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../lib/backend';
import { EmolabError } from '../../lib/errors';
import { Rng } from '../../lib/random';
import { hubertTinyConfig, type HubertConfig } from '../../lib/models/hubertConfig';
import { initHubert, paramsToArrays, type HubertModel } from '../../lib/models/hubert';
import { assignClusters, kmeansFit } from '../../lib/pseudo/kmeans';
import { layerEmbeddings, hfleaTinyDefaults, splitIds, type AlignClip } from '../../lib/align/index';
import { runTapt, taptTargets, type TaptOptions } from '../../lib/align/tapt';
import { readSafetensors } from '../../lib/store/safetensors';

const dir = mkdtempSync(join(tmpdir(), 'emolab-tapt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const model: HubertConfig = { ...hubertTinyConfig(), numHiddenLayers: 2, hiddenDropout: 0, attentionDropout: 0 };

/** Clips with structure a masked predictor can learn from context: tone bursts alternating with noise. */
function clips(n: number, seed: number): AlignClip[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const f = 150 + 300 * rng.next();
    const audio = Float32Array.from({ length: 9600 }, (_, t) => (Math.floor(t / 1600) % 2 === 0 ? Math.sin((2 * Math.PI * f * t) / 16000) : 0.5 * (2 * rng.next() - 1)));
    return { id: `c${i}`, speaker: 's1', label: 0, audio };
  });
}

const opts = (over: Partial<TaptOptions> = {}): TaptOptions => ({
  ...hfleaTinyDefaults().tapt!, layer: 1, k: 6, steps: 6, batchSize: 4, cropSeconds: 0.6, lr: 2e-3, warmupFraction: 0.1, checkpointEvery: 3, ...over,
});

async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const w = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try { return await f(); } finally { process.stderr.write = w; }
}

const weights = (m: HubertModel): Record<string, Float32Array> => Object.fromEntries(Object.entries(paramsToArrays(m.params)).map(([n, a]) => [n, a.data]));

test('TAPT: the masked-prediction loss decreases on a tiny HuBERT', async () => {
  await initBackend('wasm');
  const data = clips(8, 1);
  const enc = initHubert(model, 0);
  const r = await quiet(() => runTapt(enc, data, opts({ steps: 40, k: 4 }), { source: 'test', maxEvalSeconds: 1 }));
  assert.equal(r.losses.length, 40);
  const first = r.losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
  const last = r.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(last < first - 0.1, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  assert.ok(r.maskedFraction > 0.1 && r.maskedFraction < 1, `masked fraction ${r.maskedFraction}`);
});

test('TAPT: targets are the k-means ids of the chosen layer of the model before TAPT', async () => {
  await initBackend('wasm');
  const data = clips(6, 2);
  const o = opts({ layer: 2, steps: 2 });
  const out = join(dir, 'targets');
  const enc = initHubert(model, 0);
  await quiet(() => runTapt(enc, data, o, { dir: out, source: 'test', maxEvalSeconds: 1 }));
  const { tensors, metadata } = readSafetensors(join(out, 'targets.safetensors'));
  assert.equal(metadata.layer, '2');
  const saved = splitIds(tensors.ids.data as Int32Array, Array.from(tensors.lengths.data as Int32Array));
  // recompute from a fresh copy of the starting model, layer 2, same k-means seed
  const before = initHubert(model, 0);
  const emb = layerEmbeddings(before, data, 2, 1);
  const km = kmeansFit(emb.data, emb.dim, o.k, { seed: o.seed });
  const want = splitIds(assignClusters(emb.data, emb.dim, km.centroids, km.k).ids, emb.lengths);
  assert.deepEqual(saved.map((x) => Array.from(x)), want.map((x) => Array.from(x)));
  // the saved centroids are layer 2's; layer 0's are other vectors (on a random model the partition
  // itself can coincide, since small random layers change the residual stream little)
  const savedC = tensors.centroids.data as Float32Array;
  const maxDiff = (x: Float32Array, y: Float32Array): number => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
  assert.ok(maxDiff(savedC, km.centroids) < 1e-5);
  const other = taptTargets(initHubert(model, 0), data, { ...o, layer: 0 }, 1);
  assert.equal(other.info.layer, 0);
  assert.ok(maxDiff(other.centroids, km.centroids) > 1e-3, 'layer 0 centroids differ from layer 2 centroids');
});

test('TAPT: an interrupted run resumes to the same weights and losses; a finished run is loaded', async () => {
  await initBackend('wasm');
  const data = clips(8, 3);
  const o = opts({ steps: 6, checkpointEvery: 2 });
  const full = initHubert(model, 0);
  const a = await quiet(() => runTapt(full, data, o, { dir: join(dir, 'a'), source: 'test', maxEvalSeconds: 1 }));
  // interrupted after 3 steps (not a checkpoint multiple: the stop writes its own checkpoint), then resumed
  const half = initHubert(model, 0);
  const b1 = await quiet(() => runTapt(half, data, o, { dir: join(dir, 'b'), source: 'test', maxEvalSeconds: 1, stopAfter: 3 }));
  assert.equal(b1.steps, 3);
  assert.equal(JSON.parse(readFileSync(join(dir, 'b', 'tapt.json'), 'utf8')).done, false);
  const resumed = initHubert(model, 0);
  const b2 = await quiet(() => runTapt(resumed, data, o, { dir: join(dir, 'b'), source: 'test', maxEvalSeconds: 1 }));
  assert.equal(b2.resumedFrom, 3);
  assert.equal(b2.steps, 6);
  assert.equal(b2.losses.length, 6);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(a.losses[i] - b2.losses[i]) < 1e-4, `loss ${i}: ${a.losses[i]} vs ${b2.losses[i]}`);
  const wa = weights(full), wb = weights(resumed);
  for (const n of Object.keys(wa)) {
    let d = 0;
    for (let i = 0; i < wa[n].length; i++) d = Math.max(d, Math.abs(wa[n][i] - wb[n][i]));
    assert.ok(d < 1e-4, `${n} differs by ${d}`);
  }
  // done: the next call loads the weights without training
  const again = initHubert(model, 0);
  const c = await quiet(() => runTapt(again, data, o, { dir: join(dir, 'a'), source: 'test', maxEvalSeconds: 1 }));
  assert.equal(c.seconds, 0);
  assert.equal(c.resumedFrom, 6);
  assert.deepEqual(c.losses, a.losses);
  const wc = weights(again);
  for (const n of Object.keys(wa)) assert.ok(wa[n].every((x, i) => Math.abs(x - wc[n][i]) < 1e-6), n);
  // other settings: a fresh run, not this checkpoint
  const d2 = await quiet(() => runTapt(initHubert(model, 0), data, { ...o, steps: 2 }, { dir: join(dir, 'a'), source: 'test', maxEvalSeconds: 1 }));
  assert.equal(d2.resumedFrom, 0);
  assert.ok(existsSync(join(dir, 'a', 'last.safetensors')));
});

test('TAPT: a layer the model lacks, or k < 2, is refused before any work', async () => {
  await initBackend('wasm');
  const enc = initHubert(model, 0);
  await assert.rejects(runTapt(enc, clips(2, 4), opts({ layer: 5 }), { source: 'test', maxEvalSeconds: 1 }), (e: unknown) => e instanceof EmolabError && /layer 5 does not exist/.test(e.message));
  await assert.rejects(runTapt(enc, clips(2, 4), opts({ k: 1 }), { source: 'test', maxEvalSeconds: 1 }), (e: unknown) => e instanceof EmolabError && /k must be/.test(e.message));
});
