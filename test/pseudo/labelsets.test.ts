import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clip } from '../../lib/data/types';
import { buildEnergyLabelSet, buildActivationLabelSet, buildAuLabelSet, buildClusterLabelSet } from '../../lib/pseudo/build';
import { writeLabelSet, readLabelSet, clipTensors, balanceShares } from '../../lib/pseudo/labelsets';
import { EmolabError } from '../../lib/errors';

const clip = (id: string, speaker: string, emotion?: Clip['emotion']): Clip => ({ id, corpus: 'toy', speaker, emotion });
/** Energy curve of 4 x 10 frames whose segment std is s[i]. */
const curve = (s: number[]): Float32Array => Float32Array.from(s.flatMap((v) => Array.from({ length: 10 }, (_, i) => (i % 2 ? v : -v) - 30)));
const seg10 = { mode: 'fixed' as const, lengthFrames: 10, hopFrames: 10, minFrames: 5 };

test('energy label set: utterance vs speaker reference, balance, quarantine of too-short clips', () => {
  const items = [
    { clip: clip('a1', 'A'), energyDb: curve([0, 1, 2, 3]) },
    { clip: clip('a2', 'A'), energyDb: curve([4, 5, 6, 7]) },
    { clip: clip('short', 'A'), energyDb: new Float32Array(3) },
    { clip: clip('nan', 'A'), energyDb: Float32Array.from(curve([1, 2]), (v, i) => (i === 7 ? NaN : v)) },
  ];
  const utt = buildEnergyLabelSet(items, { segmentation: seg10 });
  assert.deepEqual(utt.summary.balance, { low: 4, high: 4, excluded: 0 });
  assert.equal(utt.summary.quarantine.length, 2);
  assert.match(utt.summary.quarantine[1].reason, /NaN at frame 7/);
  assert.equal(utt.summary.clips, 2);
  const spk = buildEnergyLabelSet(items, { segmentation: seg10, reference: 'speaker' });
  // speaker median of 0..7 is 3.5: a1 all low, a2 all high
  assert.deepEqual([...(spk.tensors['a1/labels'].data as Int8Array)], [0, 0, 0, 0]);
  assert.deepEqual([...(spk.tensors['a2/labels'].data as Int8Array)], [1, 1, 1, 1]);
  assert.deepEqual(spk.summary.extra.speakerMedians, { A: 3.5 });
  assert.deepEqual([...(spk.tensors['a2/segments'].data as Int32Array)].slice(0, 4), [0, 10, 10, 20]);
});

test('activation label set excludes faceless segments and counts them', () => {
  const act = Float32Array.from([...Array(10).fill(1), ...Array(10).fill(3), ...Array(10).fill(9)]);
  const face = Float32Array.from([...Array(10).fill(1), ...Array(10).fill(1), ...Array(10).fill(0)]);
  const s = buildActivationLabelSet([{ clip: clip('v', 'S'), activation: act, faceFound: face }], { segmentation: seg10 });
  assert.deepEqual(s.summary.balance, { low: 1, high: 1, excluded: 1 });
  assert.deepEqual(s.summary.extra.speakerMedians, { S: 2 });
});

test('AU label set, cluster label set, and the round trip through disk', () => {
  const n = 30;
  const happy = new Map([[6, new Float32Array(n).fill(1)], [12, new Float32Array(n).fill(1)], [1, new Float32Array(n)]]);
  const none = new Map([[6, new Float32Array(n)], [12, new Float32Array(n)], [1, new Float32Array(n)]]);
  const au = buildAuLabelSet([
    { clip: clip('h', 'S'), evidence: { frames: n, au: happy } },
    { clip: clip('n', 'S'), evidence: { frames: n, au: none } },
  ], { baseline: 'none' });
  assert.equal(au.summary.balance.happiness, 1);
  assert.equal(au.summary.balance.neutral, 1);
  assert.deepEqual(au.summary.perClip.map((c) => c.label), ['happiness', 'neutral']);

  const frames = (v: number, t: number): Float32Array => Float32Array.from({ length: t * 2 }, (_, i) => v + (i % 2) * 0.01);
  const cl = buildClusterLabelSet([
    { clip: clip('x', 'S', 'anger'), frames: frames(0, 5) },
    { clip: clip('y', 'S', 'sadness'), frames: frames(10, 7) },
    { clip: clip('z', 'S'), frames: Float32Array.of(1, Infinity) },
  ], 2, { k: 2, seed: 1 });
  assert.match(cl.summary.quarantine[0].reason, /non-finite value at frame 0/);
  assert.equal(cl.purity!.purity, 1);
  assert.equal(cl.summary.extra.frames, 12);
  assert.deepEqual(Object.values(cl.summary.balance).sort(), [5, 7]);

  const dir = mkdtempSync(join(tmpdir(), 'emolab-ls-'));
  try {
    const files = writeLabelSet(dir, au.summary, au.tensors);
    const first = readFileSync(files.tensors);
    writeLabelSet(dir, au.summary, au.tensors);
    assert.deepEqual(readFileSync(files.tensors), first); // deterministic bytes
    const back = readLabelSet(dir, 'au');
    assert.equal(back.summary.clips, 2);
    assert.deepEqual([...(clipTensors(back.tensors, 'h').label.data as Int32Array)], [5]);
    assert.deepEqual(balanceShares(back.summary.balance).happiness, 0.5);
    assert.throws(() => readLabelSet(dir, 'energy'), EmolabError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
