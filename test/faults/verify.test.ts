/**
 * `emolab verify <feature store>`: a store straight from extraction passes; a truncated shard, a shard
 * swapped for another, and a deleted shard are each reported against the index, and the command exits 1.
 * (`emolab verify runs/<name>` on run manifests: ./interrupt.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Manifest } from '../../lib/data/types';
import { extractFeatures, type FeatureSet } from '../../lib/store/featureStore';
import { verifyFeatureStore } from '../../lib/verify/store';
import { run as verifyCli } from '../../lib/verify/cli';
import { hostileTmp, removeTmp } from './shared';

const toy: FeatureSet = {
  name: 'toy', version: '1', params: {}, features: { len: { dims: 2, description: 'test' } },
  async extract(clip) { return { len: { data: Float32Array.of(clip.id.length, 1, clip.id.length, 2), frames: 2, dims: 2 } }; },
};
const manifest: Manifest = { corpus: 'faults', root: '/', quarantine: [], clips: ['a', 'bb', 'ccc', 'dddd'].map((id) => ({ id, corpus: 'faults', speaker: 's', audioPath: `/x/${id}.wav` })) };

test('verify a feature store: intact passes; truncated, swapped and deleted shards are named', async () => {
  const dir = hostileTmp('verify');
  const log = console.log;
  try {
    const store = join(dir, 'store');
    await extractFeatures({ manifest, dir: store, set: toy, workers: 1, shardSize: 1, quiet: true });
    const ok = verifyFeatureStore(store);
    assert.ok(ok.ok);
    assert.equal(ok.shards.length, 4);
    console.log = () => {};
    assert.equal(await verifyCli([store]), 0);
    const shard = (i: number): string => join(store, 'toy', `shard-0000${i}.safetensors`);
    const bytes = readFileSync(shard(1));
    writeFileSync(shard(1), bytes.subarray(0, bytes.length - 4));
    copyFileSync(shard(0), shard(2));
    rmSync(shard(3));
    const bad = verifyFeatureStore(join(store, 'toy'));
    assert.equal(bad.ok, false);
    const problems = Object.fromEntries(bad.shards.map((s) => [basename(s.file), s.problems.join(' | ')]));
    assert.equal(problems['shard-00000.safetensors'], '');
    assert.match(problems['shard-00001.safetensors'], /claims bytes .* but the data section has|exceeds the file/);
    assert.match(problems['shard-00002.safetensors'], /fingerprint .* differs from the index/);
    assert.match(problems['shard-00002.safetensors'], /no tensor ccc\/len/);
    assert.equal(problems['shard-00003.safetensors'], 'missing');
    assert.equal(await verifyCli([store]), 1);
    await assert.rejects(verifyCli([join(dir, 'nothing here')]), /no run manifest here/);
  } finally {
    console.log = log;
    removeTmp(dir);
  }
});
