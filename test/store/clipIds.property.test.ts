/**
 * Property: any clip id a labels CSV can produce (relative media paths with spaces, dots, unicode, "%",
 * slashes, duplicate basenames in different folders) goes through the feature store unchanged:
 * write -> read back -> the same ids and the same data, and `emolab verify` passes on the store.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Clip, Manifest } from '../../lib/data/types';
import { extractFeatures, openFeatureStore, tensorName, type FeatureSet, type FrameMatrix } from '../../lib/store/featureStore';
import { verifyFeatureStore } from '../../lib/verify/store';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-store-ids-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Data that depends on every code unit of the id: frames 1..4, dims 2. */
function matrixOf(id: string): FrameMatrix {
  const h = createHash('sha256').update(id, 'utf8').digest();
  const frames = 1 + (h[0] % 4);
  return { data: Float32Array.from({ length: frames * 2 }, (_, i) => h[i + 1] + i / 8), frames, dims: 2 };
}
const idSet: FeatureSet = {
  name: 'ids', version: '1', params: {}, features: { m: { dims: 2, description: 'hash of the id' } },
  async extract(clip: Clip) { return { m: matrixOf(clip.id) }; },
};

const segment = fc.oneof(
  fc.constantFrom('clip', 'a', 'b', ' ', 'x y', '.', '..', '.hidden', 'e.wav', 'é', 'é', '情感', '😀', '%', '%2F', '%25', '__metadata__', 'a\\b', '#', '?', "'", '"'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
);
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));

let run = 0;
async function roundTrip(ids: string[], shardSize: number): Promise<void> {
  const dir = join(tmp, `r${run++}`);
  const manifest: Manifest = { corpus: 'mine', root: '/data/mine', quarantine: [], clips: ids.map((id) => ({ id, corpus: 'mine', speaker: 's', audioPath: `/data/mine/${id}` })) };
  const s = await extractFeatures({ manifest, dir, set: idSet, workers: 1, shardSize, quiet: true });
  assert.deepEqual(s.index.quarantine, []);
  const store = openFeatureStore(dir);
  assert.deepEqual([...store.clips('ids')].sort(), [...ids].sort());
  for (const id of ids) {
    const want = matrixOf(id);
    const got = store.get(id, 'm');
    assert.equal(got.frames, want.frames, id);
    assert.deepEqual(Array.from(got.data), Array.from(want.data), id);
  }
  const v = verifyFeatureStore(dir);
  assert.ok(v.ok, JSON.stringify(v.shards.filter((x) => x.problems.length)));
  rmSync(dir, { recursive: true, force: true });
}

test('clip ids: duplicate basenames in two folders stay distinct', async () => {
  await roundTrip(['a/clip', 'b/clip', 'clip', 'a%2Fclip', 'wav/OAF_came_angry', 'my corpus/été/1 .wav'], 2);
  assert.notEqual(tensorName('a/clip', 'm'), tensorName('b/clip', 'm'));
});

test('clip ids (property): random relative paths with spaces, dots, unicode and slashes: write -> read back -> same ids and data', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(relPath, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), async (ids, shardSize) => { await roundTrip(ids, shardSize); }),
    { numRuns: 60 },
  );
});

test('tensorName (property): injective over (id, feature) for features without "/"', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.stringMatching(/^[a-z_]{1,8}$/), (a, b, f) => {
    if (a !== b) assert.notEqual(tensorName(a, f), tensorName(b, f));
  }), { numRuns: 2000 });
});
