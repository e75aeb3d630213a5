/**
 * Sharded extraction (issue #21): 3 shards run as 3 processes and merged give a store byte-identical to
 * one process, which `emolab verify` passes and readers open like a local one; the merge refuses a
 * missing, duplicated, unfinished or foreign shard with an error naming it; a killed shard resumes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { audioFeatureSet } from '../../lib/audio/featureSet';
import { emodbManifest } from '../../lib/data/index';
import type { Clip, Manifest } from '../../lib/data/types';
import { EmolabError } from '../../lib/errors';
import { repoRoot } from '../../lib/paths';
import { extractFeatures, openFeatureStore, type FeatureSet } from '../../lib/store/featureStore';
import { mergeFeatureStores } from '../../lib/store/merge';
import { parsePartSpec, planParts } from '../../lib/store/partition';
import { verifyFeatureStore } from '../../lib/verify/store';
import { datasetsDir, haveEmodb } from '../audio/shared';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-shards-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const filesOf = (dir: string): string[] => readdirSync(dir).sort();
function sameBytes(a: string, b: string): void {
  assert.deepEqual(filesOf(a), filesOf(b));
  for (const f of filesOf(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
}

test('parsePartSpec: "i/n", 0-based; anything else refused', () => {
  assert.deepEqual(parsePartSpec('0/3'), { index: 0, count: 3 });
  assert.deepEqual(parsePartSpec(' 2 / 3 '), { index: 2, count: 3 });
  for (const bad of ['3/3', '1/0', '-1/3', 'a/3', '1', '1/3/4', '']) assert.throws(() => parsePartSpec(bad), EmolabError, bad);
});

const clipsOf = (durs: number[]): Clip[] => durs.map((d, i) => ({ id: `c${String(i).padStart(3, '0')}`, corpus: 't', speaker: 's', durationS: d }));

test('planParts: balanced by duration, not by count; the same split whatever the clip order (property)', () => {
  // one long clip and many short ones: by count the first part would get 5 clips and 105 s
  const clips = clipsOf([100, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const p = planParts(clips, 2);
  assert.equal(p.weight, 'duration');
  assert.deepEqual(p.loads, [100, 10]);
  assert.equal(p.partOf.filter((x) => x === 1).length, 10);
  fc.assert(fc.property(fc.array(fc.double({ min: 0.1, max: 30, noNaN: true }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 6 }), fc.integer(), (durs, n, seed) => {
    const cs = clipsOf(durs);
    const plan = planParts(cs, n);
    const shuffled = [...cs].map((c, i) => ({ c, k: Math.sin(seed + i) })).sort((a, b) => a.k - b.k).map((x) => x.c);
    const plan2 = planParts(shuffled, n);
    const partOf = new Map(cs.map((c, i) => [c.id, plan.partOf[i]]));
    shuffled.forEach((c, i) => assert.equal(plan2.partOf[i], partOf.get(c.id), 'stable under reordering'));
    // longest-processing-time bound: no part exceeds the average by more than the longest clip
    const avg = durs.reduce((a, b) => a + b, 0) / n;
    assert.ok(Math.max(...plan.loads) <= avg + Math.max(...durs) + 1e-9);
    assert.equal(plan.partOf.length, cs.length);
    assert.ok(plan.partOf.every((x) => x >= 0 && x < n));
  }), { numRuns: 200 });
  const unknown = planParts([{ id: 'a', corpus: 't', speaker: 's' }, { id: 'b', corpus: 't', speaker: 's' }], 2);
  assert.equal(unknown.weight, 'count');
});

function runShard(args: string[], killAfterChunks?: number): Promise<{ out: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'store', 'shardChild.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterChunks !== undefined && (out.match(/SHARD/g) ?? []).length >= killAfterChunks) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolvePromise({ out, signal }) : reject(new Error(`shard child exited ${code}: ${err}`))));
  });
}

const N = 20; // EmoDB clips
const SHARD_SIZE = 4;
const part = (k: number): string => join(tmp, `part${k}`);

test('3 shards as 3 processes, merged: byte-identical to one process; verify passes; readers open it as a local store', { skip: !haveEmodb() }, async () => {
  const full = emodbManifest(join(datasetsDir(), 'emodb'));
  const manifest: Manifest = { ...full, clips: full.clips.slice(0, N) };
  const single = await extractFeatures({ manifest, dir: join(tmp, 'single'), set: audioFeatureSet(), shardSize: SHARD_SIZE, workers: 1, quiet: true });
  const results = await Promise.all([0, 1, 2].map((k) => runShard([part(k), String(N), `${k}/3`, String(SHARD_SIZE), '0'])));
  for (const r of results) assert.match(r.out, /DONE computed=\d+ resumed=0/);
  // each part holds a share of the clips, balanced by duration
  const idx = [0, 1, 2].map((k) => JSON.parse(readFileSync(join(part(k), 'audio', 'index.json'), 'utf8')));
  assert.deepEqual(idx.map((i) => i.part.index), [0, 1, 2]);
  assert.equal(idx.reduce((a, i) => a + Object.keys(i.clips).length, 0), N);
  const loads = idx.map((i) => i.part.load as number);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= Math.max(...manifest.clips.map((c) => c.durationS!)) + 1e-9, `loads ${loads}`);
  // a part is not a store for training
  assert.throws(() => openFeatureStore(part(0)), /shard 0\/3 of a sharded extraction/);

  const merged = join(tmp, 'merged');
  const m = await mergeFeatureStores({ parts: [part(2), part(0), part(1)], out: merged, quiet: true });
  assert.equal(m.sets.length, 1);
  assert.equal(m.sets[0].clips, N);
  sameBytes(single.dir, join(merged, 'audio'));
  assert.ok(verifyFeatureStore(merged).ok);
  const a = openFeatureStore(single.dir);
  const b = openFeatureStore(merged);
  assert.deepEqual(b.clips('audio'), a.clips('audio'));
  assert.deepEqual(Array.from(b.get(manifest.clips[7].id, 'fbank').data), Array.from(a.get(manifest.clips[7].id, 'fbank').data));
  // merging again keeps every output shard and gives the same bytes
  const again = await mergeFeatureStores({ parts: [part(0), part(1), part(2)], out: merged, quiet: true });
  assert.equal(again.sets[0].resumedShards, single.index.shards.length);
  sameBytes(single.dir, join(merged, 'audio'));
});

test('merge refuses a missing, duplicated, unfinished or foreign shard, naming it; nothing is written', { skip: !haveEmodb() }, async () => {
  assert.ok(existsSync(join(part(2), 'audio', 'index.json')), 'runs after the 3-process test');
  const out = join(tmp, 'refused');
  const refuses = async (parts: string[], re: RegExp): Promise<void> => {
    await assert.rejects(mergeFeatureStores({ parts, out, quiet: true }), (e: unknown) => e instanceof EmolabError && re.test(e.message), re.source);
    assert.equal(existsSync(out), false, 'nothing written');
  };
  await refuses([part(0), part(2)], /shard 1\/3 of audio \(emodb\) is missing; given: 0\/3, 2\/3/);
  await refuses([part(0), part(1), part(1), part(2)], /shard 1\/3 is given twice/);
  await refuses([part(0), part(1), join(tmp, 'single')], /is a whole feature store, not a shard/);
  await refuses([part(0), part(1), join(tmp, 'nowhere')], /nowhere does not exist/);
  // foreign: a shard of another manifest (other clips), and one of another shard count
  const full = emodbManifest(join(datasetsDir(), 'emodb'));
  const other: Manifest = { ...full, clips: full.clips.slice(0, N + 1) };
  await extractFeatures({ manifest: other, dir: join(tmp, 'foreign1'), set: audioFeatureSet(), shardSize: SHARD_SIZE, workers: 1, quiet: true, part: { index: 1, count: 3 } });
  await refuses([part(0), join(tmp, 'foreign1'), part(2)], /shard 1\/3 at .*foreign1.* is foreign to shard 0\/3 .*manifest fingerprint/);
  const tiny: FeatureSet = { name: 'audio', version: 'x', params: {}, features: { n: { dims: 1, description: '' } }, async extract() { return { n: { data: Float32Array.of(1), frames: 1, dims: 1 } }; } };
  await extractFeatures({ manifest: { ...full, clips: full.clips.slice(0, N) }, dir: join(tmp, 'foreign2'), set: tiny, shardSize: SHARD_SIZE, workers: 1, quiet: true, part: { index: 1, count: 3 } });
  await refuses([part(0), join(tmp, 'foreign2'), part(2)], /foreign .*"audio" settings fingerprint/);
  await extractFeatures({ manifest: { ...full, clips: full.clips.slice(0, N) }, dir: join(tmp, 'foreign3'), set: audioFeatureSet(), shardSize: SHARD_SIZE, workers: 1, quiet: true, part: { index: 1, count: 2 } });
  await refuses([part(0), join(tmp, 'foreign3'), part(2)], /foreign .*shard count 2 vs 3/);
  // unfinished: the index is written last; a shard without one is named
  const unfinished = join(tmp, 'unfinished');
  cpSync(part(1), unfinished, { recursive: true });
  rmSync(join(unfinished, 'audio', 'index.json'));
  await refuses([part(0), unfinished, part(2)], /shard 1\/3 \(audio of emodb\) at .*unfinished.* did not finish/);
  // a chunk file gone or swapped after the shard finished
  const damaged = join(tmp, 'damaged');
  cpSync(part(1), damaged, { recursive: true });
  rmSync(join(damaged, 'audio', 'shard-00000.safetensors'));
  await refuses([part(0), damaged, part(2)], /shard 1\/3 at .*damaged.* lacks its chunk shard-00000/);
  // overlapping: a part index edited to claim a clip of another part
  const overlap = join(tmp, 'overlap');
  cpSync(part(1), overlap, { recursive: true });
  const oi = JSON.parse(readFileSync(join(overlap, 'audio', 'index.json'), 'utf8'));
  const stolen = JSON.parse(readFileSync(join(part(0), 'audio', 'index.json'), 'utf8')).shards[0].clips[0];
  oi.shards[0].clips.push(stolen);
  writeFileSync(join(overlap, 'audio', 'index.json'), JSON.stringify(oi));
  await refuses([part(0), overlap, part(2)], new RegExp(`clip "${stolen}" is in both shard 0/3 .* and shard 1/3`));
});

test('a shard killed midway is rerun with the same command and resumes; the merge is still byte-identical', { skip: !haveEmodb() }, async () => {
  const k1 = join(tmp, 'killed1');
  const killed = await runShard([k1, String(N), '1/3', '2', '400'], 1);
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(!existsSync(join(k1, 'audio', 'index.json')));
  await assert.rejects(mergeFeatureStores({ parts: [part(0), k1, part(2)], out: join(tmp, 'm2'), quiet: true }), /shard 1\/3 .* did not finish/);
  const again = await runShard([k1, String(N), '1/3', '2', '0']);
  assert.match(again.out, /DONE computed=\d+ resumed=[1-9]/);
  // shard size 2 here vs 4 in the others: the merge says so
  await assert.rejects(mergeFeatureStores({ parts: [part(0), k1, part(2)], out: join(tmp, 'm2'), quiet: true }), /shard size 2 vs 4|layout/);
  const k4 = join(tmp, 'killed4');
  const killed4 = await runShard([k4, String(N), '1/3', String(SHARD_SIZE), '400'], 1);
  assert.equal(killed4.signal, 'SIGKILL');
  await runShard([k4, String(N), '1/3', String(SHARD_SIZE), '0']);
  const merged = join(tmp, 'm3');
  await mergeFeatureStores({ parts: [part(0), k4, part(2)], out: merged, quiet: true });
  sameBytes(join(tmp, 'single', 'audio'), join(merged, 'audio'));
});

test('merge of shards with quarantined clips, integer-like and unicode ids, and an empty shard: byte-identical to one run', async () => {
  const ids = ['10', '2', 'bad', 'a/b', 'été', '1', 'x y', 'bad2', '33'];
  const manifest: Manifest = { corpus: 'toy', root: '/toy', quarantine: [], clips: ids.map((id, i) => ({ id, corpus: 'toy', speaker: 's', audioPath: `/toy/${id}.wav`, durationS: 1 + (i % 4) })) };
  const set: FeatureSet = {
    name: 'toy', version: '1', params: { k: 2 }, features: { m: { dims: 2, description: '' }, n: { dims: 1, description: '' } },
    async extract(c) {
      if (c.id.startsWith('bad')) throw new EmolabError('audio', `cannot decode ${c.id}`, { file: c.audioPath });
      const frames = 1 + (c.id.length % 3);
      return { m: { data: Float32Array.from({ length: frames * 2 }, (_, i) => c.id.charCodeAt(0) + i), frames, dims: 2 }, n: { data: Float32Array.of(frames), frames: 1, dims: 1 } };
    },
  };
  const one = await extractFeatures({ manifest, dir: join(tmp, 'toy-single'), set, workers: 1, shardSize: 3, quiet: true });
  assert.deepEqual(one.index.quarantine.map((q) => q.clipId), ['bad', 'bad2']);
  const n = ids.length + 1; // more shards than clips: one shard is empty
  const parts = Array.from({ length: n }, (_, k) => join(tmp, `toy-p${k}`));
  for (let k = n - 1; k >= 0; k--) await extractFeatures({ manifest, dir: parts[k], set, workers: 1, shardSize: 3, quiet: true, part: { index: k, count: n } });
  assert.ok(parts.some((p) => Object.keys(JSON.parse(readFileSync(join(p, 'toy', 'index.json'), 'utf8')).clips).length === 0 && JSON.parse(readFileSync(join(p, 'toy', 'index.json'), 'utf8')).shards.length === 0), 'an empty shard');
  const m = await mergeFeatureStores({ parts, out: join(tmp, 'toy-merged'), quiet: true });
  assert.equal(m.sets[0].quarantined, 2);
  sameBytes(one.dir, join(tmp, 'toy-merged', 'toy'));
  // the merge output may not be a store of another corpus
  await extractFeatures({ manifest: { ...manifest, corpus: 'other', clips: manifest.clips.map((c) => ({ ...c, corpus: 'other' })) }, dir: join(tmp, 'toy-other'), set, workers: 1, shardSize: 3, quiet: true });
  await assert.rejects(mergeFeatureStores({ parts, out: join(tmp, 'toy-other'), quiet: true }), /holds corpus "other".*not "toy"/);
});
