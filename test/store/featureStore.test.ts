import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audioFeatureSet } from '../../lib/audio/featureSet';
import { emodbManifest } from '../../lib/data/index';
import type { Clip, Manifest } from '../../lib/data/types';
import { EmolabError } from '../../lib/errors';
import { repoRoot } from '../../lib/paths';
import { extractFeatures, openFeatureStore, planShards, type FeatureSet } from '../../lib/store/featureStore';
import { readSafetensors } from '../../lib/store/safetensors';
import { datasetsDir, encodeWav, haveEmodb, tone } from '../audio/shared';

const emodb = (n: number): Manifest => {
  const m = emodbManifest(join(datasetsDir(), 'emodb'));
  return { ...m, clips: m.clips.slice(0, n) };
};
const tmp = (): string => mkdtempSync(join(tmpdir(), 'emolab-store-'));
const filesOf = (dir: string): string[] => readdirSync(dir).sort();

function sameBytes(a: string, b: string): void {
  assert.deepEqual(filesOf(a), filesOf(b));
  for (const f of filesOf(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
}

test('planShards keeps manifest order, fingerprints inputs and refuses duplicate ids', () => {
  const clips: Clip[] = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, corpus: 't', speaker: 's', audioPath: `/x/${id}.wav` }));
  const m: Manifest = { corpus: 't', root: '/x', clips, quarantine: [] };
  const set = { name: 'audio', version: '1', params: { a: 1 } };
  const jobs = planShards(m, set, '/s', 2);
  assert.deepEqual(jobs.map((j) => j.clips.map((c) => c.id)), [['a', 'b'], ['c', 'd'], ['e']]);
  assert.equal(jobs[2].file, '/s/shard-00002.safetensors');
  const other = planShards(m, { ...set, params: { a: 2 } }, '/s', 2);
  assert.notEqual(jobs[0].fingerprint, other[0].fingerprint, 'params change the fingerprint');
  assert.equal(jobs[0].fingerprint, planShards(m, set, '/s', 2)[0].fingerprint);
  assert.throws(() => planShards({ ...m, clips: [...clips, clips[0]] }, set, '/s', 2), /appears twice/);
});

