import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clip, Manifest } from '../../lib/data/types';
import { EmolabError } from '../../lib/errors';
import {
  assertStoreFor, extractFeatures, manifestFingerprint, openFeatureStore, settingsFingerprint, type FeatureSet,
} from '../../lib/store/featureStore';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-store-fp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const clip = (corpus: string, id: string): Clip => ({ id, corpus, speaker: 's', audioPath: `/data/${corpus}/${id}.wav` });
const manifest = (corpus: string, ids: string[]): Manifest => ({ corpus, root: `/data/${corpus}`, clips: ids.map((id) => clip(corpus, id)), quarantine: [] });
const lenSet = (scale = 1): FeatureSet => ({
  name: 'len', version: '1', params: { scale }, features: { n: { dims: 1, description: 'id length' } },
  async extract(c) { return { n: { data: Float32Array.of(c.id.length * scale), frames: 1, dims: 1 } }; },
});

test('manifestFingerprint: independent of clip order, changes with corpus, ids or files; settingsFingerprint: changes with params/version', () => {
  const a = manifest('emodb', ['a', 'b', 'c']);
  const shuffled = { ...a, clips: [a.clips[2], a.clips[0], a.clips[1]] };
  assert.equal(manifestFingerprint(a), manifestFingerprint(shuffled));
  assert.notEqual(manifestFingerprint(a), manifestFingerprint({ ...a, corpus: 'crema-d' }));
  assert.notEqual(manifestFingerprint(a), manifestFingerprint(manifest('emodb', ['a', 'b'])));
  assert.notEqual(manifestFingerprint(a), manifestFingerprint({ ...a, clips: [{ ...a.clips[0], audioPath: '/elsewhere/a.wav' }, a.clips[1], a.clips[2]] }));
  assert.match(manifestFingerprint(a), /^[0-9a-f]{32}$/);
  assert.equal(settingsFingerprint(lenSet(1)), settingsFingerprint(lenSet(1)));
  assert.notEqual(settingsFingerprint(lenSet(1)), settingsFingerprint(lenSet(2)));
  assert.notEqual(settingsFingerprint(lenSet(1)), settingsFingerprint({ ...lenSet(1), version: '2' }));
});

test('a store records its manifest and settings; another corpus or other settings are refused before any work, naming both', async () => {
  const dir = join(tmp, 's1');
  const m = manifest('emodb', ['a', 'bb', 'ccc']);
  const s = await extractFeatures({ manifest: m, dir, set: lenSet(), workers: 1, shardSize: 2, quiet: true });
  assert.deepEqual(s.index.manifest, { corpus: 'emodb', fingerprint: manifestFingerprint(m), clips: 3 });
  assert.deepEqual(s.index.settings, { fingerprint: settingsFingerprint(lenSet()) });
  const before = readdirSync(join(dir, 'len')).sort();
  let computed = 0;
  const counting: FeatureSet = { ...lenSet(), async extract(c) { computed++; return lenSet().extract(c); } };
  const other = manifest('crema-d', ['a', 'bb']);
  await assert.rejects(extractFeatures({ manifest: other, dir, set: counting, workers: 1, quiet: true }), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /holds corpus "emodb"/);
    assert.ok(e.message.includes(manifestFingerprint(m)) && e.message.includes(manifestFingerprint(other)), e.message);
    assert.ok(e.message.includes(join(dir, 'len')), 'names the store folder');
    return true;
  });
  await assert.rejects(extractFeatures({ manifest: m, dir, set: { ...lenSet(2), extract: counting.extract }, workers: 1, quiet: true }), (e: unknown) => {
    assert.ok(e instanceof EmolabError);
    assert.match(e.message, /other "len" settings/);
    assert.ok(e.message.includes(settingsFingerprint(lenSet())) && e.message.includes(settingsFingerprint(lenSet(2))), e.message);
    assert.match(e.message, /scale: 1 vs 2/);
    return true;
  });
  assert.equal(computed, 0, 'nothing computed');
  assert.deepEqual(readdirSync(join(dir, 'len')).sort(), before, 'nothing written');
  // the same corpus and settings with more clips: re-indexed, unchanged shards kept
  const more = manifest('emodb', ['a', 'bb', 'ccc', 'dddd']);
  const s2 = await extractFeatures({ manifest: more, dir, set: counting, workers: 1, shardSize: 2, quiet: true });
  assert.equal(s2.resumedShards, 1);
  assert.equal(s2.computedShards, 1);
  assert.equal(s2.index.manifest!.fingerprint, manifestFingerprint(more));
});

test('assertStoreFor: a reader refuses a store of another corpus, or one that lacks clips of its manifest', async () => {
  const dir = join(tmp, 's2');
  await extractFeatures({ manifest: manifest('crema-d', ['x', 'y']), dir, set: lenSet(), workers: 1, quiet: true });
  const store = openFeatureStore(dir);
  assert.doesNotThrow(() => assertStoreFor(store, manifest('crema-d', ['x'])));
  assert.throws(() => assertStoreFor(store, manifest('emodb', ['x'])), (e: unknown) => e instanceof EmolabError && /built for corpus "crema-d".*not for "emodb"/.test(e.message) && e.message.includes(dir));
  assert.throws(() => assertStoreFor(store, manifest('crema-d', ['x', 'y', 'z'])), /lacks 1 of the 3 clips .*e\.g\. z/);
});

test('a refused extraction leaves no empty set folder behind (duplicate ids are refused before anything is made)', async () => {
  const dir = join(tmp, 's3');
  const m = manifest('mine', ['a', 'a']);
  await assert.rejects(extractFeatures({ manifest: m, dir, set: lenSet(), workers: 1, quiet: true }), /appears twice/);
  assert.equal(existsSync(join(dir, 'len')), false);
});

test('two extractions of one store at once: the second is refused with the first one\'s PID while the first runs', async () => {
  const dir = join(tmp, 's4');
  const m = manifest('emodb', ['a', 'b']);
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const slow: FeatureSet = { ...lenSet(), async extract(c) { await gate; return lenSet().extract(c); } };
  const first = extractFeatures({ manifest: m, dir, set: slow, workers: 1, quiet: true });
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(extractFeatures({ manifest: m, dir, set: lenSet(), workers: 1, quiet: true }), new RegExp(`locked by PID ${process.pid}`));
  release();
  await first;
  const again = await extractFeatures({ manifest: m, dir, set: lenSet(), workers: 1, quiet: true });
  assert.equal(again.resumedShards, 1, 'the lock is released after a run');
});
