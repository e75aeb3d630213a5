import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clip, Manifest } from '../../lib/data/types';
import { extractFeatures, featureStoreExists, openFeatureStore, tensorName, type FeatureSet, type FrameMatrix } from '../../lib/store/featureStore';
import { readSafetensors } from '../../lib/store/safetensors';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-store-names-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('tensorName: plain ids untouched; "%" and "/" of the id percent-encoded; the feature name is the last segment', () => {
  assert.equal(tensorName('03a01Fa', 'fbank'), '03a01Fa/fbank');
  assert.equal(tensorName('1001_DFA_ANG_XX', 'f0'), '1001_DFA_ANG_XX/f0');
  assert.equal(tensorName('grid/s1/bbaf2n', 'fbank'), 'grid%2Fs1%2Fbbaf2n/fbank');
  assert.equal(tensorName('50%/a', 'x'), '50%25%2Fa/x');
  assert.equal(tensorName('a%2Fb', 'x'), 'a%252Fb/x', 'an id that looks encoded stays distinct from "a/b"');
  assert.notEqual(tensorName('a%2Fb', 'x'), tensorName('a/b', 'x'));
  assert.equal(tensorName('', 'x'), '/x');
});

// fixed matrices per clip: frames = 2 + index, dims 3, values id-dependent
const MATS: Record<string, FrameMatrix> = {};
const ids = ['grid/s1/a', 'grid/s2/a', 'plain', 'odd%id/b'];
ids.forEach((id, k) => {
  const frames = 2 + k;
  MATS[id] = { data: Float32Array.from({ length: frames * 3 }, (_, i) => 100 * k + i + 0.5), frames, dims: 3 };
});
const toySet = (): FeatureSet => ({
  name: 'toy', version: '1', params: { p: 1 }, features: { m: { dims: 3, description: 'fixed' }, n: { dims: 1, description: 'frame count' } },
  async extract(clip: Clip) {
    const m = MATS[clip.id];
    return { m, n: { data: Float32Array.of(m.frames), frames: 1, dims: 1 } };
  },
});

test('feature store round trip with clip ids containing "/" and "%": both grid clips stored apart and read back', async () => {
  const clips: Clip[] = ids.map((id) => ({ id, corpus: 'grid', speaker: id.split('/')[1] ?? 'x', audioPath: `/nowhere/${id}.wav` }));
  const manifest: Manifest = { corpus: 'grid', root: '/nowhere', clips, quarantine: [] };
  const dir = join(tmp, 'store');
  const s = await extractFeatures({ manifest, dir, set: toySet(), workers: 1, shardSize: 3, quiet: true });
  assert.equal(s.computedShards, 2);
  assert.deepEqual(s.index.quarantine, []);
  assert.deepEqual(Object.keys(s.index.clips).sort(), [...ids].sort());
  const store = openFeatureStore(dir);
  assert.deepEqual(store.clips('toy').sort(), [...ids].sort());
  for (const id of ids) {
    const got = store.get(id, 'm');
    assert.equal(got.frames, MATS[id].frames, id);
    assert.equal(got.dims, 3);
    assert.deepEqual(Array.from(got.data), Array.from(MATS[id].data), id);
    assert.deepEqual(Array.from(store.get(id, 'n').data), [MATS[id].frames]);
    assert.ok(store.has(id, 'm'));
  }
  assert.ok(!store.has('grid/s1', 'm'));
  const { tensors } = readSafetensors(join(dir, 'toy', 'shard-00000.safetensors'));
  assert.deepEqual(Object.keys(tensors).sort(), ['grid%2Fs1%2Fa/m', 'grid%2Fs1%2Fa/n', 'grid%2Fs2%2Fa/m', 'grid%2Fs2%2Fa/n', 'plain/m', 'plain/n']);
  // a rerun resumes every shard
  const again = await extractFeatures({ manifest, dir, set: toySet(), workers: 1, shardSize: 3, quiet: true });
  assert.equal(again.resumedShards, 2);
  assert.equal(again.computedShards, 0);
});

test('featureStoreExists: false for a missing folder, an empty one, or one with only an unrelated sub-folder; true for a store root and a set folder', async () => {
  assert.equal(featureStoreExists(join(tmp, 'absent')), false);
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  assert.equal(featureStoreExists(empty), false);
  const unrelated = join(tmp, 'unrelated');
  mkdirSync(join(unrelated, 'logs'), { recursive: true });
  writeFileSync(join(unrelated, 'logs', 'x.json'), '{}');
  writeFileSync(join(unrelated, 'notes.txt'), 'x');
  assert.equal(featureStoreExists(unrelated), false);
  const dir = join(tmp, 'store2');
  await extractFeatures({ manifest: { corpus: 'grid', root: '/', clips: [{ id: 'plain', corpus: 'grid', speaker: 's' }], quarantine: [] }, dir, set: toySet(), workers: 1, quiet: true });
  assert.equal(featureStoreExists(dir), true);
  assert.equal(featureStoreExists(join(dir, 'toy')), true);
});
