/**
 * Face tracks through sharded extraction: the shards of `features face --corpus X --shard i/n` merged are
 * byte-identical to one run, although each shard's landmarker session sees other clips before each clip
 * (MediaPipe tracks across frames: every clip must start from the same state). Here the parts run one
 * after the other in this process, so the per-thread session is reused with a different history.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCorpus } from '../../lib/data/corpora';
import { faceFeatureSet } from '../../lib/face/features';
import { dataRoot, modelsRoot } from '../../lib/paths';
import { extractFeatures } from '../../lib/store/featureStore';
import { mergeFeatureStores } from '../../lib/store/merge';

const tmp = mkdtempSync(join(tmpdir(), 'emolab-face-shards-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const samples = join(dataRoot(), 'grid', 'samples');
const ready = existsSync(samples) && existsSync(join(modelsRoot(), 'face_landmarker.task'));

test('face: 2 shards merged = one run, byte for byte (clips start from the same landmarker state)', { skip: !ready && 'needs grid/samples and the face landmarker model' }, async () => {
  const full = resolveCorpus(samples);
  const manifest = { ...full, clips: full.clips.slice(0, 5) };
  const set = () => faceFeatureSet({ fps: 5, numFaces: 1 });
  const single = await extractFeatures({ manifest, dir: join(tmp, 'single'), set: set(), workers: 1, shardSize: 2, quiet: true });
  assert.equal(single.index.quarantine.length, 0);
  // part 1 first: its first clip comes after other clips in this thread's session than in the single run
  for (const k of [1, 0]) await extractFeatures({ manifest, dir: join(tmp, `p${k}`), set: set(), workers: 1, shardSize: 2, quiet: true, part: { index: k, count: 2 } });
  await mergeFeatureStores({ parts: [join(tmp, 'p0'), join(tmp, 'p1')], out: join(tmp, 'merged'), quiet: true });
  const a = single.dir, b = join(tmp, 'merged', 'face');
  assert.deepEqual(readdirSync(b).sort(), readdirSync(a).sort());
  for (const f of readdirSync(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
});

test('features face --corpus: refused before any work for a corpus without videos, for --max-frames, and for a bad --shard', { skip: !existsSync(join(dataRoot(), 'emodb')) && 'needs EmoDB' }, async () => {
  const { runFeaturesFace } = await import('../../lib/face/cli');
  const out = join(tmp, 'refused');
  await assert.rejects(runFeaturesFace(['--corpus', 'emodb', '--out', out, '--quiet']), /corpus emodb has no video files/);
  await assert.rejects(runFeaturesFace(['--corpus', 'emodb', '--out', out, '--max-frames', '3']), /--max-frames is for single videos only/);
  await assert.rejects(runFeaturesFace(['--corpus', 'emodb', '--out', out, '--shard', '2/2']), /--shard 2\/2: the index must be 0\.\.1/);
  assert.equal(existsSync(out), false, 'nothing written');
});