test('store: bad clips are quarantined with file and reason, good ones stored and readable; a second feature set shares the store', { skip: !haveEmodb() }, async () => {
  const dir = tmp();
  try {
    const short = join(dir, 'short.wav');
    writeFileSync(short, encodeWav([tone([200], [0.3], 0.01)], 16000)); // 10 ms < one 25 ms window
    const junk = join(dir, 'junk.wav');
    writeFileSync(junk, 'RIFF nonsense');
    const good = emodb(3);
    const manifest: Manifest = {
      ...good,
      clips: [good.clips[0], { id: 'short', corpus: 'emodb', speaker: 'x', audioPath: short }, { id: 'junk', corpus: 'emodb', speaker: 'x', audioPath: junk },
        { id: 'novideo', corpus: 'emodb', speaker: 'x' }, good.clips[1], good.clips[2]],
    };
    const out = join(dir, 'store');
    const s = await extractFeatures({ manifest, dir: out, set: audioFeatureSet(), shardSize: 4, workers: 1, quiet: true });
    assert.equal(s.computedShards, 2);
    assert.deepEqual(s.index.quarantine.map((q) => q.clipId), ['short', 'junk', 'novideo']);
    assert.equal(s.index.quarantine[0].file, short);
    assert.match(s.index.quarantine[0].reason, /shorter than one 25 ms/);
    assert.equal(s.index.quarantine[1].file, junk);
    const store = openFeatureStore(out);
    assert.deepEqual(store.clips('audio'), good.clips.map((c) => c.id));
    const fb = store.get(good.clips[1].id, 'fbank');
    assert.equal(fb.dims, 80);
    assert.equal(fb.frames, Math.floor((Math.round(good.clips[1].durationS! * 16000) - 400) / 160) + 1);
    assert.equal(store.get(good.clips[1].id, 'f0').frames, fb.frames);
    assert.throws(() => store.get('short', 'fbank'), (e: unknown) => e instanceof EmolabError && /quarantined/.test(e.message));
    assert.throws(() => store.get(good.clips[0].id, 'nope'), /no feature "nope"/);
    // the shard is a normal safetensors file with <clipId>/<feature> tensors
    const { tensors } = readSafetensors(join(out, 'audio', 'shard-00001.safetensors'));
    assert.deepEqual(Object.keys(tensors).sort(), [good.clips[1].id, good.clips[2].id].flatMap((id) => ['energy_db', 'f0', 'fbank', 'periodicity'].map((f) => `${id}/${f}`)).sort());
    assert.deepEqual(Array.from(tensors[`${good.clips[1].id}/fbank`].data as Float32Array), Array.from(fb.data));

    const toy: FeatureSet = {
      name: 'toy', version: '1', params: {}, features: { clip_len: { dims: 1, description: 'test' } },
      async extract(clip) { return { clip_len: { data: Float32Array.of(clip.id.length), frames: 1, dims: 1 } }; },
    };
    await extractFeatures({ manifest: good, dir: out, set: toy, workers: 1, quiet: true });
    const both = openFeatureStore(out);
    assert.deepEqual(both.sets(), ['audio', 'toy']);
    assert.equal(both.get(good.clips[0].id, 'clip_len').data[0], good.clips[0].id.length);
    assert.equal(both.features().clip_len.set, 'toy');
    await assert.rejects(extractFeatures({ manifest: good, dir: join(dir, 'x'), set: toy, workers: 2, shardSize: 1, quiet: true }), /no `ref`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('store: 2 worker threads write byte-identical shards and index to the in-thread run', { skip: !haveEmodb() }, async () => {
  const dir = tmp();
  try {
    const m = emodb(8);
    const a = await extractFeatures({ manifest: m, dir: join(dir, 'a'), set: audioFeatureSet(), shardSize: 2, workers: 1, quiet: true });
    const b = await extractFeatures({ manifest: m, dir: join(dir, 'b'), set: audioFeatureSet(), shardSize: 2, workers: 2, quiet: true });
    assert.equal(b.workers, 2);
    sameBytes(a.dir, b.dir);
    const broken = { ...audioFeatureSet(), ref: { module: join(repoRoot, 'lib', 'audio', 'featureSet.ts'), exportName: 'nope' } };
    await assert.rejects(extractFeatures({ manifest: m, dir: join(dir, 'c'), set: broken, shardSize: 2, workers: 2, quiet: true }), /no function export "nope"/);
    const again = await extractFeatures({ manifest: m, dir: join(dir, 'b'), set: audioFeatureSet(), shardSize: 2, workers: 2, quiet: true });
    assert.equal(again.computedShards, 0);
    assert.equal(again.resumedShards, 4);
    sameBytes(a.dir, again.dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function runChild(args: string[], killAfterShards?: number): Promise<{ out: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'store', 'extractChild.ts'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterShards !== undefined && (out.match(/SHARD/g) ?? []).length >= killAfterShards) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolvePromise({ out, signal }) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

test('store: a run killed by SIGKILL resumes and ends byte-identical to an uninterrupted run', { skip: !haveEmodb() }, async () => {
  const dir = tmp();
  try {
    const m = emodb(16);
    const ref = await extractFeatures({ manifest: m, dir: join(dir, 'ref'), set: audioFeatureSet(), shardSize: 2, workers: 1, quiet: true });
    const store = join(dir, 'killed');
    const killed = await runChild([store, '16', '2', '1', '300'], 2);
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(!killed.out.includes('DONE'), 'the child was killed before finishing');
    assert.ok(!existsSync(join(store, 'audio', 'index.json')), 'no index before the run completes');
    const done = filesOf(join(store, 'audio')).filter((f) => f.endsWith('.safetensors')).length;
    assert.ok(done >= 2 && done < 8, `${done} shards on disk after the kill`);
    const resumed = await runChild([store, '16', '2', '1', '0']);
    const m2 = /DONE computed=(\d+) resumed=(\d+)/.exec(resumed.out);
    assert.ok(m2, resumed.out);
    assert.equal(Number(m2[2]), done, 'every shard written before the kill was kept');
    assert.equal(Number(m2[1]) + Number(m2[2]), 8);
    sameBytes(ref.dir, join(store, 'audio'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
